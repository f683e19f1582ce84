"""A report's deadlines as the portal's pages show them (sla gives them; the pages only read them).

A deadline is "due soon" in its last working day: from the moment sla gives as due_soon_from, the
start of that day by the Indonesian working-day calendar (with the national overrides) in the zone of
the deadline's owner, as the model's reminders are timed. The portal keeps no calendar of its own, so
that it never disagrees with sla. From an sla that does not tell the moment yet, the last
FALLBACK_DUE_SOON of the clock count instead. A deadline is "overdue" once it has passed unmet. The
staff consoles mark both and show the time left; the reporter's tracking page shows only whether a
deadline was met or missed.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from services.portal.i18n import _
from sp4n.sla.v1 import sla_pb2

FALLBACK_DUE_SOON = timedelta(hours=24)
OVERDUE, DUE_SOON = "overdue", "due_soon"


@dataclass(frozen=True)
class DeadlineView:
    """A deadline as a page shows it: its name, when it ends, how urgent it is and the time left."""
    name: str
    due_at: datetime
    state: str  # open, met, breached
    urgency: str  # OVERDUE, DUE_SOON or ""
    left: str = ""  # the time left (or how late) in words, for an open deadline

    @property
    def open(self) -> bool:
        return self.state == "open"


def due_soon_from(deadline: sla_pb2.Deadline) -> datetime:
    """When the deadline is due soon."""
    due_at = deadline.due_at.ToDatetime(tzinfo=timezone.utc)
    if deadline.HasField("due_soon_from"):
        return deadline.due_soon_from.ToDatetime(tzinfo=timezone.utc)
    return due_at - FALLBACK_DUE_SOON


def urgency(deadline: sla_pb2.Deadline, now: datetime) -> str:
    """OVERDUE once passed unmet, DUE_SOON in its last working day while open, '' otherwise."""
    due_at = deadline.due_at.ToDatetime(tzinfo=timezone.utc)
    if deadline.state == "breached" or (deadline.state == "open" and due_at <= now):
        return OVERDUE
    if deadline.state == "open" and now >= due_soon_from(deadline):
        return DUE_SOON
    return ""


def time_left(due: datetime, now: datetime) -> tuple[str, bool]:
    """The time until `due` in words (days, or hours in its last day), and whether it has passed."""
    seconds = (due - now).total_seconds()
    hours = int(abs(seconds) // 3600)
    if hours >= 48:
        amount = _("%(n)s hari", n=hours // 24)
    elif hours >= 24:
        amount = _("1 hari")
    elif hours >= 2:
        amount = _("%(n)s jam", n=hours)
    elif hours >= 1:
        amount = _("1 jam")
    else:
        amount = _("kurang dari 1 jam")
    if seconds < 0:
        return _("terlambat %(amount)s", amount=amount), True
    return _("%(amount)s lagi", amount=amount), False


def deadline_view(deadline: sla_pb2.Deadline, now: datetime) -> DeadlineView:
    due_at = deadline.due_at.ToDatetime(tzinfo=timezone.utc)
    left = time_left(due_at, now)[0] if deadline.state == "open" else ""
    return DeadlineView(name=deadline.name, due_at=due_at, state=deadline.state, urgency=urgency(deadline, now),
                        left=left)


def deadline_views(case: sla_pb2.Case, now: datetime) -> list[DeadlineView]:
    """A case's deadlines, earliest first."""
    return sorted((deadline_view(d, now) for d in case.deadlines), key=lambda d: d.due_at)
