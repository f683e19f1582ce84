"""The working-day calendar: weekends, holidays, cuti bersama, decrees both ways, time zones, years."""

from datetime import date, datetime, timedelta, timezone

import pytest

from services.plumbing.errors import InvalidArgument
from services.sla import calendar as calendar_module
from services.sla.calendar import CalendarOverride, InMemoryOverrides, WorkingCalendar, parse_day

WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
WIT = timezone(timedelta(hours=9))


def deadline(start, days, tz="Asia/Jakarta", calendar=None):
    return (calendar or WorkingCalendar()).add_working_days(start, days, tz)


def day_off(day, reference="Keppres No. 9/2026", description=""):
    return CalendarOverride(day, False, reference, description)


def working(day, reference="SKB 3 Menteri No. 2/2026", description=""):
    return CalendarOverride(day, True, reference, description)


# -- which days are working days ----------------------------------------------------------------
def test_monday_to_friday_are_working_days_and_weekends_are_not():
    week = [date(2026, 11, 2) + timedelta(days=i) for i in range(7)]  # Monday 2 to Sunday 8 November
    assert [WorkingCalendar().is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_public_holidays_are_not_working_days():
    assert not WorkingCalendar().is_working_day(date(2026, 8, 17))  # Hari Kemerdekaan, a Monday
    assert not WorkingCalendar().is_working_day(date(2026, 12, 25))  # Natal, a Friday


def test_cuti_bersama_is_not_a_working_day():
    assert dict(WorkingCalendar().non_working_weekdays(2026))[date(2026, 3, 18)] == "Cuti Bersama Hari Suci Nyepi"
    assert not WorkingCalendar().is_working_day(date(2026, 3, 18))


def test_a_decree_makes_a_weekday_a_day_off_and_a_holiday_or_a_saturday_a_working_day():
    calendar = WorkingCalendar(InMemoryOverrides([
        day_off(date(2026, 11, 4)), working(date(2026, 3, 18)), working(date(2026, 11, 7))]))
    assert not calendar.is_working_day(date(2026, 11, 4))
    assert calendar.is_working_day(date(2026, 3, 18))
    assert calendar.is_working_day(date(2026, 11, 7))  # a Saturday


def test_the_non_working_weekdays_follow_the_decrees():
    calendar = WorkingCalendar(InMemoryOverrides([
        day_off(date(2026, 11, 4), description="Cuti bersama tambahan"), working(date(2026, 3, 18))]))
    listed = dict(calendar.non_working_weekdays(2026))
    assert listed[date(2026, 11, 4)] == "Cuti bersama tambahan"
    assert date(2026, 3, 18) not in listed
    assert listed[date(2026, 3, 19)] == "Hari Suci Nyepi"


# -- deadlines ----------------------------------------------------------------------------------
def test_a_deadline_ends_at_23_59_59_local_on_the_nth_working_day_after_the_event():
    assert deadline("2026-11-02T10:00:00+07:00", 3) == datetime(2026, 11, 5, 23, 59, 59, tzinfo=WIB)


def test_a_deadline_skips_the_weekend():
    assert deadline("2026-11-06T10:00:00+07:00", 1) == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WIB)


def test_a_deadline_skips_holidays_and_cuti_bersama():
    # 18 cuti bersama, 19 Nyepi, 20 cuti bersama, 21-22 weekend, 23-24 cuti bersama Idul Fitri
    assert deadline("2026-03-17T10:00:00+07:00", 3) == datetime(2026, 3, 27, 23, 59, 59, tzinfo=WIB)


def test_a_day_off_by_decree_moves_a_deadline_later():
    calendar = WorkingCalendar(InMemoryOverrides([day_off(date(2026, 11, 9))]))
    assert deadline("2026-11-06T10:00:00+07:00", 1, calendar=calendar).date() == date(2026, 11, 10)


def test_a_working_day_by_decree_moves_a_deadline_earlier():
    calendar = WorkingCalendar(InMemoryOverrides([working(date(2026, 3, 18))]))
    assert deadline("2026-03-17T10:00:00+07:00", 1, calendar=calendar).date() == date(2026, 3, 18)
    saturday = WorkingCalendar(InMemoryOverrides([working(date(2026, 11, 7))]))
    assert deadline("2026-11-06T10:00:00+07:00", 1, calendar=saturday).date() == date(2026, 11, 7)


def test_a_removed_decree_no_longer_counts():
    overrides = InMemoryOverrides([day_off(date(2026, 11, 9))])
    calendar = WorkingCalendar(overrides)
    overrides.remove(date(2026, 11, 9))
    assert calendar.refresh()
    assert deadline("2026-11-06T10:00:00+07:00", 1, calendar=calendar).date() == date(2026, 11, 9)


def test_the_day_of_the_event_is_its_local_date_in_the_owners_zone():
    thursday_night = "2026-11-05T23:30:00+07:00"  # Thursday in WIB, already Friday in WITA and WIT
    assert deadline(thursday_night, 1, "Asia/Jakarta") == datetime(2026, 11, 6, 23, 59, 59, tzinfo=WIB)
    assert deadline(thursday_night, 1, "Asia/Makassar") == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WITA)
    assert deadline(thursday_night, 1, "Asia/Jayapura") == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WIT)


def test_an_event_at_23_30_wib_on_a_friday_is_saturday_in_wita():
    friday_night = datetime(2026, 11, 6, 23, 30, tzinfo=WIB)
    assert deadline(friday_night, 0, "Asia/Jakarta") == datetime(2026, 11, 6, 23, 59, 59, tzinfo=WIB)
    assert deadline(friday_night, 0, "Asia/Makassar") == datetime(2026, 11, 7, 23, 59, 59, tzinfo=WITA)
    assert deadline(friday_night, 1, "Asia/Makassar") == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WITA)


def test_an_event_given_in_utc_counts_from_its_local_date():
    assert deadline("2026-11-05T17:00:00+00:00", 1) == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WIB)  # Fri 00:00 WIB
    assert deadline("2026-11-05T16:59:59+00:00", 1) == datetime(2026, 11, 6, 23, 59, 59, tzinfo=WIB)


def test_deadlines_cross_the_year_boundary_past_new_year():
    # Thursday 31 December, then Tahun Baru on Friday 1 January 2027 and a weekend
    assert deadline("2026-12-31T10:00:00+07:00", 1) == datetime(2027, 1, 4, 23, 59, 59, tzinfo=WIB)
    # Wednesday 23 December: cuti bersama 24, Natal 25, weekend
    assert deadline("2026-12-23T10:00:00+07:00", 1).date() == date(2026, 12, 28)
    # 23:30 WIB on 31 December is already 2027 in WIT
    assert deadline("2026-12-31T23:30:00+07:00", 0, "Asia/Jayapura") == datetime(2027, 1, 1, 23, 59, 59, tzinfo=WIT)


def test_zero_working_days_ends_the_same_local_day_whatever_day_it_is():
    assert deadline("2026-11-02T10:00:00+07:00", 0) == datetime(2026, 11, 2, 23, 59, 59, tzinfo=WIB)
    assert deadline("2026-11-07T10:00:00+07:00", 0) == datetime(2026, 11, 7, 23, 59, 59, tzinfo=WIB)  # Saturday
    assert deadline("2026-08-17T10:00:00+07:00", 0).date() == date(2026, 8, 17)  # a holiday


@pytest.mark.parametrize("start, days, tz, message", [
    ("2026-11-02T10:00:00", 1, "Asia/Jakarta", "no time zone offset"),
    ("2026-11-02T10:00:00+07:00", -1, "Asia/Jakarta", "cannot count backwards"),
    ("2026-11-02T10:00:00+07:00", 1, "Asia/Singapore", "not an Indonesian time zone"),
])
def test_a_deadline_refuses_what_it_cannot_count(start, days, tz, message):
    with pytest.raises(ValueError, match=message):
        deadline(start, days, tz)


# -- reminders: the start of the last working days before a deadline -----------------------------
def test_the_last_working_day_is_the_deadlines_own_day_from_midnight():
    due = datetime(2026, 11, 5, 23, 59, 59, tzinfo=WIB)
    assert WorkingCalendar().start_of_last_working_days(due, 1, "Asia/Jakarta") == datetime(2026, 11, 5, tzinfo=WIB)


def test_the_last_working_days_skip_weekends_holidays_and_days_off_by_decree():
    calendar = WorkingCalendar(InMemoryOverrides([day_off(date(2026, 11, 6))]))
    monday = "2026-11-09T23:59:59+07:00"
    assert calendar.start_of_last_working_days(monday, 2, "Asia/Jakarta") == datetime(2026, 11, 5, tzinfo=WIB)
    # Friday 27 March 2026: before it Thursday 26, Wednesday 25, then cuti bersama back to Tuesday 17
    due = "2026-03-27T23:59:59+07:00"
    assert WorkingCalendar().start_of_last_working_days(due, 4, "Asia/Jakarta") == datetime(2026, 3, 17, tzinfo=WIB)


def test_a_deadline_on_a_day_off_counts_its_last_working_days_before_it():
    calendar = WorkingCalendar(InMemoryOverrides([day_off(date(2026, 11, 5))]))  # decreed after the deadline
    due = "2026-11-05T23:59:59+07:00"
    assert calendar.start_of_last_working_days(due, 1, "Asia/Jakarta") == datetime(2026, 11, 4, tzinfo=WIB)


def test_the_last_working_days_are_counted_in_the_owners_zone():
    due = datetime(2026, 11, 9, 16, 59, 59, tzinfo=timezone.utc)  # Monday 23:59:59 WIB, Tuesday 01:59:59 WIT
    assert WorkingCalendar().start_of_last_working_days(due, 1, "Asia/Jayapura") == datetime(2026, 11, 10, tzinfo=WIT)
    assert WorkingCalendar().start_of_last_working_days(due, 2, "Asia/Jakarta") == datetime(2026, 11, 6, tzinfo=WIB)


def test_the_last_working_days_count_from_one():
    with pytest.raises(ValueError, match="from 1"):
        WorkingCalendar().start_of_last_working_days("2026-11-05T23:59:59+07:00", 0, "Asia/Jakarta")


# -- keeping the overrides current ----------------------------------------------------------------
class CountingOverrides(InMemoryOverrides):
    def __init__(self, overrides=()):
        super().__init__(overrides)
        self.asked = {"version": 0, "in_force": 0}

    def version(self):
        self.asked["version"] += 1
        return super().version()

    def in_force(self):
        self.asked["in_force"] += 1
        return super().in_force()


def test_counting_deadlines_never_asks_the_source():
    source = CountingOverrides([day_off(date(2026, 11, 9))])
    calendar = WorkingCalendar(source)
    for _ in range(1000):
        calendar.add_working_days("2026-11-06T10:00:00+07:00", 5, "Asia/Makassar")
        calendar.start_of_last_working_days("2026-11-06T10:00:00+07:00", 2, "Asia/Makassar")
    assert source.asked == {"version": 1, "in_force": 1}  # the load at construction


def test_a_refresh_reloads_only_when_the_version_changed():
    source = CountingOverrides()
    calendar = WorkingCalendar(source)
    assert not calendar.refresh()
    source.put(day_off(date(2026, 11, 9)))
    assert calendar.refresh()
    assert not calendar.refresh()
    assert source.asked == {"version": 4, "in_force": 2}
    assert calendar.overrides(2026) == [day_off(date(2026, 11, 9))]
    assert calendar.overrides(2027) == []


# -- dates as the API takes them ------------------------------------------------------------------
def test_a_date_is_taken_as_yyyy_mm_dd():
    assert parse_day("2026-03-18") == date(2026, 3, 18)


@pytest.mark.parametrize("text", ["", "2026-3-18", "20260318", "2026-02-30", "2026-W12-3", "18-03-2026",
                                  " 2026-03-18", "2026-03-18T00:00", "1999-12-31", "2101-01-01"])
def test_a_bad_date_is_refused_naming_the_field(text):
    with pytest.raises(InvalidArgument) as e:
        parse_day(text, "date")
    assert e.value.field == "date"


# -- the command line -----------------------------------------------------------------------------
@pytest.fixture
def no_database(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)


def test_due_prints_one_iso_line_with_offset(no_database, capsys):
    assert calendar_module.main(["due", "--from", "2026-03-17T10:00:00+07:00", "--days", "3",
                                 "--tz", "Asia/Jakarta"]) == 0
    assert capsys.readouterr().out == "2026-03-27T23:59:59+07:00\n"


def test_due_counts_in_the_zone_asked_for(no_database, capsys):
    calendar_module.main(["due", "--from", "2026-11-05T23:30:00+07:00", "--days", "1", "--tz", "Asia/Makassar"])
    assert capsys.readouterr().out == "2026-11-09T23:59:59+08:00\n"


def test_due_refuses_a_time_without_offset(no_database, capsys):
    with pytest.raises(SystemExit) as e:
        calendar_module.main(["due", "--from", "2026-03-17T10:00:00", "--days", "3"])
    assert e.value.code == 2
    assert "no time zone offset" in capsys.readouterr().err


def test_days_lists_the_non_working_weekdays_with_their_names(no_database, capsys):
    assert calendar_module.main(["days", "--year", "2026"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "2026-01-01 Thu Tahun Baru Masehi"
    assert "2026-03-18 Wed Cuti Bersama Hari Suci Nyepi" in lines
    assert lines[-1] == "2026-12-25 Fri Hari Raya Natal"
    assert len(lines) == 21 and all(date.fromisoformat(line[:10]).weekday() < 5 for line in lines)


def test_the_help_says_that_database_url_brings_the_overrides(capsys):
    with pytest.raises(SystemExit) as e:
        calendar_module.main(["--help"])
    assert e.value.code == 0
    assert "DATABASE_URL" in capsys.readouterr().out
