"""Transactional outbox: events written with the change they announce, delivered by a relay.

A producer calls `add()` inside its own transaction. The relay delivers pending events,
one relay at a time per schema (an advisory lock elects it), and marks each delivered.
Each report's events go in order; the events of several reports go at once (a lane per
report, `concurrency` lanes), as each waits for the receiver's whole step. A failed
delivery is retried with back-off; later events of the same report wait behind it so
that a process sees them in order. The outbox row id, prefixed by the schema, is the
event id: the receiver ignores a repeat.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import grpc
from google.protobuf import struct_pb2, timestamp_pb2
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from services.plumbing import request_ids
from services.plumbing.background import BackgroundWorker
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc

log = logging.getLogger(__name__)

START_CASE = "start_case"  # the kind of event that starts a report's process


@dataclass(frozen=True)
class OutboxEvent:
    event_id: str
    kind: str
    tracking_id: str
    payload: dict
    created_at: datetime


class RejectedEvent(Exception):
    """The receiver refused the event for good (it will never accept it): stop retrying."""


class ReceiverUnavailable(Exception):
    """The receiver cannot be reached or did not answer in time: every event would fail as this one
    did, so the relay retries later instead of trying the rest now."""


def add(conn, schema: str, *, kind: str, tracking_id: str, payload: dict) -> int:
    """Writes an event in the caller's transaction and wakes the relay at commit."""
    row = conn.execute(
        f'WITH event AS (INSERT INTO "{schema}".outbox (kind, tracking_id, payload) VALUES (%s, %s, %s) RETURNING id) '
        "SELECT id, pg_notify(%s, '') FROM event",
        (kind, tracking_id, Jsonb(payload), wake_channel(schema)),
    ).fetchone()
    return row["id"] if isinstance(row, dict) else row[0]


def wake_channel(schema: str) -> str:
    """The channel a schema's relay listens on for new events."""
    return f"{schema}_outbox"


def add_for_each(schema: str, source: str, *, kind: str = "%(outbox_kind)s",
                 payload: str = "%(outbox_payload)s") -> str:
    """A data-modifying CTE body that writes an event for every row of the CTE `source` (a column
    tracking_id) and wakes the relay at commit, for a statement that writes the event with its change.
    `kind` and `payload` are SQL: by default the parameters %(outbox_kind)s and %(outbox_payload)s (a
    Jsonb), or columns of `source`. Its other parameter: %(outbox_channel)s (wake_channel)."""
    return (f'INSERT INTO "{schema}".outbox (kind, tracking_id, payload) '
            f"SELECT {kind}, tracking_id, {payload} FROM {source} "
            "RETURNING id, pg_notify(%(outbox_channel)s, '')")


def pending_count(conn, schema: str) -> int:
    row = conn.execute(f'SELECT count(*) AS n FROM "{schema}".outbox WHERE delivered_at IS NULL').fetchone()
    return row["n"] if isinstance(row, dict) else row[0]


class OutboxRelay(BackgroundWorker):
    """Delivers a schema's outbox events through `deliver`, in a background thread."""

    def __init__(self, *, pool: ConnectionPool, schema: str, deliver: Callable[[OutboxEvent], None],
                 poll_seconds: float = 1.0, batch: int = 200, max_backoff_seconds: float = 300.0,
                 concurrency: int = 1):
        super().__init__(name=f"outbox-{schema}", poll_seconds=poll_seconds, pool=pool,
                         wake_channel=wake_channel(schema))
        self.pool = pool
        self.schema = schema
        self.deliver = deliver
        self.batch = batch
        self.max_backoff_seconds = max_backoff_seconds
        self._resume_at = 0.0  # time.monotonic() before which the receiver is taken to be unavailable
        self._lanes = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"outbox-{schema}")

    def run_once(self) -> int:
        """Delivers one batch of due events; returns how many it delivered or gave up on. Each report's
        events go in order, in a lane of their own; up to `concurrency` lanes at once, so that one
        report's slow step does not hold up the others. After the receiver was found unavailable it
        does nothing (not even a query) for `poll_seconds`: the new events that keep waking it then
        cost nothing until the receiver may be back."""
        if time.monotonic() < self._resume_at:
            return 0
        with self.pool.connection() as conn, conn.transaction():
            elected = conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s)) AS ok",
                                   (f"sp4n-outbox:{self.schema}",)).fetchone()
            if not elected["ok"]:
                return 0
            rows = conn.execute(
                f'SELECT id, kind, tracking_id, payload, created_at, attempts, next_attempt_at <= now() AS due '
                f'FROM "{self.schema}".outbox WHERE delivered_at IS NULL ORDER BY id LIMIT %s',
                (self.batch,),
            ).fetchall()
            lanes: dict[str, list[dict]] = {}
            for row in rows:
                lanes.setdefault(row["tracking_id"], []).append(row)
            unavailable = threading.Event()
            # The lanes share the round's connection: psycopg lets one statement run on it at a time,
            # and the deliveries, which take the time, run side by side.
            done = sum(self._lanes.map(lambda lane: self._deliver_lane(conn, lane, unavailable), lanes.values()))
            if unavailable.is_set():
                self._resume_at = time.monotonic() + self.poll_seconds
        return done

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._lanes.shutdown(wait=False, cancel_futures=True)

    def _deliver_lane(self, conn, rows: list[dict], unavailable: threading.Event) -> int:
        """Delivers one report's events in order until one is waiting for its back-off or fails (the
        rest wait behind it, so that the process sees them in order); how many it settled."""
        done = 0
        for row in rows:
            if unavailable.is_set() or not row["due"]:
                break
            event = OutboxEvent(f"{self.schema}:{row['id']}", row["kind"], row["tracking_id"],
                                row["payload"], row["created_at"])
            try:
                with request_ids.bound():  # the event's delivery, and what it causes in sla
                    self.deliver(event)
                self._mark(conn, row["id"], "delivered", None)
                done += 1
            except RejectedEvent as e:
                log.warning("event %s refused by its receiver: %s", event.event_id, e)
                self._mark(conn, row["id"], "rejected", str(e))
                done += 1
            except Exception as e:  # a receiver down or failing: retry later, in order
                backoff = min(self.max_backoff_seconds, 0.5 * 2 ** row["attempts"])
                conn.execute(
                    f'UPDATE "{self.schema}".outbox SET attempts = attempts + 1, last_error = %s, '
                    "next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s",
                    (str(e)[:2000], backoff, row["id"]),
                )
                log.warning("delivering event %s failed (attempt %d): %s", event.event_id, row["attempts"] + 1, e)
                if isinstance(e, ReceiverUnavailable):
                    unavailable.set()
                break
        return done

    def _mark(self, conn, row_id: int, outcome: str, error: str | None) -> None:
        conn.execute(
            f'UPDATE "{self.schema}".outbox SET delivered_at = now(), outcome = %s, last_error = %s, '
            "attempts = attempts + 1 WHERE id = %s",
            (outcome, error, row_id),
        )


_REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.PERMISSION_DENIED}
_UNAVAILABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


def to_sla(stub: sla_pb2_grpc.SlaServiceStub, timeout: float = 30.0) -> Callable[[OutboxEvent], None]:
    """A `deliver` function that hands events to `sla`: a start_case event starts the report's
    process, any other kind is the name of a message the process waits for."""

    def deliver(event: OutboxEvent) -> None:
        occurred = timestamp_pb2.Timestamp()
        occurred.FromDatetime(event.created_at)
        try:
            if event.kind == START_CASE:
                submitted = timestamp_pb2.Timestamp()
                submitted.FromJsonString(event.payload["submitted_at"])
                stub.StartCase(sla_pb2.StartCaseRequest(
                    event_id=event.event_id, tracking_id=event.tracking_id, submitted_at=submitted,
                    category=event.payload.get("category", ""), region_code=event.payload.get("region_code", ""),
                    suggested_agency_id=event.payload.get("suggested_agency_id", ""),
                ), timeout=timeout)
            else:
                payload = struct_pb2.Struct()
                payload.update(event.payload)
                stub.SignalCase(sla_pb2.SignalCaseRequest(
                    event_id=event.event_id, tracking_id=event.tracking_id, message_name=event.kind,
                    payload=payload, occurred_at=occurred,
                ), timeout=timeout)
        except grpc.RpcError as e:
            if e.code() in _REFUSED:
                raise RejectedEvent(f"{e.code().name}: {e.details()}") from None
            if e.code() in _UNAVAILABLE:
                raise ReceiverUnavailable(f"{e.code().name}: {e.details()}") from None
            raise

    return deliver
