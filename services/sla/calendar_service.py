"""Calendar use cases: overrides of the working-day calendar set and removed by decree, and listed;
and the worker that keeps a running calendar current. Each use case owns its transaction."""

import logging
from datetime import date

from psycopg_pool import ConnectionPool

from services.plumbing import identity
from services.plumbing.background import BackgroundWorker
from services.plumbing.clock import Clock
from services.plumbing.errors import NotFound
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.logs import fields
from services.sla import calendar_store
from services.sla.calendar import CalendarOverride, WorkingCalendar, check_description, check_reference

log = logging.getLogger(__name__)

# Who may read and change the calendar's overrides.
CALENDAR_KEEPERS = (identity.NATIONAL_ADMIN, identity.PROCESS_ANALYST)


class CalendarService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock, calendar: WorkingCalendar | None = None):
        """`calendar`, this process's running calendar, is refreshed after each change made here, so
        that this process counts with a new decree at once (others within their refresh period)."""
        self.pool = pool
        self.clock = clock
        self.calendar = calendar

    def set_override(self, *, caller: identity.Caller, key: str, day: date, working: bool, reference: str,
                     description: str = "") -> CalendarOverride:
        """Makes `day` a day off or a working day by decree. An override already in force on that day
        is superseded: kept, marked removed by this decree. A repeated key changes nothing."""
        identity.require_role(caller, *CALENDAR_KEEPERS)
        check_idempotency_key(key)
        reference = check_reference(reference)
        description = check_description(description)
        with self.pool.connection() as conn, conn.transaction():
            calendar_store.lock(conn)
            if (earlier := calendar_store.by_key(conn, key)) is not None:
                return earlier
            now = self.clock.now()
            calendar_store.mark_removed(conn, day=day, reference=reference, by=caller.subject, at=now, key=None)
            override = calendar_store.add(conn, CalendarOverride(day, working, reference, description, now,
                                                                 caller.subject), key=key)
        log.info("calendar override set", extra=fields(day=day.isoformat(), working=working, reference=reference,
                                                        by=caller.subject))
        self._changed()
        return override

    def remove_override(self, *, caller: identity.Caller, key: str, day: date, reference: str) -> CalendarOverride:
        """Withdraws the override in force on `day` by decree `reference`; it is kept, marked removed,
        and the day is again what the national holidays make it. A repeated key changes nothing."""
        identity.require_role(caller, *CALENDAR_KEEPERS)
        check_idempotency_key(key)
        reference = check_reference(reference)
        with self.pool.connection() as conn, conn.transaction():
            calendar_store.lock(conn)
            if (earlier := calendar_store.by_key(conn, key)) is not None:
                return earlier
            removed = calendar_store.mark_removed(conn, day=day, reference=reference, by=caller.subject,
                                                  at=self.clock.now(), key=key)
            if removed is None:
                raise NotFound(f"no calendar override is in force on {day.isoformat()}")
        log.info("calendar override removed", extra=fields(day=day.isoformat(), reference=reference,
                                                            by=caller.subject))
        self._changed()
        return removed

    def list_overrides(self, *, caller: identity.Caller, year: int | None = None) -> list[CalendarOverride]:
        """The overrides in force (of `year`), by date."""
        identity.require_role(caller, *CALENDAR_KEEPERS)
        with self.pool.connection() as conn:
            return calendar_store.in_force(conn, year)

    def _changed(self) -> None:
        if self.calendar is None:
            return
        try:
            self.calendar.refresh()
        except Exception:  # committed all the same: the refresher catches up
            log.exception("could not refresh the calendar after a change")


class CalendarRefresher(BackgroundWorker):
    """Reloads a running calendar's overrides when they changed, checking every `poll_seconds`: one
    index lookup per check, on this thread, never on the threads that count deadlines."""

    def __init__(self, calendar: WorkingCalendar, poll_seconds: float = 2.0):
        super().__init__(name="sla-calendar", poll_seconds=poll_seconds)
        self.calendar = calendar

    def run_once(self) -> int:
        return 1 if self.calendar.refresh() else 0
