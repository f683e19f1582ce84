"""Page tokens of the public feed and of the report lists: an opaque, signed keyset cursor.

A token names where the previous page ended (its last report's order key), never an offset, so a page
costs the same however deep it is and reports published meanwhile shift nothing. It is bound to the
filter it was made for and signed, so a token that was altered, or is replayed with another filter, is
refused instead of quietly paging through something else.
"""

import base64
import binascii
import hashlib
import hmac
import json
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime

from services.intake.publication import Cursor, FeedFilter
from services.intake.report_lists import Position, ReportScope
from services.plumbing.errors import InvalidArgument

VERSION = 1
_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _digest(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


def _fingerprint(f: FeedFilter) -> str:
    """A digest of the filter, the same for the same filter however its request spelled it."""
    return _digest(asdict(f) | {"statuses": [s.value for s in f.statuses],
                                "submitted_after": f.submitted_after.isoformat() if f.submitted_after else None,
                                "submitted_before": f.submitted_before.isoformat() if f.submitted_before else None})


def _scope_fingerprint(scope: ReportScope) -> str:
    """A digest of a report list's scope (it names the list, so no feed filter has the same one)."""
    return _digest(asdict(scope) | {"list": "reports", "statuses": [s.value for s in scope.statuses]})


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a time without its offset")
    return moment


def _seal(fields: dict, fingerprint: str, key: bytes) -> str:
    body = _b64(json.dumps({"v": VERSION, "f": fingerprint} | fields, separators=(",", ":")).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def _opened(token: str, fingerprint: str, key: bytes) -> dict:
    """The fields `_seal` signed into `token` for `fingerprint` with `key`; InvalidArgument on page_token
    when it was signed with another key or for another filter (other malformations raise ValueError & co)."""
    body, mac = token.split(".")
    if not hmac.compare_digest(_mac(key, body), _unb64(mac)):
        raise InvalidArgument("page_token", "is not a page token of this list")
    data = json.loads(_unb64(body))
    if data["v"] != VERSION or data["f"] != fingerprint:
        raise InvalidArgument("page_token", "belongs to another query; start again from the first page")
    return data


@contextmanager
def _refusing_malformed():
    """A token that is signed but holds no cursor is refused like a forged one."""
    try:
        yield
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("page_token", "is not a page token of this list") from None


def encode(cursor: Cursor, f: FeedFilter, key: bytes) -> str:
    as_of = [cursor.as_of[0].isoformat(), cursor.as_of[1]] if cursor.as_of else None
    return _seal({"p": cursor.published_at.isoformat(), "t": cursor.tracking_id, "r": cursor.rank, "a": as_of},
                 _fingerprint(f), key)


def decode(token: str, f: FeedFilter, key: bytes) -> Cursor | None:
    """The cursor in `token` (None for no token, the first page); InvalidArgument on page_token when it
    was not made by `encode` with this key for this filter."""
    if not token:
        return None
    with _refusing_malformed():
        data = _opened(token, _fingerprint(f), key)
        rank, as_of = data["r"], data["a"]
        if (rank is None) != (not f.query) or not (rank is None or isinstance(rank, float)):
            raise ValueError("rank")
        if (as_of is None) != (not f.query):
            raise ValueError("as_of")
        return Cursor(published_at=_time(data["p"]), tracking_id=str(data["t"]), rank=rank,
                      as_of=(_time(as_of[0]), str(as_of[1])) if as_of else None)


def encode_position(position: Position, scope: ReportScope, key: bytes) -> str:
    return _seal({"s": position.submitted_at.isoformat(), "t": position.tracking_id}, _scope_fingerprint(scope), key)


def decode_position(token: str, scope: ReportScope, key: bytes) -> Position | None:
    """The position in `token` (None for no token, the first page); InvalidArgument on page_token when it
    was not made by `encode_position` with this key for this scope."""
    if not token:
        return None
    with _refusing_malformed():
        data = _opened(token, _scope_fingerprint(scope), key)
        return Position(submitted_at=_time(data["s"]), tracking_id=str(data["t"]))
