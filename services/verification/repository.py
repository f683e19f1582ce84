"""SQL of the verification schema. Every function takes an open connection."""

from datetime import datetime

from services.verification.domain import (ArchiveReason, Decision, DecisionRequest, Outcome, QueueItem,
                                          QueueStatus)

_DECISION_COLUMNS = ("id", "tracking_id", "outcome", "reason", "category", "agency_id", "duplicate_of", "decided_by",
                     "decided_at", "archive_reason", "title", "anonymous", "confidential")
# The latest decision on queue item q, as columns named d_<column>: one index probe (decisions_by_report).
_LAST_DECISION = (
    "LEFT JOIN LATERAL (SELECT " + ", ".join(f"d.{c} AS d_{c}" for c in _DECISION_COLUMNS) +
    " FROM verification.decisions d WHERE d.tracking_id = q.tracking_id ORDER BY d.id DESC LIMIT 1) last ON true")


def _decision(row, prefix: str = "") -> Decision:
    def col(name):
        return row[prefix + name]

    return Decision(str(col("id")), col("tracking_id"), Outcome(col("outcome")), col("reason"), col("category"),
                    col("agency_id"), col("duplicate_of"), col("decided_by"), col("decided_at"),
                    ArchiveReason(col("archive_reason")) if col("archive_reason") else None, col("title"),
                    col("anonymous"), col("confidential"))


def _item(row) -> QueueItem:
    last = _decision(row, "d_") if row.get("d_id") is not None else None
    return QueueItem(row["tracking_id"], row["submitted_at"], row["due_at"], QueueStatus(row["status"]),
                     row["enqueued_at"], last)


def get_item(conn, tracking_id: str, *, for_update: bool = False) -> QueueItem | None:
    """The queue item with its latest decision."""
    if for_update:  # the lock is on the queue row; the latest decision is read under it
        row = conn.execute("SELECT tracking_id FROM verification.queue WHERE tracking_id = %s FOR UPDATE",
                           (tracking_id,)).fetchone()
        if row is None:
            return None
    row = conn.execute(f"SELECT q.*, last.* FROM verification.queue q {_LAST_DECISION} WHERE q.tracking_id = %s",
                       (tracking_id,)).fetchone()
    return _item(row) if row else None


def lock_items(conn, tracking_ids: list[str]) -> None:
    """Locks the queue rows of `tracking_ids` in one order, so that two decisions naming the same two
    reports (A a duplicate of B, B of A) wait for each other instead of both passing their checks."""
    conn.execute("SELECT 1 FROM verification.queue WHERE tracking_id = ANY(%s) ORDER BY tracking_id FOR UPDATE",
                 (sorted(set(tracking_ids)),))


def put_item(conn, *, tracking_id: str, submitted_at: datetime, due_at: datetime, enqueued_at: datetime,
             key: str) -> None:
    """Puts a report (back) in the queue as pending."""
    conn.execute(
        "INSERT INTO verification.queue (tracking_id, submitted_at, due_at, status, enqueued_at, enqueue_key) "
        "VALUES (%s, %s, %s, 'pending', %s, %s) ON CONFLICT (tracking_id) DO UPDATE SET "
        "due_at = EXCLUDED.due_at, status = 'pending', enqueued_at = EXCLUDED.enqueued_at, "
        "enqueue_key = EXCLUDED.enqueue_key",
        (tracking_id, submitted_at, due_at, enqueued_at, key),
    )


def item_by_enqueue_key(conn, key: str) -> QueueItem | None:
    row = conn.execute(f"SELECT q.*, last.* FROM verification.queue q {_LAST_DECISION} WHERE q.enqueue_key = %s",
                       (key,)).fetchone()
    return _item(row) if row else None


def set_status(conn, tracking_id: str, status: QueueStatus) -> None:
    conn.execute("UPDATE verification.queue SET status = %s WHERE tracking_id = %s", (status.value, tracking_id))


def open_items(conn, limit: int, status: QueueStatus | None = None,
               after: tuple[datetime, str] | None = None) -> list[QueueItem]:
    """Pending and held reports (or those of one `status`), earliest deadline first (then by tracking id),
    from the first after the position `after` (due_at, tracking_id), each with its latest decision. Read
    along queue_open_by_due."""
    where = "q.status <> 'decided'" + (" AND q.status = %(status)s" if status else "")
    if after is not None:
        where += " AND (q.due_at, q.tracking_id) > (%(due_at)s, %(tracking_id)s)"
    rows = conn.execute(
        f"SELECT q.*, last.* FROM (SELECT * FROM verification.queue q WHERE {where} "
        f"ORDER BY q.due_at, q.tracking_id LIMIT %(limit)s) q {_LAST_DECISION} ORDER BY q.due_at, q.tracking_id",
        {"limit": limit, "status": status.value if status else None, "due_at": after[0] if after else None,
         "tracking_id": after[1] if after else None}).fetchall()
    return [_item(r) for r in rows]


def decisions(conn, tracking_id: str) -> list[Decision]:
    rows = conn.execute("SELECT * FROM verification.decisions WHERE tracking_id = %s ORDER BY id",
                        (tracking_id,)).fetchall()
    return [_decision(r) for r in rows]


def duplicates_of(conn, tracking_id: str) -> list[str]:
    """The reports whose latest decision marks them duplicates of `tracking_id`."""
    rows = conn.execute(
        "SELECT d.tracking_id FROM verification.decisions d WHERE d.outcome = 'duplicate' AND d.duplicate_of = %s "
        "AND NOT EXISTS (SELECT FROM verification.decisions later WHERE later.tracking_id = d.tracking_id "
        "AND later.id > d.id) ORDER BY d.id", (tracking_id,)).fetchall()
    return [r["tracking_id"] for r in rows]


def decision_by_key(conn, key: str) -> Decision | None:
    row = conn.execute("SELECT * FROM verification.decisions WHERE idempotency_key = %s", (key,)).fetchone()
    return _decision(row) if row else None


def add_decision(conn, *, key: str, request: DecisionRequest, decided_by: str, decided_at: datetime) -> Decision:
    row = conn.execute(
        "INSERT INTO verification.decisions (idempotency_key, tracking_id, outcome, reason, category, agency_id, "
        "duplicate_of, decided_by, decided_at, archive_reason, title, anonymous, confidential) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (key, request.tracking_id, request.outcome.value, request.reason, request.category, request.agency_id,
         request.duplicate_of, decided_by, decided_at,
         request.archive_reason.value if request.archive_reason else None, request.title,
         bool(request.anonymous), bool(request.confidential)),
    ).fetchone()
    return _decision(row)
