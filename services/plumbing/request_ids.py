"""Request ids: one id for everything a request causes, in every service's logs.

The portal makes one per HTTP request (or keeps a valid `X-Request-Id` from the proxy in front of it);
channels send it as `x-request-id` metadata on every call; the gRPC server binds what it receives for
the handling of the call, so that calls made from there carry it on. Background workers make one per
item they handle (an outbox event, a notification delivery, a due timer). The JSON log formatter adds
the bound id to every record.

Only ids of a fixed shape (hex digits and hyphens, as a UUID) are taken from outside: a header or
metadata value is never copied into the logs as it came, so a caller cannot smuggle a secret or a
reporter's contact details into them through it.
"""

import contextlib
import contextvars
import re
import uuid
from collections.abc import Iterator

METADATA_KEY = "x-request-id"
HTTP_HEADER = "X-Request-Id"

_VALID = re.compile(r"[0-9a-fA-F-]{16,64}")
_bound: contextvars.ContextVar[str | None] = contextvars.ContextVar("sp4n_request_id", default=None)


def new() -> str:
    return uuid.uuid4().hex


def valid(value: str | None) -> bool:
    return bool(value) and _VALID.fullmatch(value) is not None


def current() -> str | None:
    """The id bound to what this thread is doing now, or None outside any request."""
    return _bound.get()


def bind(request_id: str) -> contextvars.Token:
    return _bound.set(request_id)


def unbind(token: contextvars.Token) -> None:
    _bound.reset(token)


def taken_or_new(value: str | None) -> str:
    """`value` when it has the shape of a request id, else a new one."""
    return value if valid(value) else new()


@contextlib.contextmanager
def bound(request_id: str | None = None) -> Iterator[str]:
    """Binds `request_id` (default: a new one) for the `with` block: one item of background work."""
    request_id = request_id or new()
    token = bind(request_id)
    try:
        yield request_id
    finally:
        unbind(token)
