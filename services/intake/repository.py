"""SQL of the intake schema. Every function takes an open connection."""

from datetime import datetime

from services.intake import redaction
from services.intake.domain import (Contact, Coordinates, EntryKind, Receipt, Report, ReporterContact, ReportStatus,
                                    ReportType, Submission, TimelineEntry)
from services.intake.publication import PublicText

# The search document of a report: its public (redacted) text only, the title weighing most, and
# without the redaction marker (a search for it would find every report that hides something).
SEARCH_DOCUMENT = " || ".join(
    f"setweight(to_tsvector('indonesian', replace(%({column})s, %(marker)s, ' ')), '{weight}')"
    for column, weight in (("public_title", "A"), ("public_description", "B"), ("public_location_text", "C")))


def coordinates(row) -> Coordinates | None:
    return Coordinates(row["latitude"], row["longitude"]) if row["latitude"] is not None else None


def _report(row) -> Report:
    return Report(
        tracking_id=row["tracking_id"], type=ReportType(row["type"]), title=row["title"],
        description=row["description"], category=row["category"], region_code=row["region_code"],
        location_text=row["location_text"], anonymous=row["anonymous"], confidential=row["confidential"],
        status=ReportStatus(row["status"]), channel=row["channel"], language=row["language"],
        submitted_at=row["submitted_at"], agency_id=row["agency_id"], agency_name=row["agency_name"],
        published=row["published"], published_at=row["published_at"], incident_date=row["incident_date"],
        coordinates=coordinates(row), suggested_agency_id=row["suggested_agency_id"])


def _entry(row) -> TimelineEntry:
    return TimelineEntry(str(row["id"]), EntryKind(row["kind"]), row["author"], row["body"], row["created_at"],
                         ReportStatus(row["status"]) if row["status"] else None, row["agency_id"])


def receipt_by_key(conn, channel: str, key: str) -> Receipt | None:
    row = conn.execute("SELECT tracking_id, submitted_at FROM intake.reports "
                       "WHERE channel = %s AND idempotency_key = %s", (channel, key)).fetchone()
    return Receipt(row["tracking_id"], row["submitted_at"]) if row else None


def _public_columns(public: PublicText, redaction_version: int) -> dict:
    return {"public_title": public.title, "public_description": public.description,
            "public_location_text": public.location_text, "redaction_version": redaction_version}


def add_report(conn, *, tracking_id: str, key: str, submission: Submission, status: ReportStatus,
               submitted_at: datetime, public: PublicText, redaction_version: int) -> Receipt | None:
    """Stores a new report with its public text; None when the tracking ID or the (channel, key) is
    already taken."""
    s = submission
    values = {
        "tracking_id": tracking_id, "channel": s.channel, "idempotency_key": key, "type": s.type.value,
        "title": s.title, "description": s.description, "category": s.category, "region_code": s.region_code,
        "location_text": s.location_text, "anonymous": s.anonymous, "confidential": s.confidential,
        "language": s.language, "status": status.value, "submitted_at": submitted_at,
        "incident_date": s.incident_date, "latitude": s.coordinates.latitude if s.coordinates else None,
        "longitude": s.coordinates.longitude if s.coordinates else None,
        "suggested_agency_id": s.suggested_agency_id, **_public_columns(public, redaction_version)}
    row = conn.execute(
        f"INSERT INTO intake.reports ({', '.join(values)}, search_document) "
        f"VALUES ({', '.join(f'%({name})s' for name in values)}, {SEARCH_DOCUMENT}) "
        "ON CONFLICT DO NOTHING RETURNING tracking_id, submitted_at", values | {"marker": redaction.MARKER}).fetchone()
    return Receipt(row["tracking_id"], row["submitted_at"]) if row else None


def stale_public_text(conn, redaction_version: int, *, after: str,
                      limit: int) -> list[tuple[str, str, str, str, ReporterContact]]:
    """The next reports after tracking ID `after` whose public text was written under other redaction rules:
    (tracking ID, title, description, location, reporter), locked, skipping those another worker holds.
    In tracking ID order, so that going through them all is one pass, not a scan per batch."""
    rows = conn.execute(
        "SELECT r.tracking_id, r.title, r.description, r.location_text, p.name, p.phone, p.email "
        "FROM intake.reports r LEFT JOIN intake.reporters p USING (tracking_id) "
        "WHERE r.tracking_id > %s AND r.redaction_version <> %s ORDER BY r.tracking_id LIMIT %s "
        "FOR UPDATE OF r SKIP LOCKED", (after, redaction_version, limit)).fetchall()
    return [(r["tracking_id"], r["title"], r["description"], r["location_text"],
             ReporterContact(r["name"] or "", r["phone"] or "", r["email"] or "")) for r in rows]


def set_public_text(conn, tracking_id: str, public: PublicText, redaction_version: int) -> None:
    conn.execute(f"UPDATE intake.reports SET public_title = %(public_title)s, "
                 "public_description = %(public_description)s, public_location_text = %(public_location_text)s, "
                 f"redaction_version = %(redaction_version)s, search_document = {SEARCH_DOCUMENT} "
                 "WHERE tracking_id = %(tracking_id)s",
                 _public_columns(public, redaction_version) | {"tracking_id": tracking_id, "marker": redaction.MARKER})


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
    """Assigns the agency; a published report keeps the time it was first published, which is never
    before its submission (should a clock have been set back)."""
    conn.execute(
        "UPDATE intake.reports SET agency_id = %s, agency_name = %s, status = 'forwarded', "
        "published = published OR %s, "
        "published_at = CASE WHEN %s THEN coalesce(published_at, greatest(%s, submitted_at)) ELSE published_at END "
        "WHERE tracking_id = %s",
        (agency_id, agency_name, published, published, at, tracking_id),
    )
