"""The outbox relay delivers in order per report, retries failures, gives up on refusals."""

import threading
from datetime import datetime, timezone

import grpc
import pytest

from services.plumbing import outbox

SCHEMA = "verification"  # any schema with an outbox


def add(pool, tracking_id, n):
    with pool.connection() as conn, conn.transaction():
        outbox.add(conn, SCHEMA, kind="verification_decided", tracking_id=tracking_id, payload={"n": n})


def test_events_are_delivered_once_each_reports_in_order_with_their_event_ids(pool):
    for n, tracking_id in enumerate(["LAP-A", "LAP-B", "LAP-A"]):
        add(pool, tracking_id, n)
    delivered = []
    relay = outbox.OutboxRelay(pool=pool, schema=SCHEMA, deliver=delivered.append)
    assert relay.run_once() == 3
    assert relay.run_once() == 0
    # Each report's events in order (the reports' lanes may interleave)
    assert [(e.tracking_id, e.payload["n"]) for e in delivered if e.tracking_id == "LAP-A"] == [("LAP-A", 0), ("LAP-A", 2)]
    assert sorted(e.event_id for e in delivered) == ["verification:1", "verification:2", "verification:3"]
    with pool.connection() as conn:
        assert outbox.pending_count(conn, SCHEMA) == 0


def test_a_failed_delivery_holds_back_later_events_of_the_same_report_only(pool):
    for n, tracking_id in enumerate(["LAP-A", "LAP-B", "LAP-A"]):
        add(pool, tracking_id, n)
    delivered = []

    def deliver(event):
        if event.tracking_id == "LAP-A":
            raise ConnectionError("sla is down")
        delivered.append(event.payload["n"])

    relay = outbox.OutboxRelay(pool=pool, schema=SCHEMA, deliver=deliver)
    assert relay.run_once() == 1
    assert delivered == [1]
    with pool.connection() as conn:
        rows = conn.execute(f"SELECT id, attempts, last_error FROM {SCHEMA}.outbox WHERE delivered_at IS NULL "
                            "ORDER BY id").fetchall()
    assert [(r["id"], r["attempts"]) for r in rows] == [(1, 1), (3, 0)]
    assert rows[0]["last_error"] == "sla is down"


def test_an_event_the_receiver_refuses_for_good_is_not_retried(pool):
    add(pool, "LAP-A", 0)

    def deliver(event):
        raise outbox.RejectedEvent("FAILED_PRECONDITION: not waiting")

    relay = outbox.OutboxRelay(pool=pool, schema=SCHEMA, deliver=deliver)
    assert relay.run_once() == 1
    with pool.connection() as conn:
        row = conn.execute(f"SELECT outcome, last_error FROM {SCHEMA}.outbox").fetchone()
    assert (row["outcome"], row["last_error"]) == ("rejected", "FAILED_PRECONDITION: not waiting")


def test_an_unavailable_receiver_ends_the_round_and_pauses_the_relay_without_losing_events(pool, monkeypatch):
    for n, tracking_id in enumerate(["LAP-A", "LAP-B", "LAP-C"]):
        add(pool, tracking_id, n)
    attempts, delivered = [], []
    down = True

    def deliver(event):
        attempts.append(event.payload["n"])
        if down:
            raise outbox.ReceiverUnavailable("UNAVAILABLE: sla is down")
        delivered.append(event.payload["n"])

    now = [1000.0]
    monkeypatch.setattr(outbox.time, "monotonic", lambda: now[0])
    relay = outbox.OutboxRelay(pool=pool, schema=SCHEMA, deliver=deliver, poll_seconds=1.0)
    assert relay.run_once() == 0
    assert attempts == [0]  # the others were not tried against a receiver that is down
    with pool.connection() as conn:
        assert outbox.pending_count(conn, SCHEMA) == 3
    now[0] += 0.5
    assert relay.run_once() == 0 and attempts == [0]  # paused: not even a query
    down = False
    now[0] += 0.6
    with pool.connection() as conn, conn.transaction():  # the first event's back-off is over
        conn.execute(f"UPDATE {SCHEMA}.outbox SET next_attempt_at = now()")
    assert relay.run_once() == 3
    assert delivered == [0, 1, 2]


def test_reports_are_delivered_side_by_side_and_each_reports_events_in_order(pool):
    for n, tracking_id in enumerate(["LAP-A", "LAP-B", "LAP-A", "LAP-C", "LAP-B", "LAP-A"]):
        add(pool, tracking_id, n)
    # Every report's first delivery waits until three are in flight at once: one lane would never get there.
    in_flight = threading.Barrier(3, timeout=10)
    delivered, lock = [], threading.Lock()

    def deliver(event):
        if event.payload["n"] in (0, 1, 3):  # the first event of A, B and C
            in_flight.wait()
        with lock:
            delivered.append((event.tracking_id, event.payload["n"]))

    relay = outbox.OutboxRelay(pool=pool, schema=SCHEMA, deliver=deliver, concurrency=3)
    try:
        assert relay.run_once() == 6
    finally:
        relay.stop()
    for tracking_id, order in [("LAP-A", [0, 2, 5]), ("LAP-B", [1, 4]), ("LAP-C", [3])]:
        assert [n for t, n in delivered if t == tracking_id] == order
    with pool.connection() as conn:
        assert outbox.pending_count(conn, SCHEMA) == 0


def test_the_grpc_codes_of_a_receiver_that_is_down_are_told_from_refusals():
    class Down(grpc.RpcError):
        def __init__(self, code):
            self._code = code

        def code(self):
            return self._code

        def details(self):
            return "no"

    class FailingSla:
        def __init__(self, code):
            self.code = code

        def SignalCase(self, request, timeout):
            raise Down(self.code)

    event = outbox.OutboxEvent("verification:1", "verification_decided", "LAP-A", {}, datetime.now(timezone.utc))
    for code, raised in [(grpc.StatusCode.UNAVAILABLE, outbox.ReceiverUnavailable),
                         (grpc.StatusCode.DEADLINE_EXCEEDED, outbox.ReceiverUnavailable),
                         (grpc.StatusCode.FAILED_PRECONDITION, outbox.RejectedEvent),
                         (grpc.StatusCode.INTERNAL, Down)]:
        with pytest.raises(raised):
            outbox.to_sla(FailingSla(code))(event)


class RecordingSla:
    def __init__(self):
        self.started = []

    def StartCase(self, request, timeout):
        self.started.append(request)


def test_a_submitted_report_starts_its_case_with_what_routing_will_need():
    sla = RecordingSla()
    event = outbox.OutboxEvent(event_id="intake:7", tracking_id="LAP-AAAA0001", kind=outbox.START_CASE, payload={
        "submitted_at": "2026-11-02T03:00:00+00:00", "category": "infrastruktur", "region_code": "6310",
        "suggested_agency_id": "kab-tanah-bumbu-dinas-pupr"}, created_at=datetime(2026, 11, 2, tzinfo=timezone.utc))
    outbox.to_sla(sla)(event)
    [request] = sla.started
    assert (request.event_id, request.tracking_id, request.category, request.region_code,
            request.suggested_agency_id) == ("intake:7", "LAP-AAAA0001", "infrastruktur", "6310",
                                             "kab-tanah-bumbu-dinas-pupr")
    assert request.submitted_at.ToDatetime(tzinfo=timezone.utc) == datetime(2026, 11, 2, 3, tzinfo=timezone.utc)
