"""Notifications: which lifecycle events are told to whom, over which channels, and the rules of
delivering them. Reporter contact is never kept here: it is asked from intake when it is needed."""

import enum
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.plumbing.errors import InvalidArgument, NotFound, Unavailable
from services.plumbing.identifiers import check_tracking_id

AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_PARAMS = 20
MAX_PARAM_VALUE = 500

EVENTS = ("received", "needs_completion", "forwarded", "follow_up_posted", "closed", "archived", "duplicate",
          "on_hold", "deadline_approaching", "deadline_missed", "new_assignment")
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"  # staff, and reporters who did not choose


class Recipient(enum.Enum):
    REPORTER = "reporter"
    AGENCY = "agency"
    NATIONAL_ADMINS = "national_admins"


class Channel(enum.Enum):
    IN_APP = "in_app"  # shown on the tracking page or the staff portal; delivered by being stored
    EMAIL = "email"


class Status(enum.Enum):
    PENDING = "pending"
    SENDING = "sending"  # handed to the SMTP server; the outcome is not recorded yet
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class NotificationRequest:
    tracking_id: str
    event: str
    recipient: str
    agency_id: str = ""
    params: dict[str, str] | None = None


@dataclass(frozen=True)
class Notification:
    id: str
    tracking_id: str
    event: str
    recipient: Recipient
    agency_id: str
    channel: Channel
    language: str
    subject: str
    body: str
    status: Status
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class ReporterContact:
    """What intake tells about a reporter, used at once and never stored."""
    email: str
    language: str


class Contacts(Protocol):
    def reporter(self, tracking_id: str) -> ReporterContact:
        """The reporter's contact now; ReportUnknown or ContactUnavailable when it cannot be had."""


class ReportUnknown(NotFound):
    """Intake does not know the report."""


class ContactUnavailable(Unavailable):
    """Intake could not be asked for the reporter's contact just now; asking again may work."""




def check_request(request: NotificationRequest) -> Recipient:
    """Refuses a notification that names an unknown event or recipient; returns the recipient."""
    check_tracking_id(request.tracking_id)
    if request.event not in EVENTS:
        raise InvalidArgument("event", f"must be one of {', '.join(EVENTS)}")
    try:
        recipient = Recipient(request.recipient)
    except ValueError:
        raise InvalidArgument("recipient", "must be reporter, agency or national_admins") from None
    # For an agency, the agency is the recipient; for anyone else it tells which agency the event is
    # about (the one a report was forwarded to, the one that missed a deadline). Either way it is part of
    # what makes two notifications different: a report re-routed to another agency is told again.
    if recipient is Recipient.AGENCY and not request.agency_id:
        raise InvalidArgument("agency_id", "is required for recipient agency")
    if request.agency_id and not AGENCY_ID.match(request.agency_id):
        raise InvalidArgument("agency_id", "must be an agency id such as kab-tanah-bumbu")
    params = request.params or {}
    if len(params) > MAX_PARAMS:
        raise InvalidArgument("params", f"at most {MAX_PARAMS}")
    for name, value in params.items():
        if not PARAM_NAME.match(name):
            raise InvalidArgument("params", f"{name[:40]!r} is not a name like duplicate_of")
        if len(value) > MAX_PARAM_VALUE:
            raise InvalidArgument("params", f"{name} is longer than {MAX_PARAM_VALUE} characters")
    return recipient


def params_digest(params: dict[str, str] | None) -> str:
    """What tells occurrences of one event apart: the verification deadline and the follow-up deadline
    are both deadline_missed, with different params. The same params again are the same message."""
    if not params:
        return ""
    canonical = json.dumps(params, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def language_of(value: str) -> str:
    """A language we have templates for; anything else gets the default."""
    value = (value or "").strip().lower()
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def channels_for(recipient: Recipient, contact: ReporterContact | None, email_enabled: bool) -> list[Channel]:
    """In-app always, first; e-mail too for a reporter with an address when e-mail is configured."""
    channels = [Channel.IN_APP]
    if recipient is Recipient.REPORTER and email_enabled and contact is not None and contact.email:
        channels.append(Channel.EMAIL)
    return channels


def backoff(attempts: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: doubling from `base_seconds`."""
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))
