"""Reports submitted at about the same time are stored in one transaction (group commit), and each
still gets what it would have got alone: its own report, a repeat its first report, a fault its own."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import psycopg
import pytest

from services.intake import account_repository, grpc_api
from services.intake.service import IntakeService
from services.plumbing import db
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from tests.intake.reports import PORTAL, SLA, T0, report_request, row_counts, verify

CALLS = 8  # the test server's gRPC threads: all of them busy at once


@pytest.fixture
def stub(serve, pool, clock):
    """An intake server whose reports are stored by one connection at a time, so that those that come
    while it writes wait for the next transaction."""
    clock.set(T0)
    return intake_pb2_grpc.IntakeServiceStub(
        serve("intake", grpc_api.register(IntakeService(pool=pool, clock=clock, writers=1))))


class ReportsLocked:
    """Holds intake.reports locked against inserts until `release()`: the first writer waits in its
    INSERT, and the submissions after it queue behind it."""

    def __init__(self, database_url):
        self.conn = psycopg.connect(database_url)
        self.conn.execute("LOCK TABLE intake.reports IN SHARE MODE")

    def waiting(self) -> bool:
        return self.conn.execute("SELECT count(*) FROM pg_locks WHERE relation = 'intake.reports'::regclass "
                                 "AND NOT granted").fetchone()[0] > 0

    def release(self) -> None:
        self.conn.commit()
        self.conn.close()


def submit_while_locked(stub, database_url, requests: list[pb.SubmitReportRequest]) -> list:
    """Submits the first request, waits until its INSERT waits for the lock, submits the rest, then
    lifts the lock; each answer, or the error it raised, in the order of `requests`."""
    lock = ReportsLocked(database_url)
    with ThreadPoolExecutor(len(requests)) as calls:
        def call(request):
            try:
                return stub.SubmitReport(request, metadata=PORTAL, timeout=30)
            except grpc.RpcError as e:
                return e

        first = calls.submit(call, requests[0])
        deadline = time.monotonic() + 10
        while not lock.waiting():
            assert time.monotonic() < deadline, "the first submission never reached its INSERT"
            time.sleep(0.01)
        rest = [calls.submit(call, r) for r in requests[1:]]
        time.sleep(0.3)  # every one of them queued
        lock.release()
        return [first.result(30), *(f.result(30) for f in rest)]


def transactions(database_url) -> int:
    """How many transactions wrote the reports (the rows' xmin)."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(DISTINCT xmin::text) FROM intake.reports").fetchone()[0]


def test_reports_that_come_while_one_is_stored_share_one_transaction(stub, database_url):
    answers = submit_while_locked(stub, database_url, [report_request(f"web-{n}") for n in range(CALLS)])
    assert len({a.tracking_id for a in answers}) == CALLS and all(a.access_code for a in answers)
    assert row_counts(database_url) == {"reports": CALLS, "reporters": CALLS, "timeline": CALLS, "outbox": CALLS}
    assert transactions(database_url) == 2  # the first alone, the seven that queued behind it together
    for answer in answers:
        assert verify(stub, answer.tracking_id, answer.access_code).tracking_id == answer.tracking_id
        report = stub.GetReport(pb.GetReportRequest(tracking_id=answer.tracking_id), metadata=SLA)
        assert [e.kind for e in report.timeline] == ["submitted"]


def test_a_key_repeated_in_one_batch_is_one_report_with_the_later_code(stub, database_url):
    repeated = report_request("sms-9", channel="sms")
    first, *repeats = submit_while_locked(stub, database_url, [report_request("web-0"), repeated, repeated])
    a, b = repeats
    assert a.tracking_id == b.tracking_id != first.tracking_id
    assert row_counts(database_url) == {"reports": 2, "reporters": 2, "timeline": 2, "outbox": 2}
    # One stored the report, the other found it and gave it its own code: the code handed out last holds.
    valid = []
    for answer in repeats:
        try:
            verify(stub, answer.tracking_id, answer.access_code)
            valid.append(answer)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(valid) == 1


def test_a_report_that_spoils_the_transaction_fails_alone(stub, database_url, monkeypatch):
    # An account that passes the check but is gone by the time of the INSERT (its foreign key fails).
    monkeypatch.setattr(account_repository, "account_exists", lambda conn, number: True)
    requests = [report_request(f"web-{n}") for n in range(CALLS)]
    requests[4] = report_request("web-gone", account_id="account:999999")
    answers = submit_while_locked(stub, database_url, requests)
    failed = answers.pop(4)
    assert isinstance(failed, grpc.RpcError) and failed.code() == grpc.StatusCode.INTERNAL
    assert all(isinstance(a, pb.SubmitReportResponse) and a.tracking_id for a in answers)
    assert row_counts(database_url) == {"reports": CALLS - 1, "reporters": CALLS - 1, "timeline": CALLS - 1,
                                        "outbox": CALLS - 1}


def test_a_database_that_is_gone_fails_every_report_of_the_batch_and_stores_none(serve, database_url, clock):
    """UNAVAILABLE for each, which callers retry: nothing stored in part."""
    pool = db.open_pool(database_url, name="doomed", size=2)
    clock.set(T0)
    stub = intake_pb2_grpc.IntakeServiceStub(
        serve("intake", grpc_api.register(IntakeService(pool=pool, clock=clock, writers=1))))
    lock = ReportsLocked(database_url)

    def kill_then_unlock():
        kill_backends(database_url, "sp4n-doomed")
        lock.release()

    killer = threading.Timer(0.5, kill_then_unlock)
    killer.start()
    try:
        with ThreadPoolExecutor(4) as calls:
            answers = list(calls.map(lambda n: failed_code(stub, report_request(f"web-{n}")), range(4)))
    finally:
        killer.join()
        pool.close()
    assert grpc.StatusCode.UNAVAILABLE in answers
    assert all(code in (grpc.StatusCode.UNAVAILABLE, None) for code in answers)
    stored = row_counts(database_url)
    assert stored["reports"] == stored["reporters"] == stored["timeline"] == stored["outbox"] == answers.count(None)


def failed_code(stub, request) -> grpc.StatusCode | None:
    try:
        stub.SubmitReport(request, metadata=PORTAL, timeout=30)
        return None
    except grpc.RpcError as e:
        return e.code()


def kill_backends(database_url, application_name) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                     (application_name,))
