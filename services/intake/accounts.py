"""Reporter accounts: optional, for following one's reports in one place. Types and rules only.

Passwords are kept as scrypt hashes with their salt and cost parameters, so that the cost can be raised
for new hashes while the old ones still verify. Failed sign-ins are counted: the fifth within 15 minutes
locks the account for 15 minutes, whatever password comes next.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.intake.domain import text
from services.intake.submission import MAX_NAME, check_email, check_phone
from services.plumbing.errors import InvalidArgument

PASSWORD_LENGTH = (10, 200)

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)

# scrypt's cost: 16 MiB and some 35 ms a hash on the machines of DESIGN.md.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ReporterAccount:
    id: str  # "account:<n>", the subject of the reporter identity that acts for it
    email: str
    name: str
    phone: str
    created_at: datetime


@dataclass(frozen=True)
class SignInState:
    """An account's recent failed sign-ins."""
    failures: int = 0
    failing_since: datetime | None = None  # the first failure of those counted
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Credentials:
    """What signing in to an account checks."""
    account: ReporterAccount
    password_hash: str
    sign_in: SignInState


def check_password(value: str) -> str:
    low, high = PASSWORD_LENGTH
    if not low <= len(value) <= high:
        raise InvalidArgument("password", f"must be {low} to {high} characters")
    return value


def check_new_account(account: NewAccount) -> NewAccount:
    email = check_email(account.email, "email")
    if not email:
        raise InvalidArgument("email", "is required")
    return replace(account, email=email, password=check_password(account.password),
                   name=text(account.name, "name", max_length=MAX_NAME), phone=check_phone(account.phone, "phone"))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL refuses to use more than `maxmem`: exactly what these parameters need.
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * r * (n + p + 2), dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    """The password's hash with its parameters: scrypt$N$r$p$salt$key (base64)."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), base64.b64encode(salt).decode(),
                     base64.b64encode(key).decode()])


def password_matches(password: str, stored: str) -> bool:
    """Whether `password` hashes, with the salt and parameters in `stored`, to the key there. One longer
    than any password can be is refused before hashing: a sign-in cannot make intake hash megabytes."""
    _, n, r, p, salt, key = stored.split("$")
    if len(password) > PASSWORD_LENGTH[1]:
        return False
    return hmac.compare_digest(_scrypt(password, base64.b64decode(salt), int(n), int(r), int(p)),
                               base64.b64decode(key))


# Hashed against when no account has the e-mail address, so that a sign-in takes as long either way.
DECOY_HASH = hash_password(secrets.token_urlsafe(16))


def is_locked(state: SignInState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: SignInState, now: datetime) -> SignInState:
    """The state after one more failed sign-in: counted from the first failure within the window, and
    the one that makes MAX_FAILURES locks the account (a fresh count starts when the lock ends)."""
    if state.failing_since is None or now - state.failing_since >= FAILURE_WINDOW:
        state = SignInState(failing_since=now)
    if state.failures + 1 >= MAX_FAILURES:
        return SignInState(locked_until=now + LOCK_TIME)
    return replace(state, failures=state.failures + 1)
