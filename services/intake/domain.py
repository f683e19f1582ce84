"""Intake: reports as they come in from any channel, their reporters, their timeline, and the
rules a submission and each change of a report must follow."""

import enum
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime

from services.plumbing.errors import FailedPrecondition, InvalidArgument

CHANNELS = frozenset({"web", "sms", "x", "app", "open311", "agency"})
# Channels whose reporter is told of progress by SMS or e-mail, so must leave one of them; on X,
# Open311 and agencies' own systems the answer goes back through that channel.
CONTACT_REQUIRED = frozenset({"web", "sms", "app"})
LANGUAGES = frozenset({"id", "en"})
DEFAULT_LANGUAGE = "id"

# Crockford's base32: no I, L, O or U, so an ID read aloud or typed from paper survives.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_PREFIX = "LAP-"
TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")

TITLE_LENGTH = (5, 150)
DESCRIPTION_LENGTH = (10, 5000)
BODY_LENGTH = (1, 5000)
MAX_REASON = 2000
MAX_CATEGORY = 100
MAX_LOCATION = 300
MAX_NAME = 120
MAX_EMAIL = 254
MAX_AGENCY_ID = 100
MAX_AGENCY_NAME = 200

REGION_CODE = re.compile(r"[0-9]{2}|[0-9]{4}")  # BPS: province (2 digits) or regency/city (4)
# An Indonesian mobile number: 08.., 628.. or +628.., 9 to 15 digits in all.
MOBILE_PHONE = re.compile(r"(?:\+62|62|0)(8[0-9]{7,12})")
PHONE_SEPARATORS = re.compile(r"[\s().-]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

# Events the report's process waits for (names of sla messages).
FOLLOW_UP_POSTED = "follow_up_posted"
REPLY_POSTED = "reply_posted"
REPORT_COMPLETED = "report_completed"

REPORTER = "reporter"
ADMINISTRATOR = "administrator"
SYSTEM = "system"


class ReportType(enum.Enum):
    COMPLAINT = "complaint"  # pengaduan
    ASPIRATION = "aspiration"  # aspirasi
    INFORMATION_REQUEST = "information_request"  # permintaan informasi


class ReportStatus(enum.Enum):
    IN_VERIFICATION = "in_verification"
    NEEDS_COMPLETION = "needs_completion"
    ON_HOLD = "on_hold"
    FORWARDED = "forwarded"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    ARCHIVED = "archived"
    DUPLICATE = "duplicate"


# What the lifecycle process (sla) may set; FORWARDED and FOLLOWED_UP have their own calls.
SETTABLE_STATUSES = frozenset({ReportStatus.IN_VERIFICATION, ReportStatus.NEEDS_COMPLETION, ReportStatus.ON_HOLD,
                               ReportStatus.CLOSED, ReportStatus.ARCHIVED, ReportStatus.DUPLICATE})
FINAL_STATUSES = frozenset({ReportStatus.CLOSED, ReportStatus.ARCHIVED, ReportStatus.DUPLICATE})
AGENCY_ANSWERABLE = frozenset({ReportStatus.FORWARDED, ReportStatus.FOLLOWED_UP})


class EntryKind(enum.Enum):
    SUBMITTED = "submitted"
    STATUS = "status"
    FOLLOW_UP = "follow_up"
    REPLY = "reply"
    COMPLETION = "completion"


@dataclass(frozen=True)
class ReporterContact:
    name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Submission:
    channel: str
    type: ReportType | None
    title: str
    description: str
    category: str = ""
    region_code: str = ""
    location_text: str = ""
    anonymous: bool = False
    confidential: bool = False
    reporter: ReporterContact = ReporterContact()
    language: str = ""


@dataclass(frozen=True)
class Receipt:
    """What a reporter gets back at once: the tracking ID and when the report was received."""
    tracking_id: str
    submitted_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    id: str
    kind: EntryKind
    author: str
    body: str
    created_at: datetime
    status: ReportStatus | None = None
    agency_id: str = ""  # the agency that posted a follow-up


@dataclass(frozen=True)
class Report:
    tracking_id: str
    type: ReportType
    title: str
    description: str
    category: str
    region_code: str
    location_text: str
    anonymous: bool
    confidential: bool
    status: ReportStatus
    channel: str
    language: str
    submitted_at: datetime
    agency_id: str = ""
    agency_name: str = ""
    published: bool = False
    published_at: datetime | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    reporter_name: str = ""  # filled only for callers who may see it


@dataclass(frozen=True)
class Contact:
    """Where and how to reach a report's reporter (for notify only)."""
    tracking_id: str
    reporter: ReporterContact
    language: str
    channel: str


@dataclass(frozen=True)
class StatusChange:
    tracking_id: str
    status: ReportStatus | None  # None: not a status this system knows
    reason: str = ""


def new_tracking_id() -> str:
    return TRACKING_PREFIX + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


def check_tracking_id(value: str, field_name: str = "tracking_id") -> str:
    if not TRACKING_ID.fullmatch(value or ""):
        raise InvalidArgument(field_name, "must be a tracking ID such as LAP-7K3QX9MA")
    return value


def text(value: str, field_name: str, *, max_length: int, min_length: int = 0, multiline: bool = False) -> str:
    """A text field stripped and bounded, refused if it holds control characters (PostgreSQL
    cannot store NUL; the others have no place in a report)."""
    value = value.strip()
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise InvalidArgument(field_name, "must not contain control characters" +
                              ("" if multiline else " or line breaks"))
    if min_length and len(value) < min_length:
        raise InvalidArgument(field_name, "is required" if not value else f"at least {min_length} characters")
    if len(value) > max_length:
        raise InvalidArgument(field_name, f"at most {max_length} characters")
    return value


def check_body(value: str) -> str:
    return text(value, "body", min_length=BODY_LENGTH[0], max_length=BODY_LENGTH[1], multiline=True)


def check_phone(value: str) -> str:
    """An Indonesian mobile number, kept in international form (+628...)."""
    value = text(value, "reporter.phone", max_length=30)
    if not value:
        return ""
    match = MOBILE_PHONE.fullmatch(PHONE_SEPARATORS.sub("", value))
    if not match:
        raise InvalidArgument("reporter.phone", "must be an Indonesian mobile number such as 081234567890")
    return "+62" + match.group(1)


def check_email(value: str) -> str:
    value = text(value, "reporter.email", max_length=MAX_EMAIL)
    if value and not EMAIL.fullmatch(value):
        raise InvalidArgument("reporter.email", "must be an e-mail address such as nama@contoh.id")
    return value


def check_submission(s: Submission) -> Submission:
    """The submission with its text cleaned, or InvalidArgument naming the first field refused."""
    channel = s.channel.strip().lower()
    if channel not in CHANNELS:
        raise InvalidArgument("channel", f"must be one of {', '.join(sorted(CHANNELS))}")
    if s.type is None:
        raise InvalidArgument("type", "must be complaint, aspiration or information request")
    title = text(s.title, "title", min_length=TITLE_LENGTH[0], max_length=TITLE_LENGTH[1])
    description = text(s.description, "description", min_length=DESCRIPTION_LENGTH[0],
                       max_length=DESCRIPTION_LENGTH[1], multiline=True)
    category = text(s.category, "category", max_length=MAX_CATEGORY)
    region_code = text(s.region_code, "region_code", max_length=4)
    if region_code and not REGION_CODE.fullmatch(region_code):
        raise InvalidArgument("region_code", "must be a BPS province (2 digits) or regency/city (4 digits) code")
    location = text(s.location_text, "location_text", max_length=MAX_LOCATION)
    reporter = ReporterContact(name=text(s.reporter.name, "reporter.name", max_length=MAX_NAME),
                               phone=check_phone(s.reporter.phone), email=check_email(s.reporter.email))
    if channel in CONTACT_REQUIRED and not (reporter.phone or reporter.email):
        raise InvalidArgument("reporter", "a mobile number or an e-mail address is required")
    language = s.language.strip().lower() or DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        raise InvalidArgument("language", "must be id or en")
    return replace(s, channel=channel, title=title, description=description, category=category,
                   region_code=region_code, location_text=location, reporter=reporter, language=language)


def check_status_change(change: StatusChange) -> StatusChange:
    check_tracking_id(change.tracking_id)
    if change.status not in SETTABLE_STATUSES:
        raise InvalidArgument("status", "must be in verification, needs completion, on hold, closed, archived "
                                        "or duplicate")
    return replace(change, reason=text(change.reason, "reason", max_length=MAX_REASON, multiline=True))


def ensure_open(report: Report) -> None:
    """A closed, archived or duplicate report changes no more."""
    if report.status in FINAL_STATUSES:
        raise FailedPrecondition(f"report {report.tracking_id} is {report.status.value.replace('_', ' ')}")


def ensure_agency_may_answer(report: Report) -> None:
    if report.status not in AGENCY_ANSWERABLE:
        raise FailedPrecondition(f"report {report.tracking_id} is {report.status.value.replace('_', ' ')}, "
                                 "not waiting for the agency's follow-up")


def ensure_reply_allowed(report: Report) -> None:
    """A reply answers a follow-up; the agency must answer it before the next one."""
    if report.status is ReportStatus.CLOSED:
        raise FailedPrecondition("report is closed")
    if report.status is not ReportStatus.FOLLOWED_UP:
        raise FailedPrecondition(f"report {report.tracking_id} has no follow-up waiting for a reply")


def ensure_completion_allowed(report: Report) -> None:
    if report.status is not ReportStatus.NEEDS_COMPLETION:
        raise FailedPrecondition(f"report {report.tracking_id} was not sent back for completion")
