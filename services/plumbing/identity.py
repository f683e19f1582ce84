"""Caller identity: who is calling, signed so that a service can trust it.

The portal signs the identity of the person it acts for; a service calling another
signs its own. Every call carries one in the `x-sp4n-caller` metadata entry, and a
service refuses a call without a valid one (health and reflection excepted).
"""

import base64
import contextvars
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from services.plumbing.errors import PermissionDenied, Unauthenticated

METADATA_KEY = "x-sp4n-caller"

NATIONAL_ADMIN = "national_admin"
AGENCY_ADMIN = "agency_admin"
LIAISON_OFFICER = "liaison_officer"
PROCESS_ANALYST = "process_analyst"
REPORTER = "reporter"
SERVICE = "service"
ROLES = frozenset({NATIONAL_ADMIN, AGENCY_ADMIN, LIAISON_OFFICER, PROCESS_ANALYST, REPORTER, SERVICE})

DEFAULT_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class Caller:
    subject: str  # account id, service name, or for a reporter the tracking ID they proved access to
    role: str
    agency_id: str = ""
    expires_at: int = 0  # unix seconds

    def is_service(self, name: str | None = None) -> bool:
        return self.role == SERVICE and (name is None or self.subject == name)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(caller: Caller, key: str, *, now: datetime | None = None, lifetime: timedelta = DEFAULT_LIFETIME) -> str:
    """A token for `caller`, valid for `lifetime` from `now`."""
    if caller.role not in ROLES:
        raise ValueError(f"unknown role {caller.role!r}")
    now = now or datetime.now(timezone.utc)
    claims = asdict(caller) | {"expires_at": int((now + lifetime).timestamp())}
    body = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    mac = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(token: str, key: str, *, now: datetime | None = None) -> Caller:
    """The caller a token names; Unauthenticated if forged, malformed or expired."""
    try:
        body, mac = token.split(".")
        expected = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise Unauthenticated("caller identity has a bad signature")
        caller = Caller(**json.loads(_unb64(body)))
    except Unauthenticated:
        raise
    except (ValueError, TypeError):
        raise Unauthenticated("caller identity is malformed") from None
    if caller.role not in ROLES:
        raise Unauthenticated("caller identity has an unknown role")
    # Identities expire by wall time, not the controllable clock: they guard the wire.
    if caller.expires_at < (now or datetime.now(timezone.utc)).timestamp():
        raise Unauthenticated("caller identity has expired")
    return caller


_current: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("sp4n_caller", default=None)


def current() -> Caller:
    """The verified caller of the request being served."""
    caller = _current.get()
    if caller is None:
        raise Unauthenticated("no caller identity")
    return caller


def bind(caller: Caller | None) -> contextvars.Token:
    return _current.set(caller)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def require_role(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise PermissionDenied(f"role {caller.role} may not do this")


def require_service(caller: Caller, *names: str) -> None:
    """Only the named services may make this call."""
    if caller.role != SERVICE or caller.subject not in names:
        raise PermissionDenied(f"only {', '.join(names)} may make this call")


class ServiceSigner:
    """Signs this service's own identity for outgoing calls, renewing it before it expires."""

    def __init__(self, service: str, key: str):
        self.caller = Caller(subject=service, role=SERVICE)
        self.key = key
        self._token = ""
        self._renew_at = 0.0

    def token(self) -> str:
        now = datetime.now(timezone.utc)
        if now.timestamp() >= self._renew_at:
            self._token = sign(self.caller, self.key, now=now)
            self._renew_at = now.timestamp() + DEFAULT_LIFETIME.total_seconds() / 2
        return self._token
