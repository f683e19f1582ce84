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


def earlier(conn, *, key: str, tracking_id: str, event: str, recipient: Recipient, agency_id: str,
            params_digest: str) -> Notification | None:
    """The notification already made for request `key`, else for this occurrence of the event and
    recipient (its in-app one first): one query for both."""
    row = conn.execute(
        "SELECT * FROM notify.notifications WHERE idempotency_key = %s OR (tracking_id = %s AND event = %s "
        "AND recipient = %s AND agency_id = %s AND params_digest = %s) "
        "ORDER BY (idempotency_key IS NOT DISTINCT FROM %s) DESC, (channel = 'in_app') DESC, id LIMIT 1",
        (key, tracking_id, event, recipient.value, agency_id, params_digest, key),
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


# The queued rows are made from the in-app row inserted, so there are none when it conflicted: the
# request stores all or nothing, with no transaction to roll back. pg_notify() runs for each queued row
# stored, and PostgreSQL sends one NOTIFY per transaction for the same channel and payload.
_ADD = (
    "WITH in_app AS (INSERT INTO notify.notifications (idempotency_key, tracking_id, event, recipient, agency_id, "
    "params_digest, channel, language, subject, body, status, attempts, created_at, sent_at) "
    "VALUES (%(key)s, %(tracking_id)s, %(event)s, %(recipient)s, %(agency_id)s, %(params_digest)s, 'in_app', "
    "%(language)s, %(subject)s, %(body)s, 'sent', 1, %(now)s, %(now)s) ON CONFLICT DO NOTHING RETURNING *), "
    "queued AS (INSERT INTO notify.notifications (tracking_id, event, recipient, agency_id, params_digest, channel, "
    "language, subject, body, status, attempts, created_at, next_attempt_at) "
    "SELECT a.tracking_id, a.event, a.recipient, a.agency_id, a.params_digest, q.channel, a.language, a.subject, "
    "q.body, 'pending', 0, a.created_at, a.created_at "
    "FROM in_app a, unnest(%(channels)s::text[], %(bodies)s::text[]) AS q(channel, body) "
    "ON CONFLICT DO NOTHING RETURNING pg_notify(%(wake)s, '')) "
    "SELECT * FROM in_app")


def add(conn, *, key: str, tracking_id: str, event: str, recipient: Recipient, agency_id: str, params_digest: str,
        language: str, subject: str, body: str, queued: dict[Channel, str], now: datetime) -> Notification | None:
    """Stores a request's notifications in one statement, all or none: the in-app one, carrying `key`,
    as sent (storing it delivers it), then one pending for each channel of `queued` (channel: body), due
    `now`, waking the delivery worker at commit. None is stored, and None returned, when the in-app one
    would repeat one already there (the same key, or the same event, recipient, agency and params): the
    unique constraints decide, and a request racing an identical one waits for it to commit, then
    stores nothing. Returns the in-app notification stored."""
    row = conn.execute(_ADD, {
        "key": key, "tracking_id": tracking_id, "event": event, "recipient": recipient.value, "agency_id": agency_id,
        "params_digest": params_digest, "language": language, "subject": subject, "body": body, "now": now,
        "channels": [c.value for c in queued], "bodies": list(queued.values()), "wake": WAKE_CHANNEL}).fetchone()
    return _notification(row) if row else None


def wake_delivery(conn) -> None:
    """Wakes the delivery worker when the transaction commits."""
    conn.execute("SELECT pg_notify(%s, '')", (WAKE_CHANNEL,))


# Delivery over e-mail, SMS and X: `channels` are those the worker can send on.

def _values(channels: Iterable[Channel]) -> list[str]:
    return [c.value for c in channels]


def claim_due(conn, *, channels: Iterable[Channel], now: datetime, claim_until: datetime,
              limit: int) -> list[Notification]:
    """Claims due pending notifications for one attempt each: counts the attempt and keeps other workers
    off them until `claim_until`. Returns them as claimed, by id."""
    rows = conn.execute(
        "WITH due AS (SELECT id FROM notify.notifications WHERE channel = ANY(%s) AND status = 'pending' "
        "AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
        "UPDATE notify.notifications n SET attempts = n.attempts + 1, next_attempt_at = %s FROM due "
        "WHERE n.id = due.id RETURNING n.*",
        (_values(channels), now, limit, claim_until),
    ).fetchall()
    return [_notification(r) for r in sorted(rows, key=lambda r: r["id"])]


def _attempts(notifications: Iterable[Notification]) -> tuple[list[int], list[int]]:
    """The ids and attempt numbers of `notifications`, as two arrays for unnest()."""
    pairs = [(int(n.id), n.attempts) for n in notifications]
    return [i for i, _ in pairs], [a for _, a in pairs]


def mark_sending(conn, notifications: Iterable[Notification], *, lease_until: datetime) -> set[str]:
    """Records that the claimed attempts are about to hand their messages over. Returns the ids of those
    still on their claim: one missing was taken by another worker after this one's claim ran out."""
    rows = conn.execute(
        "UPDATE notify.notifications n SET status = 'sending', next_attempt_at = %s "
        "FROM unnest(%s::bigint[], %s::int[]) AS a(id, attempts) "
        "WHERE n.id = a.id AND n.status = 'pending' AND n.attempts = a.attempts RETURNING n.id",
        (lease_until, *_attempts(notifications)),
    ).fetchall()
    return {str(r["id"]) for r in rows}


# The outcome of an attempt is recorded only while the notification is still on that attempt
# (`attempts`): a worker whose claim ran out and was taken over does not overwrite the newer one.

def mark_sent(conn, notifications: Iterable[Notification], *, sent_at: datetime) -> None:
    conn.execute(
        "UPDATE notify.notifications n SET status = 'sent', sent_at = %s, next_attempt_at = NULL, last_error = '' "
        "FROM unnest(%s::bigint[], %s::int[]) AS a(id, attempts) WHERE n.id = a.id AND n.attempts = a.attempts",
        (sent_at, *_attempts(notifications)),
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
