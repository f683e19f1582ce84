"""The verification queue and decisions, through a real gRPC server and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest

from services.verification import grpc_api
from services.verification.service import VerificationService
from sp4n.verification.v1 import verification_pb2 as pb
from sp4n.verification.v1 import verification_pb2_grpc
from tests.support import caller, field_violation, service_caller

SLA = service_caller("sla")
ADMIN = caller("national_admin", "admin-1")
T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def stub(serve, pool, clock):
    channel = serve("verification", grpc_api.register(VerificationService(pool=pool, clock=clock)))
    return verification_pb2_grpc.VerificationServiceStub(channel)


def enqueue(stub, tracking_id="LAP-AAAA0001", key=None, due=T0 + timedelta(days=3)):
    request = pb.EnqueueReportRequest(idempotency_key=key or f"enq-{tracking_id}", tracking_id=tracking_id)
    request.submitted_at.FromDatetime(T0)
    request.due_at.FromDatetime(due)
    return stub.EnqueueReport(request, metadata=SLA)


def outbox_rows(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT kind, tracking_id, payload FROM verification.outbox ORDER BY id").fetchall()


def test_the_queue_lists_open_reports_earliest_deadline_first(stub):
    enqueue(stub, "LAP-AAAA0002", due=T0 + timedelta(days=5))
    enqueue(stub, "LAP-AAAA0001", due=T0 + timedelta(days=3))
    items = stub.ListQueue(pb.ListQueueRequest(), metadata=ADMIN).items
    assert [i.tracking_id for i in items] == ["LAP-AAAA0001", "LAP-AAAA0002"]
    assert all(i.status == pb.QUEUE_STATUS_PENDING for i in items)


def test_a_decision_is_recorded_with_an_event_for_the_process(stub, database_url):
    enqueue(stub)
    decision = stub.DecideReport(pb.DecideReportRequest(
        idempotency_key="d1", tracking_id="LAP-AAAA0001", outcome=pb.OUTCOME_FORWARD, category="infrastruktur"),
        metadata=ADMIN)
    assert decision.decided_by == "admin-1"
    assert stub.ListQueue(pb.ListQueueRequest(), metadata=ADMIN).items == []
    [(kind, tracking_id, payload)] = outbox_rows(database_url)
    assert (kind, tracking_id, payload["outcome"], payload["category"]) == (
        "verification_decided", "LAP-AAAA0001", "forward", "infrastruktur")


def test_a_repeated_idempotency_key_returns_the_first_decision_and_changes_nothing(stub, database_url):
    enqueue(stub)
    request = pb.DecideReportRequest(idempotency_key="d1", tracking_id="LAP-AAAA0001", outcome=pb.OUTCOME_HOLD,
                                     reason="menunggu data")
    first = stub.DecideReport(request, metadata=ADMIN)
    again = stub.DecideReport(request, metadata=ADMIN)
    assert again == first
    assert len(outbox_rows(database_url)) == 1


def test_a_held_report_stays_in_the_queue_and_can_be_decided_later(stub):
    enqueue(stub)
    stub.DecideReport(pb.DecideReportRequest(idempotency_key="d1", tracking_id="LAP-AAAA0001",
                                             outcome=pb.OUTCOME_HOLD, reason="menunggu"), metadata=ADMIN)
    [item] = stub.ListQueue(pb.ListQueueRequest(), metadata=ADMIN).items
    assert item.status == pb.QUEUE_STATUS_ON_HOLD
    stub.DecideReport(pb.DecideReportRequest(idempotency_key="d2", tracking_id="LAP-AAAA0001",
                                             outcome=pb.OUTCOME_FORWARD), metadata=ADMIN)


def test_a_decided_report_refuses_a_second_decision(stub):
    enqueue(stub)
    stub.DecideReport(pb.DecideReportRequest(idempotency_key="d1", tracking_id="LAP-AAAA0001",
                                             outcome=pb.OUTCOME_FORWARD), metadata=ADMIN)
    with pytest.raises(grpc.RpcError) as e:
        stub.DecideReport(pb.DecideReportRequest(idempotency_key="d2", tracking_id="LAP-AAAA0001",
                                                 outcome=pb.OUTCOME_ARCHIVE, reason="x"), metadata=ADMIN)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("request_fields, field", [
    (dict(outcome=pb.OUTCOME_UNSPECIFIED), "outcome"),
    (dict(outcome=pb.OUTCOME_ARCHIVE), "reason"),
    (dict(outcome=pb.OUTCOME_DUPLICATE), "duplicate_of"),
    (dict(outcome=pb.OUTCOME_DUPLICATE, duplicate_of="LAP-AAAA0001"), "duplicate_of"),
    (dict(outcome=pb.OUTCOME_FORWARD, tracking_id="not a tracking id"), "tracking_id"),
    (dict(outcome=pb.OUTCOME_FORWARD, idempotency_key=""), "idempotency_key"),
])
def test_bad_decisions_name_the_field_and_write_nothing(stub, database_url, request_fields, field):
    enqueue(stub)
    fields = dict(idempotency_key="d1", tracking_id="LAP-AAAA0001") | request_fields
    with pytest.raises(grpc.RpcError) as e:
        stub.DecideReport(pb.DecideReportRequest(**fields), metadata=ADMIN)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field
    assert outbox_rows(database_url) == []


def test_only_national_administrators_decide_and_only_sla_enqueues(stub):
    enqueue(stub)
    for metadata, call in [
        (caller("liaison_officer", "lo-1", "agency-1"),
         lambda md: stub.DecideReport(pb.DecideReportRequest(idempotency_key="d", tracking_id="LAP-AAAA0001",
                                                             outcome=pb.OUTCOME_FORWARD), metadata=md)),
        (ADMIN, lambda md: enqueue_as(stub, md)),
        (service_caller("intake"), lambda md: enqueue_as(stub, md)),
    ]:
        with pytest.raises(grpc.RpcError) as e:
            call(metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def enqueue_as(stub, metadata):
    request = pb.EnqueueReportRequest(idempotency_key="x", tracking_id="LAP-AAAA0009")
    request.submitted_at.FromDatetime(T0)
    request.due_at.FromDatetime(T0)
    return stub.EnqueueReport(request, metadata=metadata)


def test_calls_without_a_valid_identity_are_refused(stub):
    for metadata in [(), [("x-sp4n-caller", "forged.token")], caller("national_admin")[:0]]:
        with pytest.raises(grpc.RpcError) as e:
            stub.ListQueue(pb.ListQueueRequest(), metadata=metadata)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
