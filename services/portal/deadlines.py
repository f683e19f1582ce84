"""A report's deadlines as the portal's pages show them (sla gives them; the pages only read them).

A deadline is "due soon" when it ends within DUE_SOON (24 hours: one day of the clock, not of its
owner's working calendar) and "overdue" once it has passed unmet. The agency console marks both; the
reporter's tracking page shows only whether a deadline was met or missed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sp4n.sla.v1 import sla_pb2

DUE_SOON = timedelta(hours=24)


@dataclass(frozen=True)
class DeadlineView:
    """A deadline as a page shows it: its name, when it ends, and how urgent it is."""
    name: str
    due_at: datetime
    state: str  # open, met, breached
    urgency: str  # "overdue", "due_soon" or ""

    @property
    def open(self) -> bool:
        return self.state == "open"


def deadline_view(deadline: sla_pb2.Deadline, now: datetime) -> DeadlineView:
    due_at = deadline.due_at.ToDatetime(tzinfo=timezone.utc)
    urgency = ""
    if deadline.state == "breached" or (deadline.state == "open" and due_at <= now):
        urgency = "overdue"
    elif deadline.state == "open" and due_at - now <= DUE_SOON:
        urgency = "due_soon"
    return DeadlineView(name=deadline.name, due_at=due_at, state=deadline.state, urgency=urgency)


def deadline_views(case: sla_pb2.Case, now: datetime) -> list[DeadlineView]:
    """A case's deadlines, earliest first."""
    return sorted((deadline_view(d, now) for d in case.deadlines), key=lambda d: d.due_at)
