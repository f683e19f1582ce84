"""When a deadline is "due soon": the start of its last working day in its owner's time zone, by the
Indonesian working-day calendar with the overrides in force, as sla tells it in each Deadline
(due_soon_from) through a real gRPC server and PostgreSQL."""

from datetime import date, datetime, timedelta, timezone

import pytest

from services.sla import grpc_api
from services.sla.calendar import CalendarOverride, InMemoryOverrides, WorkingCalendar, deadline_zone
from services.sla.engine import Engine
from services.sla.service import SlaService
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc
from tests.sla.recording_caller import RecordingCaller
from tests.sla.test_grpc_api import INTAKE, forward
from tests.support import ROOT, caller

WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
ADMIN = caller("national_admin")


@pytest.fixture
def overrides():
    return InMemoryOverrides()


@pytest.fixture
def calendar(overrides):
    return WorkingCalendar(overrides)


@pytest.fixture
def recorder(clock):
    return RecordingCaller(clock)  # agencies in Asia/Makassar (WITA)


@pytest.fixture
def stub(serve, pool, clock, recorder, calendar):
    engine = Engine(calendar=calendar, caller=recorder, clock=clock)
    sla = SlaService(pool=pool, engine=engine, clock=clock, process_id="report_lifecycle", retry_base_seconds=60)
    sla.deploy_folder(ROOT / "bpmn")
    return sla_pb2_grpc.SlaServiceStub(serve("sla", grpc_api.register(sla)))


def start(stub, submitted_at: datetime):
    request = pb.StartCaseRequest(event_id="intake:1", tracking_id="LAP-TEST0001", category="infrastruktur",
                                  region_code="6310")
    request.submitted_at.FromDatetime(submitted_at)
    return stub.StartCase(request, metadata=INTAKE)


def deadline(stub, name: str) -> pb.Deadline:
    case = stub.GetCase(pb.GetCaseRequest(tracking_id="LAP-TEST0001"), metadata=ADMIN)
    [found] = [d for d in case.deadlines if d.name == name and d.state == "open"]
    return found


def moments(d: pb.Deadline) -> tuple[datetime, datetime]:
    return d.due_at.ToDatetime(tzinfo=timezone.utc), d.due_soon_from.ToDatetime(tzinfo=timezone.utc)


def day_off(overrides, calendar, day: date) -> None:
    """A decree makes `day` a day off after the deadline was counted; the calendar picks it up as its
    refresher would."""
    overrides.put(CalendarOverride(day=day, working=False, reference="SKB 3 Menteri No. 1/2026"))
    assert calendar.refresh()


def test_a_friday_verification_deadline_is_due_soon_from_friday_midnight_in_jakarta(stub, clock):
    clock.set(datetime(2026, 11, 3, 10, 0, tzinfo=WIB))  # a Tuesday
    start(stub, datetime(2026, 11, 3, 10, 0, tzinfo=WIB))
    due_at, soon = moments(deadline(stub, "verification_overdue"))
    assert due_at == datetime(2026, 11, 6, 23, 59, 59, tzinfo=WIB)  # Friday
    assert soon == datetime(2026, 11, 6, 0, 0, tzinfo=WIB)


def test_an_agencys_friday_deadline_is_due_soon_in_the_agencys_zone_and_a_new_day_off_moves_it(
        stub, clock, overrides, calendar):
    clock.set(datetime(2026, 11, 6, 10, 0, tzinfo=WIB))  # forwarded on a Friday
    start(stub, datetime(2026, 11, 6, 10, 0, tzinfo=WIB))
    forward(stub)
    follow_up = deadline(stub, "follow_up_overdue")
    due_at, soon = moments(follow_up)
    assert follow_up.owner == "kab-tanah-bumbu-dinas-pupr"
    assert due_at == datetime(2026, 11, 13, 23, 59, 59, tzinfo=WITA)  # five working days on: Friday
    assert soon == datetime(2026, 11, 13, 0, 0, tzinfo=WITA)  # Friday 00:00 WITA, not WIB
    day_off(overrides, calendar, date(2026, 11, 13))
    assert moments(deadline(stub, "follow_up_overdue")) == (due_at, datetime(2026, 11, 12, 0, 0, tzinfo=WITA))


def test_the_national_holidays_and_the_overrides_are_skipped_back_to_the_last_working_day(
        stub, clock, overrides, calendar):
    clock.set(datetime(2026, 12, 22, 10, 0, tzinfo=WIB))  # Tuesday before Christmas (24th, 25th off)
    start(stub, datetime(2026, 12, 22, 10, 0, tzinfo=WIB))
    due_at, soon = moments(deadline(stub, "verification_overdue"))
    assert due_at == datetime(2026, 12, 29, 23, 59, 59, tzinfo=WIB)  # Wed 23, Mon 28, Tue 29
    assert soon == datetime(2026, 12, 29, 0, 0, tzinfo=WIB)
    day_off(overrides, calendar, date(2026, 12, 29))
    day_off(overrides, calendar, date(2026, 12, 28))
    # Monday and Tuesday off, Christmas and the weekend before: the last working day is Wednesday the 23rd
    assert moments(deadline(stub, "verification_overdue")) == (due_at, datetime(2026, 12, 23, 0, 0, tzinfo=WIB))


def test_every_answer_with_a_case_tells_when_its_deadlines_are_due_soon(stub, clock):
    clock.set(datetime(2026, 11, 3, 10, 0, tzinfo=WIB))
    started = start(stub, datetime(2026, 11, 3, 10, 0, tzinfo=WIB)).case
    assert [d.due_soon_from.ToDatetime(tzinfo=timezone.utc) for d in started.deadlines] == [
        datetime(2026, 11, 6, 0, 0, tzinfo=WIB)]
    forwarded = forward(stub).case
    assert all(d.HasField("due_soon_from") for d in forwarded.deadlines)


@pytest.mark.parametrize("owner, due_at, zone", [
    ("national", datetime(2026, 11, 6, 23, 59, 59, tzinfo=WIB), "Asia/Jakarta"),
    ("national", datetime(2026, 11, 6, 23, 59, 59, tzinfo=WITA), "Asia/Jakarta"),  # national: Jakarta always
    ("kab-tanah-bumbu-dinas-pupr", datetime(2026, 11, 6, 23, 59, 59, tzinfo=WITA), "Asia/Makassar"),
    ("kota-jayapura", datetime(2026, 11, 6, 23, 59, 59, tzinfo=timezone(timedelta(hours=9))), "Asia/Jayapura"),
    ("", datetime(2026, 11, 6, 23, 59, 59, tzinfo=WITA), "Asia/Makassar"),  # an expiry counted in WITA
    ("kota-jayapura", datetime(2026, 11, 6, 12, 0, tzinfo=WIB), "Asia/Jakarta"),  # no day's end anywhere
])
def test_a_deadlines_zone_is_its_owners(owner, due_at, zone):
    assert deadline_zone(owner, due_at) == zone
