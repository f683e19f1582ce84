"""SQL of the intake schema. Every function takes an open connection."""

from datetime import datetime

from services.intake.domain import (Contact, EntryKind, Receipt, Report, ReporterContact, ReportStatus, ReportType,
                                    Submission, TimelineEntry)


def _report(row) -> Report:
    return Report(
        tracking_id=row["tracking_id"], type=ReportType(row["type"]), title=row["title"],
        description=row["description"], category=row["category"], region_code=row["region_code"],
        location_text=row["location_text"], anonymous=row["anonymous"], confidential=row["confidential"],
        status=ReportStatus(row["status"]), channel=row["channel"], language=row["language"],
        submitted_at=row["submitted_at"], agency_id=row["agency_id"], agency_name=row["agency_name"],
        published=row["published"], published_at=row["published_at"])


def _entry(row) -> TimelineEntry:
    return TimelineEntry(str(row["id"]), EntryKind(row["kind"]), row["author"], row["body"], row["created_at"],
                         ReportStatus(row["status"]) if row["status"] else None, row["agency_id"])


def receipt_by_key(conn, channel: str, key: str) -> Receipt | None:
    row = conn.execute("SELECT tracking_id, submitted_at FROM intake.reports "
                       "WHERE channel = %s AND idempotency_key = %s", (channel, key)).fetchone()
    return Receipt(row["tracking_id"], row["submitted_at"]) if row else None


def add_report(conn, *, tracking_id: str, key: str, submission: Submission, status: ReportStatus,
               submitted_at: datetime) -> Receipt | None:
    """Stores a new report; None when the tracking ID or the (channel, key) is already taken."""
    s = submission
    row = conn.execute(
        "INSERT INTO intake.reports (tracking_id, channel, idempotency_key, type, title, description, category, "
        "region_code, location_text, anonymous, confidential, language, status, submitted_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING tracking_id, submitted_at",
        (tracking_id, s.channel, key, s.type.value, s.title, s.description, s.category, s.region_code,
         s.location_text, s.anonymous, s.confidential, s.language, status.value, submitted_at),
    ).fetchone()
    return Receipt(row["tracking_id"], row["submitted_at"]) if row else None


def add_reporter(conn, tracking_id: str, reporter: ReporterContact) -> None:
    conn.execute("INSERT INTO intake.reporters (tracking_id, name, phone, email) VALUES (%s, %s, %s, %s)",
                 (tracking_id, reporter.name, reporter.phone, reporter.email))


def get_report(conn, tracking_id: str, *, for_update: bool = False) -> Report | None:
    sql = "SELECT * FROM intake.reports WHERE tracking_id = %s" + (" FOR UPDATE" if for_update else "")
    row = conn.execute(sql, (tracking_id,)).fetchone()
    return _report(row) if row else None


def contact(conn, tracking_id: str) -> Contact | None:
    row = conn.execute(
        "SELECT r.tracking_id, r.language, r.channel, p.name, p.phone, p.email FROM intake.reports r "
        "JOIN intake.reporters p USING (tracking_id) WHERE r.tracking_id = %s", (tracking_id,)).fetchone()
    if row is None:
        return None
    return Contact(row["tracking_id"], ReporterContact(row["name"], row["phone"], row["email"]), row["language"],
                   row["channel"])


def timeline(conn, tracking_id: str) -> tuple[TimelineEntry, ...]:
    rows = conn.execute("SELECT * FROM intake.timeline WHERE tracking_id = %s ORDER BY id",
                        (tracking_id,)).fetchall()
    return tuple(_entry(r) for r in rows)


def entry_by_key(conn, tracking_id: str, kind: EntryKind, key: str) -> TimelineEntry | None:
    row = conn.execute("SELECT * FROM intake.timeline WHERE tracking_id = %s AND kind = %s AND idempotency_key = %s",
                       (tracking_id, kind.value, key)).fetchone()
    return _entry(row) if row else None


def add_entry(conn, *, tracking_id: str, kind: EntryKind, author: str, created_at: datetime, body: str = "",
              status: ReportStatus | None = None, agency_id: str = "", key: str | None = None) -> TimelineEntry:
    row = conn.execute(
        "INSERT INTO intake.timeline (tracking_id, kind, author, agency_id, body, status, created_at, "
        "idempotency_key) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (tracking_id, kind.value, author, agency_id, body, status.value if status else None, created_at, key),
    ).fetchone()
    return _entry(row)


def set_status(conn, tracking_id: str, status: ReportStatus) -> None:
    conn.execute("UPDATE intake.reports SET status = %s WHERE tracking_id = %s", (status.value, tracking_id))


def forward(conn, tracking_id: str, *, agency_id: str, agency_name: str, published: bool,
            at: datetime) -> None:
    """Assigns the agency; a published report keeps the time it was first published."""
    conn.execute(
        "UPDATE intake.reports SET agency_id = %s, agency_name = %s, status = 'forwarded', "
        "published = published OR %s, "
        "published_at = CASE WHEN %s THEN coalesce(published_at, %s) ELSE published_at END "
        "WHERE tracking_id = %s",
        (agency_id, agency_name, published, published, at, tracking_id),
    )
