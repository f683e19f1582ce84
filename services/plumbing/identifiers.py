"""Identifiers that cross service boundaries, checked the same way by every service."""

import re

from services.plumbing.errors import InvalidArgument
from services.plumbing.text import has_control_characters

MAX_IDEMPOTENCY_KEY = 200
# How every service accepts a reference to a report. intake, which issues tracking IDs, checks their
# exact form (LAP- and eight Crockford base32 characters) when it is the one asked.
TRACKING_ID = re.compile(r"[A-Z0-9][A-Z0-9-]{2,39}")


def check_idempotency_key(value: str) -> str:
    if not value or len(value) > MAX_IDEMPOTENCY_KEY:
        raise InvalidArgument("idempotency_key", f"is required, at most {MAX_IDEMPOTENCY_KEY} characters")
    if has_control_characters(value):  # PostgreSQL's text cannot even hold a NUL
        raise InvalidArgument("idempotency_key", "must not contain control characters")
    return value


def check_tracking_id(value: str, field: str = "tracking_id") -> str:
    if not TRACKING_ID.fullmatch(value or ""):
        raise InvalidArgument(field, "must be a tracking ID such as LAP-7K3QX9MA")
    return value
