"""SQL of the calendar overrides (sla.calendar_overrides). Every function takes an open connection;
StoredOverrides is a calendar's source of overrides, opening a connection each time it asks."""

from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Callable

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from services.sla.calendar import CalendarOverride

DatabaseError = psycopg.Error

_COLUMNS = "day, working, reference, description, set_at, set_by"


def _override(row) -> CalendarOverride:
    return CalendarOverride(row["day"], row["working"], row["reference"], row["description"], row["set_at"],
                            row["set_by"])


def lock(conn) -> None:
    """Serializes changes to the calendar until the transaction ends, so that revisions commit in
    the order they are numbered (see the migration)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('sla:calendar'))")


def by_key(conn, key: str) -> CalendarOverride | None:
    """The override a set or remove call with idempotency key `key` answered with."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM sla.calendar_overrides WHERE set_key = %s OR removed_key = %s",
                       (key, key)).fetchone()
    return _override(row) if row else None


def add(conn, override: CalendarOverride, *, key: str) -> CalendarOverride:
    """Stores an override in force; the date must have none in force."""
    row = conn.execute(
        f"INSERT INTO sla.calendar_overrides ({_COLUMNS}, set_key) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"RETURNING {_COLUMNS}",
        (override.day, override.working, override.reference, override.description, override.set_at,
         override.set_by, key)).fetchone()
    return _override(row)


def mark_removed(conn, *, day: date, reference: str, by: str, at: datetime,
                 key: str | None) -> CalendarOverride | None:
    """Marks the override in force on `day` removed by decree `reference`; None if there was none.
    `key` is the remove call's idempotency key, None when a newer override supersedes it."""
    row = conn.execute(
        "UPDATE sla.calendar_overrides SET removed_at = %s, removed_by = %s, removed_reference = %s, "
        "removed_key = %s, revision = nextval('sla.calendar_revisions') "
        f"WHERE day = %s AND removed_at IS NULL RETURNING {_COLUMNS}",
        (at, by, reference, key, day)).fetchone()
    return _override(row) if row else None


def in_force(conn, year: int | None = None) -> list[CalendarOverride]:
    """The overrides in force (of `year`), by date."""
    if year is None:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM sla.calendar_overrides WHERE removed_at IS NULL "
                            "ORDER BY day").fetchall()
    else:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM sla.calendar_overrides WHERE removed_at IS NULL "
                            "AND day >= %s AND day < %s ORDER BY day",
                            (date(year, 1, 1), date(year + 1, 1, 1))).fetchall()
    return [_override(r) for r in rows]


def revision(conn) -> int | None:
    """The newest change's revision (an index lookup); None when there never was an override."""
    return conn.execute("SELECT max(revision) AS revision FROM sla.calendar_overrides").fetchone()["revision"]


class StoredOverrides:
    """The overrides in the database, as a WorkingCalendar's OverrideSource."""

    def __init__(self, connect: Callable[[], AbstractContextManager]):
        self._connect = connect  # gives a connection whose rows are dicts, as a context manager

    @classmethod
    def from_pool(cls, pool: ConnectionPool) -> "StoredOverrides":
        return cls(pool.connection)

    @classmethod
    def from_url(cls, url: str) -> "StoredOverrides":
        """A connection per question: for the command line, not for a running service."""
        return cls(lambda: psycopg.connect(url, row_factory=dict_row))

    def version(self) -> int | None:
        with self._connect() as conn:
            return revision(conn)

    def in_force(self) -> list[CalendarOverride]:
        with self._connect() as conn:
            return in_force(conn)
