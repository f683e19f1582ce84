"""Verification use cases. Each owns its transaction."""

from datetime import datetime

from psycopg_pool import ConnectionPool

from services.plumbing import identity, outbox
from services.plumbing.clock import Clock
from services.plumbing.errors import InvalidArgument, NotFound
from services.plumbing.identifiers import check_idempotency_key
from services.verification import repository
from services.verification.domain import (ARCHIVE_REASONS, DECIDED_EVENT, ArchiveReasonLabel, Decision,
                                          DecisionRequest, Outcome, QueueItem, QueueItemDetail, QueueStatus,
                                          check_decision, check_original, check_tracking_id, ensure_waiting,
                                          queue_page_token, queue_position, status_after)

SCHEMA = "verification"
DEFAULT_QUEUE_PAGE, MAX_QUEUE_PAGE = 50, 500


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

    def queue(self, *, caller: identity.Caller, limit: int, status: QueueStatus | None = None,
              page_token: str = "") -> tuple[list[QueueItem], str]:
        """A page of the open queue (or of its pending or held part), earliest deadline first, each report with
        its latest decision, from after the position `page_token` names; and the token of the next page ('':
        this is the last)."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        if limit < 0:
            raise InvalidArgument("limit", "must not be negative")
        if status is QueueStatus.DECIDED:
            raise InvalidArgument("status", "must be pending or on hold: decided reports are not in the queue")
        after = queue_position(page_token) if page_token else None
        size = min(limit or DEFAULT_QUEUE_PAGE, MAX_QUEUE_PAGE)
        with self.pool.connection() as conn:
            items = repository.open_items(conn, size + 1, status, after)
        return items[:size], queue_page_token(items[size - 1]) if len(items) > size else ""

    def item(self, *, caller: identity.Caller, tracking_id: str) -> QueueItemDetail:
        """A report's place in verification: its queue item, the decisions taken on it, its duplicates."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn, conn.transaction():
            item = repository.get_item(conn, tracking_id)
            if item is None:
                raise NotFound(f"report {tracking_id} is not in the verification queue")
            return QueueItemDetail(item, tuple(repository.decisions(conn, tracking_id)),
                                   tuple(repository.duplicates_of(conn, tracking_id)))

    def archive_reasons(self, *, caller: identity.Caller) -> tuple[ArchiveReasonLabel, ...]:
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        return ARCHIVE_REASONS

    def decide(self, *, caller: identity.Caller, key: str, request: DecisionRequest) -> Decision:
        """Records an administrator's decision and tells the report's process. A refused decision changes
        nothing; a repeated key returns the first decision."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_idempotency_key(key)
        request = check_decision(request)
        with self.pool.connection() as conn, conn.transaction():
            repository.lock_items(conn, [request.tracking_id, request.duplicate_of])
            if (earlier := repository.decision_by_key(conn, key)) is not None:
                return earlier
            item = repository.get_item(conn, request.tracking_id)
            if item is None:
                raise NotFound(f"report {request.tracking_id} is not in the verification queue")
            ensure_waiting(item, item.last_decision)
            if request.outcome is Outcome.DUPLICATE:
                original = repository.get_item(conn, request.duplicate_of)
                check_original(request.duplicate_of, original, original.last_decision if original else None)
            decision = repository.add_decision(conn, key=key, request=request, decided_by=caller.subject,
                                               decided_at=self.clock.now())
            repository.set_status(conn, request.tracking_id, status_after(request.outcome))
            outbox.add(conn, SCHEMA, kind=DECIDED_EVENT, tracking_id=request.tracking_id,
                       payload=decision.event_payload())
            return decision
