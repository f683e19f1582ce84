"""The Indonesian working-day calendar that every deadline is counted in.

Working days are Monday to Friday minus national public holidays and cuti bersama
(collective leave), from the `holidays` package (categories public and government).
A deadline of N working days ends at 23:59:59 local time, in the zone of whoever owns
it, on the Nth working day after the local date of the triggering event.

    python -m services.sla.calendar due --from 2026-03-17T10:00:00+07:00 --days 3 --tz Asia/Jakarta
    python -m services.sla.calendar days --year 2026
"""

import argparse
import sys
import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")  # WIB, WITA, WIT
END_OF_DAY = time(23, 59, 59)


class WorkingCalendar:
    def __init__(self):
        self._lock = threading.Lock()
        self._years: dict[int, dict[date, str]] = {}

    def _holidays(self, year: int) -> dict[date, str]:
        with self._lock:
            if year not in self._years:
                found = holidays.country_holidays("ID", years=year, categories=("public", "government"),
                                                  language="id")
                self._years[year] = dict(found.items())
            return self._years[year]

    def non_working_weekdays(self, year: int) -> list[tuple[date, str]]:
        """Holidays and cuti bersama of `year` that fall on Monday to Friday."""
        return sorted((d, name) for d, name in self._holidays(year).items() if d.weekday() < 5)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays(day.year)

    def add_working_days(self, start: datetime | str, days: int, tz: str) -> datetime:
        """The end (23:59:59 local) of the `days`th working day after `start`'s local date."""
        if isinstance(start, str):
            start = datetime.fromisoformat(start)
        if start.tzinfo is None:
            raise ValueError(f"{start.isoformat()} has no time zone offset")
        if tz not in ZONES:
            raise ValueError(f"{tz!r} is not an Indonesian time zone ({', '.join(ZONES)})")
        if days < 0:
            raise ValueError("a deadline cannot count backwards")
        zone = ZoneInfo(tz)
        day = start.astimezone(zone).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, END_OF_DAY, zone)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.sla.calendar", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    due = commands.add_parser("due", help="print the deadline of N working days after a moment")
    due.add_argument("--from", dest="start", required=True, help="ISO-8601 time with offset")
    due.add_argument("--days", type=int, required=True)
    due.add_argument("--tz", default="Asia/Jakarta", choices=ZONES)
    days = commands.add_parser("days", help="list the non-working weekdays of a year")
    days.add_argument("--year", type=int, required=True)
    args = parser.parse_args(argv)
    calendar = WorkingCalendar()
    if args.command == "due":
        try:
            print(calendar.add_working_days(args.start, args.days, args.tz).isoformat())
        except ValueError as e:
            parser.error(str(e))
    else:
        for day, name in calendar.non_working_weekdays(args.year):
            print(f"{day.isoformat()} {day.strftime('%a')} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
