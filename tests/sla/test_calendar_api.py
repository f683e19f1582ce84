"""The calendar RPCs through a real gRPC server and PostgreSQL; running calendars; the CLI on the database."""

import time
from datetime import date

import grpc
import psycopg
import pytest

from services.sla import calendar as calendar_module
from services.sla.calendar import WorkingCalendar
from services.sla.calendar_api import CalendarApi
from services.sla.calendar_service import CalendarRefresher, CalendarService
from services.sla.calendar_store import StoredOverrides
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc
from tests.support import caller, field_violation, service_caller

ADMIN = caller("national_admin", "admin-1")
ANALYST = caller("process_analyst", "analyst-1")
FRIDAY = "2026-11-06T10:00:00+07:00"  # one working day later is Monday 9 November


class CalendarServicer(CalendarApi):
    def __init__(self, calendar_service):
        self.calendar_service = calendar_service


@pytest.fixture
def calendar(pool):
    return WorkingCalendar(StoredOverrides.from_pool(pool))


@pytest.fixture
def stub(serve, pool, clock, calendar):
    api = CalendarServicer(CalendarService(pool=pool, clock=clock, calendar=calendar))
    channel = serve("sla", (lambda server: sla_pb2_grpc.add_SlaServiceServicer_to_server(api, server),
                            pb.DESCRIPTOR.services_by_name["SlaService"].full_name))
    return sla_pb2_grpc.SlaServiceStub(channel)


def set_override(stub, key="k1", day="2026-11-09", working=False, reference="Keppres No. 9/2026",
                 description="Cuti bersama tambahan", metadata=ADMIN):
    return stub.SetCalendarOverride(pb.SetCalendarOverrideRequest(
        idempotency_key=key, date=day, working=working, reference=reference, description=description),
        metadata=metadata)


def remove_override(stub, key="r1", day="2026-11-09", reference="Keppres No. 10/2026", metadata=ADMIN):
    return stub.RemoveCalendarOverride(pb.RemoveCalendarOverrideRequest(
        idempotency_key=key, date=day, reference=reference), metadata=metadata)


def listed(stub, year=0, metadata=ADMIN):
    return [(o.date, o.working, o.reference) for o in
            stub.ListCalendarOverrides(pb.ListCalendarOverridesRequest(year=year), metadata=metadata).overrides]


def history(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT day, working, reference, set_by, removed_reference, removed_by "
                            "FROM sla.calendar_overrides ORDER BY id").fetchall()


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        call()
    return e.value


# -- setting, listing, removing -------------------------------------------------------------------
def test_a_day_off_by_decree_is_stored_listed_and_counted_at_once(stub, calendar):
    answer = set_override(stub)
    assert (answer.date, answer.working, answer.reference, answer.description, answer.set_by) == (
        "2026-11-09", False, "Keppres No. 9/2026", "Cuti bersama tambahan", "admin-1")
    assert answer.HasField("set_at")
    assert listed(stub) == [("2026-11-09", False, "Keppres No. 9/2026")]
    assert calendar.add_working_days(FRIDAY, 1, "Asia/Jakarta").date() == date(2026, 11, 10)


def test_a_process_analyst_may_declare_a_working_day(stub, calendar):
    answer = set_override(stub, day="2026-03-18", working=True, reference="SKB 3 Menteri No. 2/2026",
                          metadata=ANALYST)
    assert answer.working and answer.set_by == "analyst-1"
    assert calendar.add_working_days("2026-03-17T10:00:00+07:00", 1, "Asia/Jakarta").date() == date(2026, 3, 18)


def test_a_removed_override_is_kept_marked_removed_and_no_longer_counts(stub, calendar, database_url):
    set_override(stub)
    removed = remove_override(stub)
    assert (removed.date, removed.reference) == ("2026-11-09", "Keppres No. 9/2026")
    assert listed(stub) == []
    assert calendar.add_working_days(FRIDAY, 1, "Asia/Jakarta").date() == date(2026, 11, 9)
    assert history(database_url) == [
        (date(2026, 11, 9), False, "Keppres No. 9/2026", "admin-1", "Keppres No. 10/2026", "admin-1")]


def test_a_newer_decree_on_the_same_date_supersedes_the_older_and_both_are_kept(stub, database_url):
    set_override(stub, key="k1")
    set_override(stub, key="k2", working=True, reference="Keppres No. 11/2026", metadata=ANALYST)
    assert listed(stub) == [("2026-11-09", True, "Keppres No. 11/2026")]
    assert history(database_url) == [
        (date(2026, 11, 9), False, "Keppres No. 9/2026", "admin-1", "Keppres No. 11/2026", "analyst-1"),
        (date(2026, 11, 9), True, "Keppres No. 11/2026", "analyst-1", None, None)]


def test_removing_where_no_override_is_in_force_is_not_found(stub):
    assert refused(lambda: remove_override(stub)).code() == grpc.StatusCode.NOT_FOUND
    set_override(stub)
    remove_override(stub, key="r1")
    assert refused(lambda: remove_override(stub, key="r2")).code() == grpc.StatusCode.NOT_FOUND


def test_the_list_takes_a_year_or_every_year(stub):
    set_override(stub, key="a", day="2027-01-04")
    set_override(stub, key="b", day="2026-11-09")
    set_override(stub, key="c", day="2026-12-31")
    assert [d for d, _, _ in listed(stub)] == ["2026-11-09", "2026-12-31", "2027-01-04"]
    assert [d for d, _, _ in listed(stub, 2026)] == ["2026-11-09", "2026-12-31"]
    assert [d for d, _, _ in listed(stub, 2028)] == []


# -- who may ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("metadata", [caller("agency_admin", "a", "kab-tanah-bumbu"),
                                      caller("liaison_officer", "l", "kab-tanah-bumbu"),
                                      caller("reporter", "LAP-7K3QX9MA"), service_caller("intake")])
def test_only_national_administrators_and_process_analysts_may_keep_the_calendar(stub, metadata):
    set_override(stub, key="k1")
    for call in [lambda: set_override(stub, key="k2", metadata=metadata),
                 lambda: remove_override(stub, metadata=metadata),
                 lambda: listed(stub, metadata=metadata)]:
        assert refused(call).code() == grpc.StatusCode.PERMISSION_DENIED
    assert listed(stub) == [("2026-11-09", False, "Keppres No. 9/2026")]


def test_a_call_without_identity_is_unauthenticated(stub):
    assert refused(lambda: set_override(stub, metadata=[])).code() == grpc.StatusCode.UNAUTHENTICATED


# -- what is refused -------------------------------------------------------------------------------
@pytest.mark.parametrize("fields, field", [
    (dict(day=""), "date"),
    (dict(day="2026-02-30"), "date"),
    (dict(day="09-11-2026"), "date"),
    (dict(day="1999-11-09"), "date"),
    (dict(reference=""), "reference"),
    (dict(reference="   "), "reference"),
    (dict(reference="x" * 201), "reference"),
    (dict(description="x" * 1001), "description"),
    (dict(key=""), "idempotency_key"),
])
def test_a_bad_override_is_refused_naming_the_field(stub, fields, field):
    error = refused(lambda: set_override(stub, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(field)
    assert field_violation(error) == field


@pytest.mark.parametrize("fields, field", [
    (dict(day="2026-11-31"), "date"), (dict(reference=""), "reference"), (dict(key=""), "idempotency_key")])
def test_a_bad_removal_is_refused_naming_the_field(stub, fields, field):
    set_override(stub)
    error = refused(lambda: remove_override(stub, **fields))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith(field)


@pytest.mark.parametrize("year", [-1, 1999, 2101])
def test_a_bad_year_is_refused(stub, year):
    error = refused(lambda: listed(stub, year))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and error.details().startswith("year")


# -- repeats ---------------------------------------------------------------------------------------
def test_a_repeated_set_returns_the_first_answer_and_changes_nothing(stub, database_url):
    first = set_override(stub, key="k1")
    again = set_override(stub, key="k1", working=True, reference="Keppres No. 99/2026", metadata=ANALYST)
    assert again == first
    assert len(history(database_url)) == 1
    assert listed(stub) == [("2026-11-09", False, "Keppres No. 9/2026")]


def test_a_repeated_removal_returns_the_first_answer_and_changes_nothing(stub, database_url):
    set_override(stub, key="k1")
    first = remove_override(stub, key="r1")
    set_override(stub, key="k2", reference="Keppres No. 12/2026")
    assert remove_override(stub, key="r1") == first
    assert listed(stub) == [("2026-11-09", False, "Keppres No. 12/2026")]
    assert len(history(database_url)) == 2


# -- running calendars ------------------------------------------------------------------------------
def test_a_running_calendar_in_another_process_picks_up_a_new_override(stub, pool):
    replica = WorkingCalendar(StoredOverrides.from_pool(pool))  # as another sla replica would hold it
    unrefreshed = WorkingCalendar(StoredOverrides.from_pool(pool))
    refresher = CalendarRefresher(replica, poll_seconds=0.05)
    refresher.start()
    try:
        assert replica.add_working_days(FRIDAY, 1, "Asia/Jakarta").date() == date(2026, 11, 9)
        set_override(stub)
        deadline = time.monotonic() + 5
        while replica.add_working_days(FRIDAY, 1, "Asia/Jakarta").date() != date(2026, 11, 10):
            assert time.monotonic() < deadline, "the replica did not see the new override within 5 s"
            time.sleep(0.02)
        assert unrefreshed.add_working_days(FRIDAY, 1, "Asia/Jakarta").date() == date(2026, 11, 9)
        remove_override(stub)
        while replica.is_working_day(date(2026, 11, 9)) is False:
            assert time.monotonic() < deadline + 5, "the replica did not see the removal within 5 s"
            time.sleep(0.02)
    finally:
        refresher.stop()


# -- the command line on the database -----------------------------------------------------------------
def test_with_database_url_the_cli_applies_and_marks_the_overrides(stub, database_url, monkeypatch, capsys):
    set_override(stub, key="k1")
    set_override(stub, key="k2", day="2026-03-18", working=True, reference="SKB 3 Menteri No. 2/2026",
                 description="")
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert calendar_module.main(["due", "--from", FRIDAY, "--days", "1"]) == 0
    assert capsys.readouterr().out == "2026-11-10T23:59:59+07:00\n"
    assert calendar_module.main(["days", "--year", "2026"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "2026-11-09 Mon Cuti bersama tambahan [day off by Keppres No. 9/2026]" in lines
    assert "2026-03-18 Wed Cuti Bersama Hari Suci Nyepi [working day by SKB 3 Menteri No. 2/2026]" in lines
    assert "2026-03-19 Thu Hari Suci Nyepi" in lines


def test_the_cli_says_so_when_the_database_has_no_calendar(make_database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", make_database())
    assert calendar_module.main(["due", "--from", FRIDAY, "--days", "1"]) == 1
    assert "cannot read the calendar overrides from DATABASE_URL" in capsys.readouterr().err
