"""Verification: the queue of reports awaiting an administrator's decision, and the rules
a decision must follow."""

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from services.plumbing.errors import InvalidArgument
from services.plumbing.identifiers import check_tracking_id

MAX_REASON = 2000

DECIDED_EVENT = "verification_decided"  # the message the lifecycle process waits for


class Outcome(enum.Enum):
    FORWARD = "forward"
    NEEDS_COMPLETION = "needs_completion"
    ARCHIVE = "archive"
    DUPLICATE = "duplicate"
    HOLD = "hold"


class QueueStatus(enum.Enum):
    PENDING = "pending"
    ON_HOLD = "on_hold"
    DECIDED = "decided"


@dataclass(frozen=True)
class QueueItem:
    tracking_id: str
    submitted_at: datetime
    due_at: datetime
    status: QueueStatus
    enqueued_at: datetime


@dataclass(frozen=True)
class DecisionRequest:
    tracking_id: str
    outcome: Outcome
    reason: str = ""
    category: str = ""
    agency_id: str = ""
    duplicate_of: str = ""


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

    def event_payload(self) -> dict:
        """What the lifecycle process receives: small, references only."""
        return {
            "decision_id": self.id,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "category": self.category,
            "agency_id": self.agency_id,
            "duplicate_of": self.duplicate_of,
            "decided_at": self.decided_at.isoformat(),
        }




def check_decision(request: DecisionRequest) -> DecisionRequest:
    """Refuses a decision that is incomplete for its outcome."""
    check_tracking_id(request.tracking_id)
    if len(request.reason) > MAX_REASON:
        raise InvalidArgument("reason", f"at most {MAX_REASON} characters")
    if request.outcome in (Outcome.ARCHIVE, Outcome.HOLD, Outcome.NEEDS_COMPLETION) and not request.reason.strip():
        raise InvalidArgument("reason", f"is required to {request.outcome.value.replace('_', ' ')}")
    if request.outcome is Outcome.DUPLICATE:
        check_tracking_id(request.duplicate_of, "duplicate_of")
        if request.duplicate_of == request.tracking_id:
            raise InvalidArgument("duplicate_of", "a report cannot duplicate itself")
    elif request.duplicate_of:
        raise InvalidArgument("duplicate_of", "only for a duplicate")
    if len(request.category) > 100 or len(request.agency_id) > 100:
        raise InvalidArgument("category" if len(request.category) > 100 else "agency_id", "at most 100 characters")
    return request


def status_after(outcome: Outcome) -> QueueStatus:
    """A held report stays in the queue; every other outcome takes it out."""
    return QueueStatus.ON_HOLD if outcome is Outcome.HOLD else QueueStatus.DECIDED
