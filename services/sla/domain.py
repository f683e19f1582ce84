"""The sla domain: cases (a report's process instance), their deadlines and the events they take."""

from dataclasses import dataclass, field
from datetime import datetime

# The messages a lifecycle model may wait for, and so the events sla accepts.
MESSAGES = frozenset({"verification_decided", "report_completed", "follow_up_posted", "reply_posted"})


class ModelError(Exception):
    """A process model that cannot be deployed; the message names the element at fault."""


@dataclass(frozen=True)
class Deadline:
    name: str  # the timer element's id
    due_at: datetime


@dataclass
class CaseState:
    status: str  # running, completed, failed
    waiting_for: list[str] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    failed_tasks: list[str] = field(default_factory=list)

    @property
    def next_due_at(self) -> datetime | None:
        return self.deadlines[0].due_at if self.deadlines else None


@dataclass(frozen=True)
class Case:
    tracking_id: str
    process_version: str
    state: CaseState
    retry_at: datetime | None = None
