"""The Indonesian working-day calendar that every deadline is counted in.

Working days are Monday to Friday minus national public holidays and cuti bersama
(collective leave), from the `holidays` package (categories public and government),
corrected by overrides: later decrees that make a date a day off, or a working day after
all. A deadline of N working days ends at 23:59:59 local time, in the zone of whoever owns
it, on the Nth working day after the local date of the triggering event. A reminder for the last
n working days before a deadline is due at 00:00 local on the first of them
(start_of_last_working_days).

    python -m services.sla.calendar due --from 2026-03-17T10:00:00+07:00 --days 3 --tz Asia/Jakarta
    python -m services.sla.calendar days --year 2026

With DATABASE_URL set, both commands apply the overrides stored in the sla schema.
"""

import argparse
import re
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Hashable, Iterable, Mapping, Protocol
from zoneinfo import ZoneInfo

import holidays

from services.plumbing.errors import InvalidArgument
from services.plumbing.text import has_control_characters

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")  # WIB, WITA, WIT
END_OF_DAY = time(23, 59, 59)
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years an override may be set for (and `holidays` knows)
MAX_REFERENCE, MAX_DESCRIPTION = 200, 1000


@dataclass(frozen=True)
class CalendarOverride:
    """A decree's correction of one date: a day off (working=False) or a working day after all."""
    day: date
    working: bool
    reference: str  # the decree, e.g. "SKB 3 Menteri No. 1497/2025"
    description: str = ""
    set_at: datetime | None = None
    set_by: str = ""


class OverrideSource(Protocol):
    def version(self) -> Hashable:
        """Cheap to ask; different whenever an override has been set or removed since it was last asked."""

    def in_force(self) -> Iterable[CalendarOverride]:
        """Every override in force (not removed)."""


class InMemoryOverrides:
    """An OverrideSource kept in memory: for tests, and wherever there is no database."""

    def __init__(self, overrides: Iterable[CalendarOverride] = ()):
        self._overrides = {o.day: o for o in overrides}
        self._version = 0

    def put(self, override: CalendarOverride) -> None:
        self._overrides[override.day] = override
        self._version += 1

    def remove(self, day: date) -> None:
        del self._overrides[day]
        self._version += 1

    def version(self) -> int:
        return self._version

    def in_force(self) -> list[CalendarOverride]:
        return list(self._overrides.values())


@lru_cache(maxsize=None)
def national_holidays(year: int) -> Mapping[date, str]:
    """Public holidays and cuti bersama of `year` (weekends included), named in Indonesian.
    The data ship with the package, so they are read once per year and process."""
    found = holidays.country_holidays("ID", years=year, categories=("public", "government"), language="id")
    return MappingProxyType(dict(found.items()))


def _is_working_day(day: date, overrides: Mapping[date, CalendarOverride]) -> bool:
    override = overrides.get(day)
    if override is not None:
        return override.working
    return day.weekday() < 5 and day not in national_holidays(day.year)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no time zone offset")
    return value


def _zone(tz: str) -> ZoneInfo:
    if tz not in ZONES:
        raise ValueError(f"{tz!r} is not an Indonesian time zone ({', '.join(ZONES)})")
    return ZoneInfo(tz)


class WorkingCalendar:
    """Working days and deadlines, with the overrides of `overrides` when given.

    The overrides are a snapshot in memory, replaced whole by `refresh()`: counting a deadline
    never asks the database. The sla service calls `refresh()` after each change it makes and a
    CalendarRefresher calls it every few seconds, so every replica sees a new decree soon after.
    """

    def __init__(self, overrides: OverrideSource | None = None):
        self._source = overrides
        self._refreshing = threading.Lock()
        self._version: Hashable = object()  # equal to no version: the first refresh loads
        self._overrides: Mapping[date, CalendarOverride] = MappingProxyType({})
        if overrides is not None:
            self.refresh()

    def refresh(self) -> bool:
        """Reloads the overrides if the source's version changed; True if it did. When nothing
        changed this costs one cheap question to the source."""
        if self._source is None:
            return False
        with self._refreshing:
            version = self._source.version()
            if version == self._version:
                return False
            # The version is read before the overrides: a change landing in between is loaded now and
            # loaded again next time (its version is newer than the one kept), never missed.
            loaded = MappingProxyType({o.day: o for o in self._source.in_force()})
            self._overrides, self._version = loaded, version
            return True

    def overrides(self, year: int | None = None) -> list[CalendarOverride]:
        """The overrides in force (of `year`), by date."""
        return sorted((o for o in self._overrides.values() if year is None or o.day.year == year),
                      key=lambda o: o.day)

    def is_working_day(self, day: date) -> bool:
        return _is_working_day(day, self._overrides)

    def non_working_weekdays(self, year: int) -> list[tuple[date, str]]:
        """Monday to Friday dates of `year` that are not working days (holidays, cuti bersama and
        days off by decree, less those declared working days), with their names."""
        overrides = self._overrides
        days = set(national_holidays(year)) | {d for d in overrides if d.year == year}
        return [(d, day_name(d, overrides.get(d))) for d in sorted(days)
                if d.weekday() < 5 and not _is_working_day(d, overrides)]

    def add_working_days(self, start: datetime | str, days: int, tz: str) -> datetime:
        """The end (23:59:59 local in `tz`) of the `days`th working day after `start`'s local date.

        `start` is an aware datetime or ISO-8601 text with an offset; only its local date counts,
        not its time. days=0 gives the end of that same local date, working day or not.
        """
        start = _aware(start)
        zone = _zone(tz)
        if days < 0:
            raise ValueError("a deadline cannot count backwards")
        overrides = self._overrides  # one snapshot for the whole count
        day = start.astimezone(zone).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if _is_working_day(day, overrides):
                counted += 1
        return datetime.combine(day, END_OF_DAY, zone)

    def start_of_last_working_days(self, deadline: datetime | str, n: int, tz: str) -> datetime:
        """The start (00:00:00 local in `tz`) of the nth-last working day up to and including the
        local date of `deadline`: when a reminder "in the last n working days" is due.

        n=1 is 00:00 on the deadline's own day, which every deadline of add_working_days(..., n>=1)
        falls on. A deadline whose day is not (or is no longer) a working day counts from the last
        working day before it. n must be at least 1.
        """
        deadline = _aware(deadline)
        zone = _zone(tz)
        if n < 1:
            raise ValueError("n counts working days from 1 (the deadline's own day)")
        overrides = self._overrides
        day = deadline.astimezone(zone).date() + timedelta(days=1)
        counted = 0
        while counted < n:
            day -= timedelta(days=1)
            if _is_working_day(day, overrides):
                counted += 1
        return datetime.combine(day, time(0, 0), zone)


NATIONAL_ZONE = "Asia/Jakarta"  # where national deadlines (verification) are counted, as in the model


def zone_ending_day_at(moment: datetime) -> str | None:
    """The Indonesian zone in which `moment` is the end of a day (23:59:59 local), as every deadline of
    add_working_days is in the zone it was counted in; None when it is in none."""
    for tz in ZONES:
        if _aware(moment).astimezone(ZoneInfo(tz)).time().replace(microsecond=0) == END_OF_DAY:
            return tz
    return None


def deadline_zone(owner: str, due_at: datetime) -> str:
    """The time zone of a deadline's owner: Asia/Jakarta for the national administrators; for an agency
    (or an expiry, which has no owner), the zone it was counted in (that of its end of day), Asia/Jakarta
    when that is none."""
    if owner == "national":
        return NATIONAL_ZONE
    return zone_ending_day_at(due_at) or NATIONAL_ZONE


def day_name(day: date, override: CalendarOverride | None) -> str:
    """What a date is called in a listing: the decree's description, else the holiday's name."""
    holiday = national_holidays(day.year).get(day, "")
    if override is None:
        return holiday
    return override.description or holiday or ("working day" if override.working else "day off")


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str, field: str = "date") -> date:
    """A date given as YYYY-MM-DD, in the years an override may be set for."""
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(field, "must be a date as YYYY-MM-DD") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidArgument(field, f"must be in the years {FIRST_YEAR} to {LAST_YEAR}")
    return day


def check_reference(value: str, field: str = "reference") -> str:
    """Every change to the calendar names the decree that makes it."""
    value = value.strip()
    if not value:
        raise InvalidArgument(field, "is required: the decree's reference, e.g. SKB 3 Menteri No. 1497/2025")
    if len(value) > MAX_REFERENCE:
        raise InvalidArgument(field, f"at most {MAX_REFERENCE} characters")
    if has_control_characters(value):
        raise InvalidArgument(field, "must not contain control characters")
    return value


def check_description(value: str, field: str = "description") -> str:
    value = value.strip()
    if len(value) > MAX_DESCRIPTION:
        raise InvalidArgument(field, f"at most {MAX_DESCRIPTION} characters")
    if has_control_characters(value, multiline=True):
        raise InvalidArgument(field, "must not contain control characters")
    return value


def _database_url() -> str | None:
    from services.plumbing import config
    try:
        return config.get("DATABASE_URL")
    except config.ConfigError:
        return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.sla.calendar", description=__doc__.split("\n\n")[0],
        epilog="When DATABASE_URL is set, both commands apply the calendar overrides stored in its sla "
               "schema (days off and working days by decree); otherwise only the national holidays.")
    commands = parser.add_subparsers(dest="command", required=True)
    due = commands.add_parser("due", help="print the deadline of N working days after a moment",
                              epilog="With DATABASE_URL set, the overrides stored there apply.")
    due.add_argument("--from", dest="start", required=True, help="ISO-8601 time with offset")
    due.add_argument("--days", type=int, required=True)
    due.add_argument("--tz", default="Asia/Jakarta", choices=ZONES)
    days = commands.add_parser("days", help="list the non-working weekdays of a year",
                               epilog="With DATABASE_URL set, the overrides stored there apply, and each "
                                      "date an override changes is marked with its decree's reference.")
    days.add_argument("--year", type=int, required=True)
    args = parser.parse_args(argv)
    calendar = WorkingCalendar()
    if url := _database_url():
        from services.sla import calendar_store  # the CLI is an edge: SQL only when asked for
        try:
            calendar = WorkingCalendar(calendar_store.StoredOverrides.from_url(url))
        except calendar_store.DatabaseError as e:
            print(f"cannot read the calendar overrides from DATABASE_URL: {e}", file=sys.stderr)
            return 1
    if args.command == "due":
        try:
            print(calendar.add_working_days(args.start, args.days, args.tz).isoformat())
        except ValueError as e:
            parser.error(str(e))
    else:
        overrides = {o.day: o for o in calendar.overrides(args.year)}
        listed = {day for day, _ in calendar.non_working_weekdays(args.year)}
        for day in sorted(listed | overrides.keys()):
            line = f"{day.isoformat()} {day.strftime('%a')} {day_name(day, overrides.get(day))}"
            if (override := overrides.get(day)) is not None:
                line += f" [{'working day' if override.working else 'day off'} by {override.reference}]"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
