"""Page tokens of the public feed: an opaque, signed keyset cursor.

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
from dataclasses import asdict
from datetime import datetime

from services.intake.publication import Cursor, FeedFilter
from services.plumbing.errors import InvalidArgument

VERSION = 1
_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _fingerprint(f: FeedFilter) -> str:
    """A digest of the filter, the same for the same filter however its request spelled it."""
    fields = asdict(f) | {"statuses": [s.value for s in f.statuses],
                          "submitted_after": f.submitted_after.isoformat() if f.submitted_after else None,
                          "submitted_before": f.submitted_before.isoformat() if f.submitted_before else None}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a time without its offset")
    return moment


def encode(cursor: Cursor, f: FeedFilter, key: bytes) -> str:
    as_of = [cursor.as_of[0].isoformat(), cursor.as_of[1]] if cursor.as_of else None
    body = _b64(json.dumps({"v": VERSION, "f": _fingerprint(f), "p": cursor.published_at.isoformat(),
                            "t": cursor.tracking_id, "r": cursor.rank, "a": as_of}, separators=(",", ":")).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def decode(token: str, f: FeedFilter, key: bytes) -> Cursor | None:
    """The cursor in `token` (None for no token, the first page); InvalidArgument on page_token when it
    was not made by `encode` with this key for this filter."""
    if not token:
        return None
    try:
        body, mac = token.split(".")
        if not hmac.compare_digest(_mac(key, body), _unb64(mac)):
            raise InvalidArgument("page_token", "is not a page token of this feed")
        data = json.loads(_unb64(body))
        if data["v"] != VERSION or data["f"] != _fingerprint(f):
            raise InvalidArgument("page_token", "belongs to another query; start again from the first page")
        rank, as_of = data["r"], data["a"]
        if (rank is None) != (not f.query) or not (rank is None or isinstance(rank, float)):
            raise ValueError("rank")
        if (as_of is None) != (not f.query):
            raise ValueError("as_of")
        cursor = Cursor(published_at=_time(data["p"]), tracking_id=str(data["t"]), rank=rank,
                        as_of=(_time(as_of[0]), str(as_of[1])) if as_of else None)
        return cursor
    except InvalidArgument:
        raise
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument("page_token", "is not a page token of this feed") from None
