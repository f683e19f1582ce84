"""Properties of deadlines that hold for any moment, any count, any zone and any set of decrees.

Working days are judged here by an oracle written apart from the calendar: the `holidays`
package read directly, weekends, and the decrees drawn by the test.
"""

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from services.sla.calendar import ZONES, CalendarOverride, InMemoryOverrides, WorkingCalendar

CALENDAR = settings(deadline=None, max_examples=150)  # the first example of a year reads `holidays`

FIRST, LAST = date(2024, 1, 1), date(2031, 12, 31)


@lru_cache(maxsize=None)
def holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year, categories=("public", "government")))


def oracle(decrees: dict[date, bool]):
    def is_working(day: date) -> bool:
        if day in decrees:
            return decrees[day]
        return day.weekday() < 5 and day not in holidays_of(day.year)
    return is_working


def working_days_between(is_working, after: date, up_to: date) -> int:
    """Working days d with after < d <= up_to."""
    return sum(is_working(after + timedelta(days=i)) for i in range(1, (up_to - after).days + 1))


offsets = st.sampled_from([timezone.utc, timezone(timedelta(hours=7)), timezone(timedelta(hours=8)),
                           timezone(timedelta(hours=9)), timezone(timedelta(hours=-5)), ZoneInfo("Asia/Jakarta")])
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=offsets)
counts = st.integers(min_value=0, max_value=40)
zones = st.sampled_from(ZONES)
decree_sets = st.dictionaries(st.dates(min_value=FIRST, max_value=LAST), st.booleans(), max_size=30)


def calendar_with(decrees: dict[date, bool]) -> WorkingCalendar:
    return WorkingCalendar(InMemoryOverrides(CalendarOverride(d, w, "test decree") for d, w in decrees.items()))


@CALENDAR
@given(moments, counts, zones, decree_sets)
def test_a_deadline_ends_at_23_59_59_local_in_the_owners_zone(start, n, tz, decrees):
    due = calendar_with(decrees).add_working_days(start, n, tz)
    assert due.tzinfo == ZoneInfo(tz)
    assert due.time() == time(23, 59, 59)
    assert due.utcoffset() == datetime.combine(due.date(), time(12), ZoneInfo(tz)).utcoffset()


@CALENDAR
@given(moments, counts.filter(lambda n: n >= 1), zones, decree_sets)
def test_a_deadline_falls_on_a_working_day_strictly_after_the_start_date(start, n, tz, decrees):
    due = calendar_with(decrees).add_working_days(start, n, tz)
    assert oracle(decrees)(due.date())
    assert due.date() > start.astimezone(ZoneInfo(tz)).date()


@CALENDAR
@given(moments, counts, zones, decree_sets)
def test_exactly_n_working_days_lie_between_the_start_date_and_the_deadline(start, n, tz, decrees):
    due = calendar_with(decrees).add_working_days(start, n, tz)
    local_start = start.astimezone(ZoneInfo(tz)).date()
    assert working_days_between(oracle(decrees), local_start, due.date()) == n
    if n == 0:
        assert due.date() == local_start


@CALENDAR
@given(moments, counts, zones, decree_sets)
def test_one_more_working_day_gives_a_later_deadline(start, n, tz, decrees):
    calendar = calendar_with(decrees)
    assert calendar.add_working_days(start, n, tz) < calendar.add_working_days(start, n + 1, tz)


@CALENDAR
@given(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)), counts, zones, decree_sets)
def test_a_later_start_never_gives_an_earlier_deadline(start, later_by, n, tz, decrees):
    calendar = calendar_with(decrees)
    assert calendar.add_working_days(start, n, tz) <= calendar.add_working_days(start + later_by, n, tz)


@CALENDAR
@given(moments, counts, zones, decree_sets)
def test_every_moment_of_one_local_day_gives_the_same_deadline(start, n, tz, decrees):
    calendar = calendar_with(decrees)
    local = start.astimezone(ZoneInfo(tz))
    first = datetime.combine(local.date(), time(0, 0), local.tzinfo)
    last = datetime.combine(local.date(), time(23, 59, 59, 999999), local.tzinfo)
    assert calendar.add_working_days(first, n, tz) == calendar.add_working_days(start, n, tz)
    assert calendar.add_working_days(last, n, tz) == calendar.add_working_days(start, n, tz)
    assert calendar.add_working_days(start.isoformat(), n, tz) == calendar.add_working_days(start, n, tz)


@CALENDAR
@given(moments, counts.filter(lambda n: n >= 1), zones, decree_sets)
def test_the_last_n_working_days_start_at_midnight_and_hold_n_working_days(deadline, n, tz, decrees):
    start = calendar_with(decrees).start_of_last_working_days(deadline, n, tz)
    is_working = oracle(decrees)
    assert start.tzinfo == ZoneInfo(tz) and start.time() == time(0, 0)
    assert is_working(start.date())
    due_date = deadline.astimezone(ZoneInfo(tz)).date()
    assert start.date() <= due_date
    assert working_days_between(is_working, start.date() - timedelta(days=1), due_date) == n


@CALENDAR
@given(moments, counts.filter(lambda n: n >= 1), st.integers(min_value=1, max_value=40), zones, decree_sets)
def test_the_kth_last_working_day_of_an_n_day_deadline_is_its_n_minus_k_plus_1th_working_day(start, n, k, tz,
                                                                                             decrees):
    calendar = calendar_with(decrees)
    k = min(k, n)
    due = calendar.add_working_days(start, n, tz)
    reminder = calendar.start_of_last_working_days(due, k, tz)
    assert reminder.date() == calendar.add_working_days(start, n - k + 1, tz).date()
    assert start < reminder
