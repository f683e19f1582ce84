"""Verification: the queue of reports awaiting an administrator's decision, and the rules
a decision must follow."""

import base64
import binascii
import enum
from dataclasses import dataclass, replace
from datetime import datetime

from services.plumbing import categories
from services.plumbing.errors import FailedPrecondition, InvalidArgument
from services.plumbing.identifiers import check_tracking_id
from services.plumbing.text import has_control_characters

# A reason reaches the reporter in notifications, whose params notify bounds at 500 characters: the
# text and the longest archive reason's label with its ": " must fit.
MAX_REASON = 450
MAX_CATEGORY = 100
MAX_AGENCY_ID = 100
# The bounds intake holds a report's title to (intake's submission.TITLE_LENGTH; a test keeps them equal):
# an edit intake would refuse must be refused here, or the forwarding step would fail for good.
TITLE_LENGTH = (5, 150)

DECIDED_EVENT = "verification_decided"  # the message the lifecycle process waits for


class Outcome(enum.Enum):
    FORWARD = "forward"
    NEEDS_COMPLETION = "needs_completion"
    ARCHIVE = "archive"
    DUPLICATE = "duplicate"
    HOLD = "hold"


class ArchiveReason(enum.Enum):
    FORMAT_ERROR = "format_error"
    TOO_GENERAL = "too_general"
    NOT_PUBLIC_SERVICE = "not_public_service"
    HANDLED_ELSEWHERE = "handled_elsewhere"
    ABUSIVE = "abusive"
    OTHER = "other"


@dataclass(frozen=True)
class ArchiveReasonLabel:
    reason: ArchiveReason
    label_id: str  # Indonesian: what the reporter is told
    label_en: str
    requires_text: bool = False


ARCHIVE_REASONS = (
    ArchiveReasonLabel(ArchiveReason.FORMAT_ERROR, "Format tidak sesuai", "Format error"),
    ArchiveReasonLabel(ArchiveReason.TOO_GENERAL, "Terlalu umum", "Too general"),
    ArchiveReasonLabel(ArchiveReason.NOT_PUBLIC_SERVICE, "Bukan kewenangan pelayanan publik",
                       "Not a public-service matter"),
    ArchiveReasonLabel(ArchiveReason.HANDLED_ELSEWHERE, "Sudah ditangani di tempat lain", "Already handled elsewhere"),
    ArchiveReasonLabel(ArchiveReason.ABUSIVE, "Spam atau berisi kata-kata kasar", "Spam or abusive"),
    ArchiveReasonLabel(ArchiveReason.OTHER, "Lainnya", "Other", requires_text=True),
)
_LABELS = {label.reason: label for label in ARCHIVE_REASONS}


class QueueStatus(enum.Enum):
    PENDING = "pending"
    ON_HOLD = "on_hold"
    DECIDED = "decided"


@dataclass(frozen=True)
class DecisionRequest:
    tracking_id: str
    outcome: Outcome | None  # None: not an outcome this system knows
    reason: str = ""
    category: str = ""
    agency_id: str = ""
    duplicate_of: str = ""
    archive_reason: ArchiveReason | None = None
    title: str = ""  # forward: the edited title, "" keeps the report's
    anonymous: bool | None = None  # forward: True sets the flag; None keeps it; False (clearing) is refused
    confidential: bool | None = None


@dataclass(frozen=True)
class Decision:
    id: str
    tracking_id: str
    outcome: Outcome
    reason: str
    category: str
    agency_id: str
    duplicate_of: str
    decided_by: str
    decided_at: datetime
    archive_reason: ArchiveReason | None = None
    title: str = ""
    anonymous: bool = False  # this decision sets the flag
    confidential: bool = False

    def reporter_reason(self) -> str:
        """The reason as the reporter reads it: for an archive, the reason's label and any text."""
        if self.archive_reason is None:
            return self.reason
        label = _LABELS[self.archive_reason].label_id
        return f"{label}: {self.reason}" if self.reason else label

    def event_payload(self) -> dict:
        """What the lifecycle process receives: small, references only."""
        return {
            "decision_id": self.id,
            "outcome": self.outcome.value,
            "reason": self.reporter_reason(),
            "reason_code": self.archive_reason.value if self.archive_reason else "",
            "category": self.category,
            "agency_id": self.agency_id,
            "duplicate_of": self.duplicate_of,
            "title": self.title,
            "anonymous": self.anonymous,
            "confidential": self.confidential,
            "decided_at": self.decided_at.isoformat(),
        }

    def what_became(self) -> str:
        """What this decision did to the report, for telling why another decision cannot be taken."""
        return {
            Outcome.FORWARD: "it was forwarded",
            Outcome.NEEDS_COMPLETION: "it was sent back to the reporter for completion",
            Outcome.ARCHIVE: "it was archived",
            Outcome.DUPLICATE: f"it was marked a duplicate of {self.duplicate_of}",
            Outcome.HOLD: "it is on hold",
        }[self.outcome] + f" on {self.decided_at:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class QueueItem:
    tracking_id: str
    submitted_at: datetime
    due_at: datetime
    status: QueueStatus
    enqueued_at: datetime
    last_decision: Decision | None = None


@dataclass(frozen=True)
class QueueItemDetail:
    item: QueueItem
    decisions: tuple[Decision, ...]  # oldest first
    duplicates: tuple[str, ...]  # reports marked duplicates of this one


_ONLY_FOR = {  # fields a decision takes only with one outcome
    "category": Outcome.FORWARD, "agency_id": Outcome.FORWARD, "title": Outcome.FORWARD,
    "anonymous": Outcome.FORWARD, "confidential": Outcome.FORWARD,
    "duplicate_of": Outcome.DUPLICATE, "archive_reason": Outcome.ARCHIVE,
}
_REQUIRED_REASON = {
    Outcome.HOLD: "is required to hold a report: say what it waits for",
    Outcome.NEEDS_COMPLETION: "is required: the message telling the reporter what to complete",
}


def _clean(value: str, field: str, *, max_length: int, multiline: bool = False) -> str:
    """Stripped and bounded, without control characters (line breaks only where `multiline`)."""
    value = value.strip()
    if has_control_characters(value, multiline=multiline):
        raise InvalidArgument(field, "must not contain control characters" + ("" if multiline else " or line breaks"))
    if len(value) > max_length:
        raise InvalidArgument(field, f"at most {max_length} characters")
    return value


def check_decision(request: DecisionRequest) -> DecisionRequest:
    """Refuses a decision that is incomplete or inconsistent for its outcome; returns it cleaned."""
    if request.outcome is None:
        raise InvalidArgument("outcome", "must be forward, needs completion, archive, duplicate or hold")
    check_tracking_id(request.tracking_id)
    request = replace(request, reason=_clean(request.reason, "reason", max_length=MAX_REASON, multiline=True),
                      category=categories.check(_clean(request.category, "category", max_length=MAX_CATEGORY),
                                                          optional=True),  # empty: the report keeps its own
                      agency_id=_clean(request.agency_id, "agency_id", max_length=MAX_AGENCY_ID),
                      duplicate_of=request.duplicate_of.strip(),
                      title=_clean(request.title, "title", max_length=TITLE_LENGTH[1]))
    for field, outcome in _ONLY_FOR.items():
        if request.outcome is not outcome and getattr(request, field) not in ("", None):
            raise InvalidArgument(field, f"only for a {outcome.value.replace('_', ' ')} decision")
    if request.outcome in _REQUIRED_REASON and not request.reason:
        raise InvalidArgument("reason", _REQUIRED_REASON[request.outcome])
    if request.outcome is Outcome.ARCHIVE:
        if request.archive_reason is None:
            raise InvalidArgument("archive_reason", "is required to archive: choose one of "
                                  + ", ".join(r.reason.value for r in ARCHIVE_REASONS))
        if _LABELS[request.archive_reason].requires_text and not request.reason:
            raise InvalidArgument("reason", "is required with archive reason other: say why")
    if request.outcome is Outcome.DUPLICATE:
        check_tracking_id(request.duplicate_of, "duplicate_of")
        if request.duplicate_of == request.tracking_id:
            raise InvalidArgument("duplicate_of", "a report cannot be a duplicate of itself")
    if request.title and len(request.title) < TITLE_LENGTH[0]:
        raise InvalidArgument("title", f"at least {TITLE_LENGTH[0]} characters (leave it empty to keep the title)")
    for flag in ("anonymous", "confidential"):
        if getattr(request, flag) is False:
            raise InvalidArgument(flag, "a privacy flag can be set, never cleared: leave it out to keep the "
                                        "report's own setting")
    return request


def check_original(duplicate_of: str, original: QueueItem | None, its_decision: Decision | None) -> None:
    """The report a duplicate points at must be known here and not itself a duplicate: links stay one
    step from the original."""
    if original is None:
        raise InvalidArgument("duplicate_of", f"{duplicate_of} is not a report known to verification")
    if its_decision is not None and its_decision.outcome is Outcome.DUPLICATE:
        raise InvalidArgument("duplicate_of", f"{duplicate_of} is itself a duplicate of "
                                              f"{its_decision.duplicate_of}: mark it a duplicate of "
                                              f"{its_decision.duplicate_of} instead")


def queue_page_token(last: QueueItem) -> str:
    """The token of the queue page that follows `last`: its place in the queue's order (due_at, tracking
    id), so that the next page starts after it whatever was decided in between."""
    return base64.urlsafe_b64encode(f"{last.due_at.isoformat()}|{last.tracking_id}".encode()).decode()


def queue_position(token: str) -> tuple[datetime, str]:
    """The (due_at, tracking_id) a page token names; InvalidArgument for anything that is not a token."""
    try:
        due_at, tracking_id = base64.urlsafe_b64decode(token.encode("ascii")).decode().split("|")
        position = datetime.fromisoformat(due_at), check_tracking_id(tracking_id)
    except (ValueError, UnicodeError, binascii.Error, InvalidArgument):
        raise InvalidArgument("page_token", "must be the next_page_token of a page before") from None
    if position[0].tzinfo is None:
        raise InvalidArgument("page_token", "must be the next_page_token of a page before")
    return position


def ensure_waiting(item: QueueItem, last: Decision | None) -> None:
    """Only a pending or held report takes a decision."""
    if item.status is QueueStatus.DECIDED:
        became = last.what_became() if last else "it was decided"
        raise FailedPrecondition(f"report {item.tracking_id} is no longer waiting for a decision: {became}")


def status_after(outcome: Outcome) -> QueueStatus:
    """A held report stays in the queue; every other outcome takes it out."""
    return QueueStatus.ON_HOLD if outcome is Outcome.HOLD else QueueStatus.DECIDED
