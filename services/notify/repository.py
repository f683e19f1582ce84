"""SQL of the notify schema. Every function takes an open connection."""

from collections.abc import Iterable
from datetime import datetime

from services.notify.domain import Channel, Notification, Recipient, Status

WAKE_CHANNEL = "notify_delivery"  # NOTIFY channel that wakes the delivery worker


def _notification(row) -> Notification:
    return Notification(str(row["id"]), row["tracking_id"], row["event"], Recipient(row["recipient"]),
                        row["agency_id"], Channel(row["channel"]), row["language"], row["subject"], row["body"],
                        Status(row["status"]), row["attempts"], row["created_at"], row["sent_at"],
                        row["last_error"], row["next_attempt_at"], row["resends"], row["resent_by"],
                        row["resent_at"])


def get(conn, notification_id: int) -> Notification | None:
    row = conn.execute("SELECT * FROM notify.notifications WHERE id = %s", (notification_id,)).fetchone()
    return _notification(row) if row else None


def by_key(conn, key: str) -> Notification | None:
    row = conn.execute("SELECT * FROM notify.notifications WHERE idempotency_key = %s", (key,)).fetchone()
    return _notification(row) if row else None


def for_event(conn, *, tracking_id: str, event: str, recipient: Recipient, agency_id: str,
              params_digest: str) -> Notification | None:
    """The notification already made for this occurrence of the event and recipient: its in-app one first."""
    row = conn.execute(
        "SELECT * FROM notify.notifications WHERE tracking_id = %s AND event = %s AND recipient = %s "
        "AND agency_id = %s AND params_digest = %s ORDER BY (channel = 'in_app') DESC, id LIMIT 1",
        (tracking_id, event, recipient.value, agency_id, params_digest),
    ).fetchone()
    return _notification(row) if row else None


def for_report(conn, tracking_id: str) -> list[Notification]:
    rows = conn.execute("SELECT * FROM notify.notifications WHERE tracking_id = %s ORDER BY id",
                        (tracking_id,)).fetchall()
    return [_notification(r) for r in rows]


def inbox(conn, *, recipient: Recipient, agency_id: str | None, before_id: int | None,
          limit: int) -> list[Notification]:
    """In-app notifications to `recipient` (of `agency_id` when given), newest first, older than
    `before_id` when given."""
    rows = conn.execute(
        "SELECT * FROM notify.notifications WHERE channel = 'in_app' AND recipient = %s "
        "AND (%s::text IS NULL OR agency_id = %s) AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        (recipient.value, agency_id, agency_id, before_id, before_id, limit),
    ).fetchall()
    return [_notification(r) for r in rows]


def dead_letters(conn, *, channel: Channel | None, before_id: int | None, limit: int) -> list[Notification]:
    """Notifications given up on, newest first, older than `before_id` when given."""
    rows = conn.execute(
        "SELECT * FROM notify.notifications WHERE status = 'failed' AND (%s::text IS NULL OR channel = %s) "
        "AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        (channel and channel.value, channel and channel.value, before_id, before_id, limit),
    ).fetchall()
    return [_notification(r) for r in rows]


def by_resend_key(conn, key: str) -> Notification | None:
    row = conn.execute("SELECT * FROM notify.notifications WHERE resend_key = %s", (key,)).fetchone()
    return _notification(row) if row else None


def lock(conn, notification_id: int) -> Notification | None:
    row = conn.execute("SELECT * FROM notify.notifications WHERE id = %s FOR UPDATE", (notification_id,)).fetchone()
    return _notification(row) if row else None


def resend(conn, notification_id: int, *, key: str, by: str, now: datetime) -> Notification:
    """Puts a dead letter back in the outbox for a first attempt, due now. The error that killed it is
    kept in last_error until the next attempt replaces it."""
    row = conn.execute(
        "UPDATE notify.notifications SET status = 'pending', attempts = 0, next_attempt_at = %s, "
        "resends = resends + 1, resent_by = %s, resent_at = %s, resend_key = %s "
        "WHERE id = %s AND status = 'failed' RETURNING *",
        (now, by, now, key, notification_id),
    ).fetchone()
    return _notification(row)


def add(conn, *, key: str | None, tracking_id: str, event: str, recipient: Recipient, agency_id: str,
        params_digest: str, channel: Channel, language: str, subject: str, body: str, status: Status,
        created_at: datetime, next_attempt_at: datetime | None = None, sent_at: datetime | None = None,
        attempts: int = 0) -> Notification:
    row = conn.execute(
        "INSERT INTO notify.notifications (idempotency_key, tracking_id, event, recipient, agency_id, "
        "params_digest, channel, language, subject, body, status, attempts, created_at, next_attempt_at, sent_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (key, tracking_id, event, recipient.value, agency_id, params_digest, channel.value, language, subject, body,
         status.value, attempts, created_at, next_attempt_at, sent_at),
    ).fetchone()
    return _notification(row)


def wake_delivery(conn) -> None:
    """Wakes the delivery worker when the transaction commits."""
    conn.execute("SELECT pg_notify(%s, '')", (WAKE_CHANNEL,))


# Delivery over e-mail, SMS and X: `channels` are those the worker can send on.

def _values(channels: Iterable[Channel]) -> list[str]:
    return [c.value for c in channels]


def claim_due(conn, *, channels: Iterable[Channel], now: datetime, claim_until: datetime,
              limit: int) -> list[tuple[int, int]]:
    """Claims due pending notifications for one attempt each: counts the attempt and keeps other workers
    off them until `claim_until`. Returns (id, attempts) pairs."""
    rows = conn.execute(
        "WITH due AS (SELECT id FROM notify.notifications WHERE channel = ANY(%s) AND status = 'pending' "
        "AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
        "UPDATE notify.notifications n SET attempts = n.attempts + 1, next_attempt_at = %s FROM due "
        "WHERE n.id = due.id RETURNING n.id, n.attempts",
        (_values(channels), now, limit, claim_until),
    ).fetchall()
    return sorted((r["id"], r["attempts"]) for r in rows)


def mark_sending(conn, notification_id: int, *, attempts: int, lease_until: datetime) -> bool:
    """Records that the claimed attempt is about to hand the message over. False when the claim
    was lost (another worker took the notification after this one's claim ran out)."""
    row = conn.execute(
        "UPDATE notify.notifications SET status = 'sending', next_attempt_at = %s "
        "WHERE id = %s AND status = 'pending' AND attempts = %s RETURNING id",
        (lease_until, notification_id, attempts),
    ).fetchone()
    return row is not None


# The outcome of an attempt is recorded only while the notification is still on that attempt
# (`attempts`): a worker whose claim ran out and was taken over does not overwrite the newer one.

def mark_sent(conn, notification_id: int, *, attempts: int, sent_at: datetime) -> None:
    conn.execute(
        "UPDATE notify.notifications SET status = 'sent', sent_at = %s, next_attempt_at = NULL, last_error = '' "
        "WHERE id = %s AND attempts = %s",
        (sent_at, notification_id, attempts),
    )


def mark_retry(conn, notification_id: int, *, attempts: int, error: str, next_attempt_at: datetime,
               only_if_pending: bool = False) -> None:
    conn.execute(
        "UPDATE notify.notifications SET status = 'pending', last_error = %s, next_attempt_at = %s "
        "WHERE id = %s AND attempts = %s AND (status = 'pending' OR NOT %s)",
        (error[:2000], next_attempt_at, notification_id, attempts, only_if_pending),
    )


def mark_failed(conn, notification_id: int, *, attempts: int, error: str, only_if_pending: bool = False) -> None:
    conn.execute(
        "UPDATE notify.notifications SET status = 'failed', last_error = %s, next_attempt_at = NULL "
        "WHERE id = %s AND attempts = %s AND (status = 'pending' OR NOT %s)",
        (error[:2000], notification_id, attempts, only_if_pending),
    )


def fail_abandoned(conn, *, channels: Iterable[Channel], now: datetime, max_attempts: int) -> list[int]:
    """Gives up on notifications whose last allowed attempt was claimed and never finished."""
    rows = conn.execute(
        "UPDATE notify.notifications SET status = 'failed', next_attempt_at = NULL, "
        "last_error = 'gave up after ' || attempts || ' attempts; the last one was abandoned. ' || last_error "
        "WHERE channel = ANY(%s) AND status = 'pending' AND attempts >= %s AND next_attempt_at <= %s RETURNING id",
        (_values(channels), max_attempts, now),
    ).fetchall()
    return [r["id"] for r in rows]


def fail_interrupted(conn, *, channels: Iterable[Channel], now: datetime, error: str) -> list[int]:
    """Gives up on notifications whose sending lease ran out: the worker stopped while handing them over."""
    rows = conn.execute(
        "UPDATE notify.notifications SET status = 'failed', last_error = %s, next_attempt_at = NULL "
        "WHERE channel = ANY(%s) AND status = 'sending' AND next_attempt_at <= %s RETURNING id",
        (error, _values(channels), now),
    ).fetchall()
    return [r["id"] for r in rows]


OUTSTANDING = (Status.PENDING, Status.SENDING, Status.FAILED)


def count_outstanding(conn) -> dict[str, int]:
    """Notifications not delivered, by status: pending, sending, and failed (the dead letters)."""
    counts = {status.value: 0 for status in OUTSTANDING}
    for row in conn.execute("SELECT status, count(*) AS n FROM notify.notifications WHERE status = ANY(%s) "
                            "GROUP BY status", ([s.value for s in OUTSTANDING],)):
        counts[row["status"]] = row["n"]
    return counts
