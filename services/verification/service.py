"""Verification use cases. Each owns its transaction."""

from datetime import datetime

from psycopg_pool import ConnectionPool

from services.plumbing import identity, outbox
from services.plumbing.clock import Clock
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.errors import FailedPrecondition, NotFound
from services.verification import repository
from services.verification.domain import (DECIDED_EVENT, Decision, DecisionRequest, QueueItem, QueueStatus,
                                          check_decision, check_tracking_id, status_after)

SCHEMA = "verification"


class VerificationService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock):
        self.pool = pool
        self.clock = clock

    def enqueue(self, *, caller: identity.Caller, key: str, tracking_id: str, submitted_at: datetime,
                due_at: datetime) -> QueueItem:
        """Puts a report in the queue for a decision (the lifecycle process does this)."""
        identity.require_service(caller, "sla")
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"verification:{tracking_id}",))
            if (item := repository.item_by_enqueue_key(conn, key)) is not None:
                return item
            repository.put_item(conn, tracking_id=tracking_id, submitted_at=submitted_at, due_at=due_at,
                                enqueued_at=self.clock.now(), key=key)
            return repository.get_item(conn, tracking_id)

    def queue(self, *, caller: identity.Caller, limit: int) -> list[QueueItem]:
        """The open queue, earliest deadline first."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        with self.pool.connection() as conn:
            return repository.open_items(conn, max(1, min(limit or 50, 500)))

    def decide(self, *, caller: identity.Caller, key: str, request: DecisionRequest) -> Decision:
        """Records an administrator's decision and tells the report's process."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_idempotency_key(key)
        check_decision(request)
        with self.pool.connection() as conn, conn.transaction():
            item = repository.get_item(conn, request.tracking_id, for_update=True)
            if (earlier := repository.decision_by_key(conn, key)) is not None:
                return earlier
            if item is None:
                raise NotFound(f"report {request.tracking_id} is not in the verification queue")
            if item.status is QueueStatus.DECIDED:
                raise FailedPrecondition(f"report {request.tracking_id} is not waiting for a decision")
            decision = repository.add_decision(conn, key=key, request=request, decided_by=caller.subject,
                                               decided_at=self.clock.now())
            repository.set_status(conn, request.tracking_id, status_after(request.outcome))
            outbox.add(conn, SCHEMA, kind=DECIDED_EVENT, tracking_id=request.tracking_id,
                       payload=decision.event_payload())
            return decision
