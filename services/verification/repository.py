"""SQL of the verification schema. Every function takes an open connection."""

from datetime import datetime

from services.verification.domain import Decision, Outcome, QueueItem, QueueStatus


def _item(row) -> QueueItem:
    return QueueItem(row["tracking_id"], row["submitted_at"], row["due_at"], QueueStatus(row["status"]),
                     row["enqueued_at"])


def _decision(row) -> Decision:
    return Decision(str(row["id"]), row["tracking_id"], Outcome(row["outcome"]), row["reason"], row["category"],
                    row["agency_id"], row["duplicate_of"], row["decided_by"], row["decided_at"])


def get_item(conn, tracking_id: str, *, for_update: bool = False) -> QueueItem | None:
    sql = "SELECT * FROM verification.queue WHERE tracking_id = %s" + (" FOR UPDATE" if for_update else "")
    row = conn.execute(sql, (tracking_id,)).fetchone()
    return _item(row) if row else None


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
    row = conn.execute("SELECT * FROM verification.queue WHERE enqueue_key = %s", (key,)).fetchone()
    return _item(row) if row else None


def set_status(conn, tracking_id: str, status: QueueStatus) -> None:
    conn.execute("UPDATE verification.queue SET status = %s WHERE tracking_id = %s", (status.value, tracking_id))


def open_items(conn, limit: int) -> list[QueueItem]:
    rows = conn.execute(
        "SELECT * FROM verification.queue WHERE status <> 'decided' ORDER BY due_at, tracking_id LIMIT %s",
        (limit,)).fetchall()
    return [_item(r) for r in rows]


def decision_by_key(conn, key: str) -> Decision | None:
    row = conn.execute("SELECT * FROM verification.decisions WHERE idempotency_key = %s", (key,)).fetchone()
    return _decision(row) if row else None


def add_decision(conn, *, key: str, request, decided_by: str, decided_at: datetime) -> Decision:
    row = conn.execute(
        "INSERT INTO verification.decisions (idempotency_key, tracking_id, outcome, reason, category, agency_id, "
        "duplicate_of, decided_by, decided_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (key, request.tracking_id, request.outcome.value, request.reason, request.category, request.agency_id,
         request.duplicate_of, decided_by, decided_at),
    ).fetchone()
    return _decision(row)
