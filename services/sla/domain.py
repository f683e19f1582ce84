"""The sla domain: cases (a report's process instance), their deadlines and the events they take."""

from dataclasses import dataclass, field
from datetime import datetime

from services.plumbing import identity

# The messages a lifecycle model may wait for, and so the events sla accepts.
MESSAGES = frozenset({"verification_decided", "report_completed", "follow_up_posted", "reply_posted",
                      "agency_declined", "agency_dispatched"})

# What a timer means, from its `sla_kind` property in the model: a deadline someone owns (recorded:
# met or breached, how late), a reminder before one, or an expiry that ends a wait. Without the
# property a timer only schedules.
DEADLINE, REMINDER, EXPIRY, TIMER = "deadline", "reminder", "expiry", "timer"
TIMER_KINDS = frozenset({DEADLINE, REMINDER, EXPIRY, TIMER})
NATIONAL = "national"  # the owner of deadlines that fall to the national administrators


AGENCY_STAFF = frozenset({identity.AGENCY_ADMIN, identity.LIAISON_OFFICER})
# Who reads every case: the services that run the process (the portal among them, for the pages
# it shows after intake let the person see the report), national administrators, and the process
# analysts who study deadlines.
READS_EVERY_CASE = frozenset({identity.SERVICE, identity.NATIONAL_ADMIN, identity.PROCESS_ANALYST})


def may_read_case(caller: identity.Caller, tracking_id: str, agency_id: str) -> bool:
    """Whether `caller` may read the case of report `tracking_id`, assigned now to `agency_id` (empty:
    to none). Agency staff read the cases of their agency's reports only. A reporter reads their own,
    named by the tracking ID they proved access to; sla does not know which account sent a report, so
    a signed-in reporter ("account:<n>") is refused here (the portal asks with its own identity once
    intake let the reporter see the report)."""
    if caller.role in READS_EVERY_CASE:
        return True
    if caller.role in AGENCY_STAFF:
        return caller.agency_id != "" and caller.agency_id == agency_id
    return caller.role == identity.REPORTER and caller.subject == tracking_id


class ModelError(Exception):
    """A process model that cannot be deployed; the message names the element at fault."""


@dataclass(frozen=True)
class Deadline:
    """A timer the instance waits on now."""
    name: str  # the timer element's id
    due_at: datetime
    task_id: str = ""
    kind: str = TIMER
    owner: str = ""  # for a deadline: the agency id, or NATIONAL


@dataclass
class CaseState:
    status: str  # running, completed, failed
    waiting_for: list[str] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    failed_tasks: list[str] = field(default_factory=list)
    stage: str = ""
    path: list[str] = field(default_factory=list)  # the flow nodes passed, in order (see Engine.describe)
    agency_id: str = ""  # the agency the report is assigned to now, "" while none is (see Engine.describe)
    category: str = ""

    @property
    def next_due_at(self) -> datetime | None:
        return self.deadlines[0].due_at if self.deadlines else None


@dataclass(frozen=True)
class TrackedDeadline:
    """A deadline of a report as recorded, past or present."""
    name: str
    owner: str
    due_at: datetime
    started_at: datetime
    met_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.breached_at is not None:
            return "breached"
        return "met" if self.met_at is not None else "open"

    def late_seconds(self, now: datetime) -> int:
        if self.breached_at is None:
            return 0
        return max(0, int(((self.met_at or now) - self.due_at).total_seconds()))


@dataclass(frozen=True)
class StageChange:
    stage: str
    entered_at: datetime


@dataclass(frozen=True)
class Case:
    tracking_id: str
    process_version: str
    state: CaseState
    retry_at: datetime | None = None
    last_error: str | None = None
    tracked: list[TrackedDeadline] = field(default_factory=list)
    history: list[StageChange] = field(default_factory=list)
    category: str = ""


# -- what process analysts read ---------------------------------------------------------------------------
# Who studies the process: process analysts and national administrators (and services, for the portal).
STUDIES_THE_PROCESS = frozenset({identity.PROCESS_ANALYST, identity.NATIONAL_ADMIN})


@dataclass(frozen=True)
class ElementStatistics:
    element_id: str
    type: str
    name: str
    waiting: int = 0
    overdue: int = 0
    visits: int = 0
    median_seconds: float = 0.0


@dataclass(frozen=True)
class CaseAt:
    tracking_id: str
    agency_id: str
    category: str
    entered_at: datetime | None
    due_at: datetime | None
    overdue: bool


@dataclass
class Figures:
    key: str
    deadlines: int = 0
    met_on_time: int = 0
    backlog: int = 0
    follow_ups: int = 0
    median_follow_up_seconds: float = 0.0
    closures: int = 0
    median_closure_seconds: float = 0.0

    @property
    def share_met(self) -> float:
        return self.met_on_time / self.deadlines if self.deadlines else 0.0


@dataclass(frozen=True)
class Statistics:
    by_agency: list[Figures]
    by_category: list[Figures]
    overall: Figures
    computed_at: datetime
