"""The rules a submission must follow, whatever channel it came in by."""

import math
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from services.intake.attachments import check_attachments
from services.intake.domain import (MAX_AGENCY_ID, TITLE_LENGTH, Coordinates, ReporterContact, Submission,
                                    account_number, text)
from services.plumbing import categories
from services.plumbing.errors import InvalidArgument

CHANNELS = frozenset({"web", "sms", "x", "app", "open311", "agency"})
# Channels whose reporter is told of progress by SMS or e-mail, so must leave one of them; on X,
# Open311 and agencies' own systems the answer goes back through that channel.
CONTACT_REQUIRED = frozenset({"web", "sms", "app"})
LANGUAGES = frozenset({"id", "en"})
DEFAULT_LANGUAGE = "id"

DESCRIPTION_LENGTH = (10, 5000)
MAX_CATEGORY = 100
MAX_LOCATION = 300
MAX_NAME = 120
MAX_EMAIL = 254
MAX_CHANNEL_MESSAGE_ID = 200

REGION_CODE = re.compile(r"[0-9]{2}|[0-9]{4}")  # BPS: province (2 digits) or regency/city (4)
# An Indonesian mobile number: 08.., 628.. or +628.., 9 to 15 digits in all.
MOBILE_PHONE = re.compile(r"(?:\+62|62|0)(8[0-9]{7,12})")
PHONE_SEPARATORS = re.compile(r"[\s().-]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
AGENCY_ID = re.compile(r"[a-z0-9-]{1,100}")  # as the agency directory (routing) spells them
X_USER_ID = re.compile(r"[0-9]{1,20}")  # X ids are unsigned 64-bit numbers
X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")

# An incident happened on 1 January 2000 or later anywhere in Indonesia (the earliest time zone is
# WIT), and not in the future, give or take a day for a reporter's clock or time zone.
EARLIEST_INCIDENT = datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=9)))
INCIDENT_LEEWAY = timedelta(days=1)
# Indonesia's bounding box (WGS84 degrees), outer islands and waters included.
LATITUDE_RANGE = (-11.0, 6.0)
LONGITUDE_RANGE = (95.0, 141.1)


def mobile_number(value: str) -> str | None:
    """An Indonesian mobile number in E.164 digits without "+" (6281234567890); None when it is not one."""
    match = MOBILE_PHONE.fullmatch(PHONE_SEPARATORS.sub("", value))
    return "62" + match.group(1) if match else None


def check_phone(value: str, field_name: str = "reporter.phone") -> str:
    """An Indonesian mobile number as mobile_number keeps it, or "" when none is given."""
    value = text(value, field_name, max_length=30)
    if not value:
        return ""
    if (number := mobile_number(value)) is None:
        raise InvalidArgument(field_name, "must be an Indonesian mobile number such as 081234567890")
    return number


def check_email(value: str, field_name: str = "reporter.email") -> str:
    value = text(value, field_name, max_length=MAX_EMAIL)
    if value and not EMAIL.fullmatch(value):
        raise InvalidArgument(field_name, "must be an e-mail address such as nama@contoh.id")
    return value


def check_x_author(user_id: str, handle: str) -> tuple[str, str]:
    """An X author's numeric id and handle (given with or without its "@"), each optional."""
    user_id, handle = user_id.strip(), handle.strip().removeprefix("@")
    if user_id and not X_USER_ID.fullmatch(user_id):
        raise InvalidArgument("reporter.x_user_id", "must be the numeric id of an X account")
    if handle and not X_HANDLE.fullmatch(handle):
        raise InvalidArgument("reporter.x_handle", "must be an X handle: up to 15 letters, digits and underscores")
    return user_id, handle


def check_reporter(r: ReporterContact) -> ReporterContact:
    x_user_id, x_handle = check_x_author(r.x_user_id, r.x_handle)
    return ReporterContact(name=text(r.name, "reporter.name", max_length=MAX_NAME), phone=check_phone(r.phone),
                           email=check_email(r.email), x_user_id=x_user_id, x_handle=x_handle)


def check_account_id(value: str) -> str:
    value = value.strip()
    if value:
        account_number(value)
    return value


def check_incident_date(value: datetime | None, *, now: datetime) -> datetime | None:
    if value is not None and value < EARLIEST_INCIDENT:
        raise InvalidArgument("incident_date", "must not be before 1 January 2000")
    if value is not None and value > now + INCIDENT_LEEWAY:
        raise InvalidArgument("incident_date", "must not be in the future")
    return value


def check_coordinates(value: Coordinates | None) -> Coordinates | None:
    """A point within Indonesia; NaN and infinities are nowhere."""
    if value is None:
        return None
    for name, degrees, (low, high) in (("latitude", value.latitude, LATITUDE_RANGE),
                                       ("longitude", value.longitude, LONGITUDE_RANGE)):
        if not (math.isfinite(degrees) and low <= degrees <= high):
            raise InvalidArgument(name, f"must be between {low} and {high} degrees (within Indonesia)")
    return value


def check_agency_id(value: str, field_name: str) -> str:
    value = value.strip()
    if value and not AGENCY_ID.fullmatch(value):
        raise InvalidArgument(field_name, "must be an agency id: lowercase letters, digits and dashes, "
                                          f"at most {MAX_AGENCY_ID} characters")
    return value


def check_submission(s: Submission, *, now: datetime) -> Submission:
    """The submission with its text cleaned, or InvalidArgument naming the first field refused."""
    channel = s.channel.strip().lower()
    if channel not in CHANNELS:
        raise InvalidArgument("channel", f"must be one of {', '.join(sorted(CHANNELS))}")
    if s.type is None:
        raise InvalidArgument("type", "must be complaint, aspiration or information request")
    title = text(s.title, "title", min_length=TITLE_LENGTH[0], max_length=TITLE_LENGTH[1])
    description = text(s.description, "description", min_length=DESCRIPTION_LENGTH[0],
                       max_length=DESCRIPTION_LENGTH[1], multiline=True)
    # Empty for SMS, X and e-mail reports: the verifier chooses.
    category = categories.check(text(s.category, "category", max_length=MAX_CATEGORY), optional=True)
    region_code = text(s.region_code, "region_code", max_length=4)
    if region_code and not REGION_CODE.fullmatch(region_code):
        raise InvalidArgument("region_code", "must be a BPS province (2 digits) or regency/city (4 digits) code")
    location = text(s.location_text, "location_text", max_length=MAX_LOCATION)
    reporter = check_reporter(s.reporter)
    if channel in CONTACT_REQUIRED and not (reporter.phone or reporter.email):
        raise InvalidArgument("reporter", "a mobile number or an e-mail address is required")
    language = s.language.strip().lower() or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        raise InvalidArgument("language", "must be id or en")
    return replace(s, channel=channel, title=title, description=description, category=category,
                   region_code=region_code, location_text=location, reporter=reporter, language=language,
                   incident_date=check_incident_date(s.incident_date, now=now),
                   coordinates=check_coordinates(s.coordinates),
                   suggested_agency_id=check_agency_id(s.suggested_agency_id, "suggested_agency_id"),
                   channel_message_id=text(s.channel_message_id, "channel_message_id",
                                           max_length=MAX_CHANNEL_MESSAGE_ID),
                   account_id=check_account_id(s.account_id), attachments=check_attachments(s.attachments))

