"""Intake: reports as they come in from any channel, their reporters, their timeline, and the
rules each change of a report must follow (a submission's own rules are in `submission`)."""

import enum
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from services.plumbing.errors import FailedPrecondition, InvalidArgument
from services.plumbing.text import has_control_characters

# Crockford's base32: no I, L, O or U, so an ID read aloud or typed from paper survives.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_PREFIX = "LAP-"
TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")
ACCOUNT_ID = re.compile(r"account:([1-9][0-9]{0,17})")  # a reporter account: "account:" and its number

BODY_LENGTH = (1, 5000)
TITLE_LENGTH = (5, 150)  # a report's title, as submitted or as an administrator edits it
MAX_REASON = 2000
MAX_AGENCY_ID = 100
MAX_AGENCY_NAME = 200

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
    phone: str = ""  # E.164 digits without "+", e.g. 6281234567890
    email: str = ""
    x_user_id: str = ""  # for reports that came from X: the author's numeric id and handle
    x_handle: str = ""


@dataclass(frozen=True)
class AttachmentFile:
    """A file sent with a report. Its content type is decided from its content when it is checked."""
    filename: str
    content: bytes
    content_type: str = ""


@dataclass(frozen=True)
class AttachmentInfo:
    id: str  # the attachment's number within its report: "1" to "5" its own, follow-ups' numbered on
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Attachment:
    info: AttachmentInfo
    content: bytes


@dataclass(frozen=True)
class Coordinates:
    latitude: float
    longitude: float


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
    incident_date: datetime | None = None
    coordinates: Coordinates | None = None
    suggested_agency_id: str = ""
    channel_message_id: str = ""  # the SMS or tweet it came in, to reply to
    account_id: str = ""  # the signed-in reporter's account, "account:<n>"
    attachments: tuple[AttachmentFile, ...] = ()


@dataclass(frozen=True)
class Receipt:
    """What a reporter gets back at once: the tracking ID, when the report was received, and the
    secret access code for following it (only in the answer to a submission: intake keeps its hash)."""
    tracking_id: str
    submitted_at: datetime
    access_code: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    id: str
    kind: EntryKind
    author: str
    body: str
    created_at: datetime
    status: ReportStatus | None = None
    agency_id: str = ""  # the agency that posted a follow-up
    attachments: tuple[AttachmentInfo, ...] = ()  # a follow-up's files


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
    incident_date: datetime | None = None
    coordinates: Coordinates | None = None
    suggested_agency_id: str = ""
    account_id: str = ""  # the reporter account it was submitted from, if any
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class Contact:
    """Where and how to reach a report's reporter (for notify only)."""
    tracking_id: str
    reporter: ReporterContact
    language: str
    channel: str
    channel_message_id: str = ""


@dataclass(frozen=True)
class StatusChange:
    tracking_id: str
    status: ReportStatus | None  # None: not a status this system knows
    reason: str = ""


@dataclass(frozen=True)
class VerifiedChanges:
    """What a verification decision changes in a report when it is forwarded: an edited title ("" keeps
    it), and privacy flags to set (False leaves a flag as it is: flags are never cleared)."""
    title: str = ""
    anonymous: bool = False
    confidential: bool = False


def random_code(length: int) -> str:
    """`length` random characters of TRACKING_ALPHABET (Crockford's base32), 5 bits each. One byte
    from the system's generator per character, its low 5 bits: 256 is a multiple of 32, so every
    character is as likely as any other."""
    return "".join(TRACKING_ALPHABET[b & 31] for b in secrets.token_bytes(length))


def new_tracking_id() -> str:
    return TRACKING_PREFIX + random_code(8)


def check_tracking_id(value: str, field_name: str = "tracking_id") -> str:
    if not TRACKING_ID.fullmatch(value or ""):
        raise InvalidArgument(field_name, "must be a tracking ID such as LAP-7K3QX9MA")
    return value


def account_id(number: int) -> str:
    return f"account:{number}"


def account_number(value: str, field_name: str = "account_id") -> int:
    """The number of the reporter account `value` names, InvalidArgument on `field_name` when it names none."""
    match = ACCOUNT_ID.fullmatch(value)
    if not match:
        raise InvalidArgument(field_name, "must be a reporter account id such as account:12")
    return int(match.group(1))


def text(value: str, field_name: str, *, max_length: int, min_length: int = 0, multiline: bool = False) -> str:
    """A text field stripped and bounded, refused if it holds control characters (PostgreSQL
    cannot store NUL; the others have no place in a report)."""
    value = value.strip()
    if has_control_characters(value, multiline=multiline):
        raise InvalidArgument(field_name, "must not contain control characters" +
                              ("" if multiline else " or line breaks"))
    if min_length and len(value) < min_length:
        raise InvalidArgument(field_name, "is required" if not value else f"at least {min_length} characters")
    if len(value) > max_length:
        raise InvalidArgument(field_name, f"at most {max_length} characters")
    return value


def check_body(value: str) -> str:
    return text(value, "body", min_length=BODY_LENGTH[0], max_length=BODY_LENGTH[1], multiline=True)


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


def check_verified_changes(changes: VerifiedChanges) -> VerifiedChanges:
    """An edited title follows a submission's rules for titles (empty: kept)."""
    title = text(changes.title, "title", max_length=TITLE_LENGTH[1])
    if title and len(title) < TITLE_LENGTH[0]:
        raise InvalidArgument("title", f"at least {TITLE_LENGTH[0]} characters")
    return replace(changes, title=title)


def applied(report: Report, changes: VerifiedChanges) -> Report:
    """The report with `changes`: a flag once set stays set, whoever set it."""
    return replace(report, title=changes.title or report.title, anonymous=report.anonymous or changes.anonymous,
                   confidential=report.confidential or changes.confidential)
