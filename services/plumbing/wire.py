"""Conversions between protobuf well-known types and Python values at the gRPC edge."""

from datetime import datetime, timezone

from google.protobuf import timestamp_pb2

from services.plumbing.errors import InvalidArgument


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp for an aware datetime; None stays None (the field is left unset)."""
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(timezone.utc))
    return ts


def required_time(message, field: str) -> datetime:
    """The datetime in `message.<field>`; INVALID_ARGUMENT when unset or out of range."""
    if not message.HasField(field):
        raise InvalidArgument(field, "is required")
    return _time(message, field)


def optional_time(message, field: str) -> datetime | None:
    """The datetime in `message.<field>`, None when unset; INVALID_ARGUMENT when out of range."""
    return _time(message, field) if message.HasField(field) else None


def _time(message, field: str) -> datetime:
    # A Timestamp holds any int64 seconds and int32 nanos; a datetime only years 1 to 9999.
    try:
        return getattr(message, field).ToDatetime(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        raise InvalidArgument(field, "is not a valid time") from None


def text(value: str, field: str, *, required: bool = False, max_length: int = 200) -> str:
    """A string field checked for presence and length; surrounding whitespace removed."""
    value = value.strip()
    if required and not value:
        raise InvalidArgument(field, "is required")
    if len(value) > max_length:
        raise InvalidArgument(field, f"at most {max_length} characters")
    return value
