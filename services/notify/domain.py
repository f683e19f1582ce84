"""Notifications: which lifecycle events are told to whom, over which channels, and the rules of
delivering them. Reporter contact is never kept here: it is asked from intake when it is needed."""

import enum
import hashlib
import json
import random
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
          "on_hold", "deadline_approaching", "deadline_missed", "new_assignment", "escalation")
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"  # staff, and reporters who did not choose


class Recipient(enum.Enum):
    REPORTER = "reporter"
    AGENCY = "agency"
    NATIONAL_ADMINS = "national_admins"


class Channel(enum.Enum):
    IN_APP = "in_app"  # shown on the tracking page or the staff portal; delivered by being stored
    EMAIL = "email"
    SMS = "sms"  # to a reporter who reported by SMS, through the SMS gateway
    X = "x"  # a reply to the tweet a report came in by


# The events a reporter is told of. SMS and X, where every character counts, have a short text for
# these only (templates/sms/, templates/x/); other events reach a reporter in-app and by e-mail.
REPORTER_EVENTS = ("received", "needs_completion", "forwarded", "follow_up_posted", "closed", "archived",
                   "duplicate", "on_hold")


class Status(enum.Enum):
    PENDING = "pending"  # in the outbox: the next attempt is due at next_attempt_at
    SENDING = "sending"  # being handed to the mail server or gateway; the outcome is not recorded yet
    SENT = "sent"
    FAILED = "failed"  # the dead letter: given up on; listed for staff, who may send it again


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
    next_attempt_at: datetime | None = None
    resends: int = 0
    resent_by: str = ""
    resent_at: datetime | None = None


@dataclass(frozen=True)
class ReporterContact:
    """What intake tells about a reporter, used at once and never stored."""
    email: str
    language: str
    phone: str = ""
    channel: str = ""  # the channel the report came in by: web, sms, x, ...
    x_handle: str = ""
    channel_message_id: str = ""  # the SMS or tweet the report came in, to reply to


@dataclass(frozen=True)
class StaffContact:
    """Where staff notifications go by e-mail: the addresses of the liaison officers the agency directory
    (routing) lists for the agency, asked each time and never stored. National administrators are
    reached through the national desk's entry."""
    emails: tuple[str, ...] = ()


NATIONAL_DESK = "nasional"  # the directory's id of the national administrators' desk


class Contacts(Protocol):
    def reporter(self, tracking_id: str) -> ReporterContact:
        """The reporter's contact now; ReportUnknown or ContactUnavailable when it cannot be had."""

    def reporters(self, tracking_ids: list[str]) -> dict[str, "ReporterContact"]:
        """The contacts now of the reporters of several reports, by tracking ID (none for a report intake
        does not know); ContactUnavailable when they cannot be had."""

    def staff(self, recipient: "Recipient", agency_id: str) -> StaffContact:
        """Where staff notifications to `recipient` (of `agency_id`) go now; ContactUnavailable when the
        directory cannot be asked."""

    def assigned_agency(self, tracking_id: str) -> str:
        """The agency the report is assigned to now (empty: none); ReportUnknown or ContactUnavailable
        when intake cannot say."""


class ReportUnknown(NotFound):
    """Intake does not know the report."""


class ContactUnavailable(Unavailable):
    """Intake could not be asked for the reporter's contact just now; asking again may work."""




def check_request(request: NotificationRequest) -> Recipient:
    """Refuses a notification that names an unknown event or recipient; returns the recipient."""
    check_tracking_id(request.tracking_id)
    check_event(request.event)
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
    check_params(request.params or {})
    return recipient


def check_params(params: dict[str, str]) -> dict[str, str]:
    if len(params) > MAX_PARAMS:
        raise InvalidArgument("params", f"at most {MAX_PARAMS}")
    for name, value in params.items():
        if not PARAM_NAME.match(name):
            raise InvalidArgument("params", f"{name[:40]!r} is not a name like duplicate_of")
        if len(value) > MAX_PARAM_VALUE:
            raise InvalidArgument("params", f"{name} is longer than {MAX_PARAM_VALUE} characters")
    return params


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


def channels_for(recipient: Recipient, event: str, contact: ReporterContact | StaffContact | None,
                 configured: frozenset[Channel]) -> list[Channel]:
    """In-app always, first. A reporter also gets, each when it is configured: e-mail when they left an
    address, and an answer on the channel the report came in by: an SMS to the number it came from, a
    reply to the tweet. Staff also get e-mail when their agency's liaison officers have addresses
    (or, `contact` None, when the directory could not say: the delivery asks again)."""
    channels = [Channel.IN_APP]
    if recipient is not Recipient.REPORTER:
        wanted = contact is None or bool(contact.emails)
        return channels + ([Channel.EMAIL] if wanted and Channel.EMAIL in configured else [])
    if contact is None:
        return channels
    short = event in REPORTER_EVENTS
    wanted = {Channel.EMAIL: bool(contact.email),
              Channel.SMS: short and contact.channel == "sms" and bool(contact.phone),
              Channel.X: short and contact.channel == "x" and bool(contact.channel_message_id)}
    return channels + [channel for channel, yes in wanted.items() if yes and channel in configured]


def backoff(attempts: int, *, base_seconds: float, max_seconds: float, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: doubling from `base_seconds` up to
    `max_seconds`, with "equal jitter": a random point in the upper half of that wait. After an outage
    the notifications that failed together come back spread over time, not all in the same second,
    while each still waits at least half its turn."""
    ceiling = min(max_seconds, base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=ceiling / 2 + (rng or random).uniform(0, ceiling / 2))


DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def page_limit(page_size: int) -> int:
    if page_size < 0:
        raise InvalidArgument("page_size", f"0 (the default, {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}")
    return min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_token(last: Notification) -> str:
    """The token of the page after `last`, in an id-descending list: lists page by id, so that what is
    added while someone reads (a newer notification) never shifts the pages after."""
    return f"n{last.id}"


def before_id(token: str) -> int | None:
    """The id a page token names (the next page holds older ones); None for the first page."""
    if not token:
        return None
    if not (token.startswith("n") and token[1:].isdigit() and 0 < len(token) <= 20):
        raise InvalidArgument("page_token", "must be the next_page_token of a page before")
    return int(token[1:])


def check_channel(value: str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        raise InvalidArgument("channel", f"must be one of {', '.join(c.value for c in Channel)}") from None


def check_language(value: str) -> str:
    if value not in LANGUAGES:
        raise InvalidArgument("language", f"must be one of {', '.join(LANGUAGES)}")
    return value


def check_event(value: str) -> str:
    if value not in EVENTS:
        raise InvalidArgument("event", f"must be one of {', '.join(EVENTS)}")
    return value


# How long a short text may be. SMS: at most three concatenated segments, 459 GSM-7 septets (a
# character of the extension table takes two), or 201 characters when a character outside GSM-7 makes
# the gateway send UCS-2. X: 280 characters as X counts them (most scripts 1, others such as CJK and
# emoji 2; a link is counted as written, more than the 23 X counts for it), less the room kept for
# the "@handle " that starts a reply, added only when it is sent.
SMS_SEPTETS = 3 * 153
SMS_UCS2 = 3 * 67
X_CHARACTERS = 280
X_MENTION_ROOM = len("@") + 15 + len(" ")  # handles have at most 15 characters
_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
            "abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXTENSION = set("^{}\\[~]|€\f")
_X_SINGLE = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # code points X counts once


def gsm7(text: str) -> bool:
    """Whether GSM-7 can carry the text, so that the gateway need not send it as UCS-2."""
    return all(c in _GSM7 or c in _GSM7_EXTENSION for c in text)


def sms_room(text: str) -> int:
    """How much more an SMS could take (negative: how much too long), in septets or UCS-2 characters."""
    if gsm7(text):
        return SMS_SEPTETS - sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
    return SMS_UCS2 - len(text.encode("utf-16-le")) // 2


def x_room(text: str) -> int:
    """How much more a reply on X could take before its mention (negative: how much too long)."""
    weight = sum(1 if any(low <= ord(c) <= high for low, high in _X_SINGLE) else 2 for c in text)
    return X_CHARACTERS - X_MENTION_ROOM - weight
