"""sla through a real gRPC server and PostgreSQL, with the other services recorded."""

import threading
from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest
from google.protobuf import struct_pb2

from services.sla import grpc_api, repository
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine
from services.sla.service import SlaService
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc
from tests.sla.recording_caller import RecordingCaller
from tests.support import ROOT, caller, service_caller

INTAKE = service_caller("intake")
VERIFICATION = service_caller("verification")
WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)

AWAITING_AGENCY = ["agency_declined", "agency_dispatched", "follow_up_posted"]  # a follow-up, a decline, a dispatch


@pytest.fixture
def recorder(clock):
    clock.set(MONDAY)
    return RecordingCaller(clock)


@pytest.fixture
def service(pool, clock, recorder):
    engine = Engine(calendar=WorkingCalendar(), caller=recorder, clock=clock)
    sla = SlaService(pool=pool, engine=engine, clock=clock, process_id="report_lifecycle",
                     retry_base_seconds=60)
    sla.deploy_folder(ROOT / "bpmn")
    return sla


@pytest.fixture
def stub(serve, service):
    return sla_pb2_grpc.SlaServiceStub(serve("sla", grpc_api.register(service)))


def start(stub, tracking_id="LAP-TEST0001", event_id="intake:1", suggested_agency_id=""):
    request = pb.StartCaseRequest(event_id=event_id, tracking_id=tracking_id, category="infrastruktur",
                                  region_code="6310", suggested_agency_id=suggested_agency_id)
    request.submitted_at.FromDatetime(MONDAY)
    return stub.StartCase(request, metadata=INTAKE)


def signal(stub, message, event_id, metadata=VERIFICATION, tracking_id="LAP-TEST0001", **payload):
    struct = struct_pb2.Struct()
    struct.update(payload)
    return stub.SignalCase(pb.SignalCaseRequest(event_id=event_id, tracking_id=tracking_id, message_name=message,
                                                payload=struct), metadata=metadata)


def forward(stub, event_id="verification:1"):
    return signal(stub, "verification_decided", event_id, outcome="forward", decided_at=MONDAY.isoformat(),
                  reason="", category="", agency_id="", duplicate_of="")


def test_the_reporters_suggested_agency_reaches_routing_beside_the_administrators_choice(stub, recorder):
    start(stub, suggested_agency_id="kota-banjarmasin")
    signal(stub, "verification_decided", "verification:1", outcome="forward", decided_at=MONDAY.isoformat(),
           reason="", category="", agency_id="kementerian-pupr", duplicate_of="")
    [params] = [p for op, p, _ in recorder.calls if op == "routing/AssignReport"]
    assert (params["suggested_agency_id"], params["preferred_agency_id"]) == ("kota-banjarmasin", "kementerian-pupr")


def test_starting_a_case_runs_it_to_its_first_wait_and_stores_its_deadline(stub, recorder):
    response = start(stub)
    assert not response.repeated_event
    assert response.case.status == "running"
    assert list(response.case.waiting_for) == ["verification_decided"]
    # The earliest timer is the reminder at the start of the last working day (Thursday 00:00 WIB) ...
    assert response.case.next_due_at.ToDatetime(tzinfo=timezone.utc) == datetime(2026, 11, 4, 17, 0,
                                                                                   tzinfo=timezone.utc)
    # ... and the deadline itself, owned by the national administrators, ends Thursday 23:59:59 WIB.
    [deadline] = response.case.deadlines
    assert (deadline.name, deadline.owner, deadline.state) == ("verification_overdue", "national", "open")
    assert deadline.due_at.ToDatetime(tzinfo=timezone.utc) == datetime(2026, 11, 5, 16, 59, 59, tzinfo=timezone.utc)
    assert response.case.stage == "await_decision"
    assert len(response.case.process_version) == 64
    assert recorder.notifications() == [("received", "reporter")]


def test_a_repeated_start_event_changes_nothing(stub, recorder):
    start(stub)
    again = start(stub)
    assert again.repeated_event
    assert recorder.notifications() == [("received", "reporter")]


def test_an_event_moves_the_case_and_a_repeat_changes_nothing(stub, recorder):
    start(stub)
    first = forward(stub)
    assert list(first.case.waiting_for) == AWAITING_AGENCY
    calls = len(recorder.calls)
    again = forward(stub)
    assert again.repeated_event and len(recorder.calls) == calls


def test_an_event_the_case_does_not_wait_for_is_recorded_and_refused(stub, database_url):
    start(stub)
    with pytest.raises(grpc.RpcError) as e:
        signal(stub, "reply_posted", "intake:9", metadata=INTAKE, posted_at=MONDAY.isoformat())
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "not waiting for reply_posted" in e.value.details()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT outcome FROM sla.events WHERE event_id = 'intake:9'").fetchone() == ("refused",)


def test_an_event_before_its_reports_process_is_sent_again_later_and_then_taken(stub, database_url):
    """Two outboxes deliver on their own: a decision may come before intake's start. It is refused as
    UNAVAILABLE (the producer's relay retries) and not recorded, so the retry is not taken for a repeat."""
    with pytest.raises(grpc.RpcError) as e:
        forward(stub)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE and "send the event again later" in e.value.details()
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM sla.events WHERE event_id = 'verification:1'").fetchone() == (0,)
    start(stub)
    answer = forward(stub)
    assert not answer.repeated_event and list(answer.case.waiting_for) == AWAITING_AGENCY


def test_only_the_producer_of_an_event_may_send_it(stub):
    start(stub)
    for metadata in [INTAKE, caller("national_admin")]:
        with pytest.raises(grpc.RpcError) as e:
            signal(stub, "verification_decided", "x:1", metadata=metadata, outcome="forward")
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    request = pb.StartCaseRequest(event_id="v:1", tracking_id="LAP-TEST0002")
    request.submitted_at.FromDatetime(MONDAY)
    with pytest.raises(grpc.RpcError) as e:
        stub.StartCase(request, metadata=VERIFICATION)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("fields, field", [
    (dict(event_id=""), "event_id"),
    (dict(tracking_id="lap 1"), "tracking_id"),
    (dict(message_name="unknown"), "message_name"),
])
def test_bad_events_are_refused_naming_the_field(stub, fields, field):
    request = pb.SignalCaseRequest(**(dict(event_id="e:1", tracking_id="LAP-TEST0001",
                                           message_name="reply_posted") | fields))
    with pytest.raises(grpc.RpcError) as e:
        stub.SignalCase(request, metadata=INTAKE)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().startswith(field)


def test_the_timer_worker_fires_each_due_timer_once_with_workers_side_by_side(stub, service, recorder, clock):
    for n in range(6):
        start(stub, tracking_id=f"LAP-TEST000{n}", event_id=f"intake:{n}")
    clock.advance(timedelta(days=4))  # past the verification deadline of every case
    threads = [threading.Thread(target=service.fire_due) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    escalations = [p["tracking_id"] for op, p, _ in recorder.calls if p.get("event") == "deadline_missed"]
    assert sorted(escalations) == [f"LAP-TEST000{n}" for n in range(6)]
    assert service.fire_due() == 0


def due_rows(database_url, clock):
    with psycopg.connect(database_url) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT tracking_id, state, coalesce(next_due_at <= %s, false) FROM sla.instances", (clock.now(),))}


def escalation_keys(recorder, tracking_id):
    return [key for op, p, key in recorder.calls if p.get("event") == "deadline_missed"
            and p.get("tracking_id") == tracking_id]


def test_due_timers_are_claimed_and_fired_several_to_a_transaction(stub, service, recorder, clock, monkeypatch):
    for n in range(4):
        start(stub, tracking_id=f"LAP-TEST000{n}", event_id=f"intake:{n}")
    clock.advance(timedelta(days=4))
    claim_due, claimed = repository.claim_due, []
    monkeypatch.setattr(repository, "claim_due", lambda *a, **kw: claimed.append(claim_due(*a, **kw)) or claimed[-1])
    assert service.fire_due(batch=3) == 4
    assert [len(rows) for rows in claimed] == [3, 1, 0]  # each claim one transaction, committed once
    assert all(escalation_keys(recorder, f"LAP-TEST000{n}") for n in range(4))


def test_an_instance_whose_run_raises_is_rolled_back_alone_and_runs_again_later(stub, service, recorder, clock,
                                                                                database_url, monkeypatch):
    for n in range(3):
        start(stub, tracking_id=f"LAP-TEST000{n}", event_id=f"intake:{n}")
    clock.advance(timedelta(days=4))
    before = due_rows(database_url, clock)
    open_deadlines = repository.open_deadlines

    def failing_for_one(conn, tracking_id):  # raises once the instance's new state is written in the transaction
        if tracking_id == "LAP-TEST0001":
            raise RuntimeError("lost")
        return open_deadlines(conn, tracking_id)

    monkeypatch.setattr(repository, "open_deadlines", failing_for_one)
    assert service.fire_due() == 2
    assert service.fire_due() == 0  # left due for the next tick: claimed again, raising again
    after = due_rows(database_url, clock)
    assert after["LAP-TEST0001"] == before["LAP-TEST0001"]  # its write rolled back with its savepoint
    assert [after[t][1] for t in ("LAP-TEST0000", "LAP-TEST0002")] == [False, False]  # the others fired, kept
    [first] = escalation_keys(recorder, "LAP-TEST0001")[:1]

    monkeypatch.setattr(repository, "open_deadlines", open_deadlines)
    assert service.fire_due() == 1
    assert set(escalation_keys(recorder, "LAP-TEST0001")) == {first}  # the same call again: idempotent
    assert [d.state for d in get(stub, "LAP-TEST0001").deadlines] == ["breached"]


def test_a_failed_service_task_is_retried_with_back_off(stub, service, recorder, clock):
    start(stub)
    recorder.failing.add("routing/AssignReport")
    response = forward(stub)
    assert response.case.status == "failed"
    assert list(response.case.failed_tasks) == ["assign_agency"]
    recorder.failing.clear()
    assert service.fire_due() == 0  # the back-off (60 s here) has not passed
    clock.advance(timedelta(seconds=61))
    assert service.fire_due() == 1
    case = stub.GetCase(pb.GetCaseRequest(tracking_id="LAP-TEST0001"), metadata=INTAKE)
    assert (case.status, list(case.waiting_for)) == ("running", AWAITING_AGENCY)


def get(stub, tracking_id="LAP-TEST0001"):
    return stub.GetCase(pb.GetCaseRequest(tracking_id=tracking_id), metadata=INTAKE)


def test_a_deadline_met_in_time_is_recorded_as_met(stub, clock):
    start(stub)
    clock.advance(timedelta(days=1))
    forward(stub)
    [verification] = [d for d in get(stub).deadlines if d.name == "verification_overdue"]
    assert (verification.state, verification.owner, verification.late_seconds) == ("met", "national", 0)
    assert abs(verification.met_at.ToDatetime(tzinfo=timezone.utc) - clock.now()) < timedelta(seconds=5)


def test_a_breach_is_recorded_with_whose_deadline_and_how_late(stub, service, clock, database_url):
    start(stub)
    clock.advance(timedelta(days=4))  # Friday 6 Nov, 10:00 WIB: past Thursday 23:59:59
    service.fire_due()
    [breached] = [d for d in get(stub).deadlines if d.name == "verification_overdue"]
    assert breached.state == "breached" and not breached.HasField("met_at")
    assert 10 * 3600 - 60 < breached.late_seconds < 10 * 3600 + 60  # and counting
    forward(stub)  # decided at last, 10 hours late
    [met_late] = [d for d in get(stub).deadlines if d.name == "verification_overdue"]
    assert met_late.state == "breached" and met_late.HasField("met_at")
    assert abs(met_late.late_seconds - (10 * 3600 + 1)) < 60
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT name, owner, breached_at IS NOT NULL, met_at IS NOT NULL FROM sla.deadlines "
                            "WHERE tracking_id = 'LAP-TEST0001' ORDER BY started_at").fetchall()
    assert rows == [("verification_overdue", "national", True, True),
                    ("follow_up_overdue", "kab-tanah-bumbu-dinas-pupr", False, False)]


def test_the_case_tells_its_stage_and_the_history_of_its_stages(stub, clock):
    start(stub)
    clock.advance(timedelta(hours=2))
    forward(stub)
    case = get(stub)
    assert case.stage == "await_follow_up"
    assert [h.stage for h in case.history] == ["await_decision", "await_follow_up"]
    entered = [h.entered_at.ToDatetime(tzinfo=timezone.utc) for h in case.history]
    assert entered[1] - entered[0] >= timedelta(hours=2)


def test_a_reply_after_closure_is_refused(stub, service, clock):
    start(stub)
    forward(stub)
    signal(stub, "follow_up_posted", "intake:2", metadata=INTAKE, posted_at=clock.now().isoformat(), entry_id="1",
           agency_id="kab-tanah-bumbu-dinas-pupr")
    clock.advance(timedelta(days=20))
    service.fire_due()
    assert get(stub).status == "completed"
    with pytest.raises(grpc.RpcError) as e:
        signal(stub, "reply_posted", "intake:3", metadata=INTAKE, posted_at=clock.now().isoformat())
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "it waits for nothing (it has finished)" in e.value.details()


def test_an_instances_state_is_stored_compressed_with_lz4_where_the_server_has_it(stub, database_url):
    """Migration 006: lz4 costs a third of pglz's CPU at every step's save (a server without it keeps pglz)."""
    start(stub)
    with psycopg.connect(database_url, autocommit=True) as conn:
        try:
            conn.execute("CREATE TEMPORARY TABLE lz4_probe (x text COMPRESSION lz4)")
        except psycopg.errors.FeatureNotSupported:
            pytest.skip("this PostgreSQL was built without lz4")
        assert conn.execute("SELECT pg_column_compression(state) FROM sla.instances "
                            "WHERE tracking_id = 'LAP-TEST0001'").fetchone() == ("lz4",)
