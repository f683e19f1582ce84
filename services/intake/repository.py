"""SQL of the intake schema. Every function takes an open connection."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime


from services.intake import redaction
from services.intake.domain import (REPORTER, Attachment, AttachmentFile, AttachmentInfo, Contact, Coordinates,
                                    EntryKind, Receipt, Report, ReporterContact, ReportStatus, ReportType, Submission,
                                    TimelineEntry, account_id, account_number)
from services.intake.publication import PublicText
from services.intake.report_lists import Position, ReportScope, ReportSummary
from services.plumbing import outbox

# The search document of a report: its public (redacted) text only, the title weighing most, and
# without the redaction marker (a search for it would find every report that hides something).
def _search_document(title: str, description: str, location_text: str) -> str:
    """The SQL expression of a report's search document from the SQL expressions of its public text."""
    return " || ".join(f"setweight(to_tsvector('indonesian', replace({text}, %(marker)s, ' ')), '{weight}')"
                       for text, weight in ((title, "A"), (description, "B"), (location_text, "C")))


SEARCH_DOCUMENT = _search_document("%(public_title)s", "%(public_description)s", "%(public_location_text)s")


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
        coordinates=coordinates(row), suggested_agency_id=row["suggested_agency_id"],
        account_id=account_id(row["account_id"]) if row["account_id"] is not None else "")


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


@dataclass(frozen=True)
class NewReport:
    """A report to store, with the event that starts its process."""
    tracking_id: str
    key: str
    submission: Submission
    status: ReportStatus
    submitted_at: datetime
    public: PublicText
    redaction_version: int
    access_code_hash: bytes
    event: tuple[str, dict]  # (kind, payload)


# What add_reports takes of each new report, as JSON (one object a report, see _new_report_row).
_REPORT_COLUMNS = (
    ("tracking_id", "text"), ("channel", "text"), ("idempotency_key", "text"), ("type", "text"), ("title", "text"),
    ("description", "text"), ("category", "text"), ("region_code", "text"), ("location_text", "text"),
    ("anonymous", "boolean"), ("confidential", "boolean"), ("language", "text"), ("status", "text"),
    ("submitted_at", "timestamptz"), ("incident_date", "timestamptz"), ("latitude", "float8"),
    ("longitude", "float8"), ("suggested_agency_id", "text"), ("public_title", "text"),
    ("public_description", "text"), ("public_location_text", "text"), ("redaction_version", "smallint"),
    ("access_code_hash", "bytea"), ("account_id", "bigint"))
_REPORTER_COLUMNS = (("name", "text"), ("phone", "text"), ("email", "text"), ("x_user_id", "text"),
                     ("x_handle", "text"), ("channel_message_id", "text"))
_INPUT_COLUMNS = (*_REPORT_COLUMNS, *((f"reporter_{name}", kind) for name, kind in _REPORTER_COLUMNS),
                  ("outbox_kind", "text"), ("outbox_payload", "jsonb"))
# The attachments of all the reports, one array of each, each file naming its report.
_FILE_COLUMNS = (("tracking_id", "text"), ("number", "smallint"), ("filename", "text"), ("content_type", "text"),
                 ("content", "bytea"))


def _unnest(columns: tuple[tuple[str, str], ...], alias: str) -> str:
    """Rows `alias` from the arrays %(<alias>_<column>)s, one of each column."""
    arrays = ", ".join(f"%({alias}_{name})s::{kind}[]" for name, kind in columns)
    return f"unnest({arrays}) AS {alias} ({', '.join(name for name, _ in columns)})"


_REPORTS = ", ".join(name for name, _ in _REPORT_COLUMNS)
_ADD_REPORTS = (
    "WITH incoming AS (SELECT * FROM json_to_recordset(%(reports)s::json) AS incoming "
    f"({', '.join(f'{name} {kind}' for name, kind in _INPUT_COLUMNS)})), "
    f"report AS (INSERT INTO intake.reports ({_REPORTS}, search_document) SELECT {_REPORTS}, "
    f"{_search_document('public_title', 'public_description', 'public_location_text')} FROM incoming "
    "ON CONFLICT DO NOTHING RETURNING tracking_id, submitted_at), "
    "stored AS (SELECT incoming.* FROM incoming JOIN report USING (tracking_id)), "
    f"reporter AS (INSERT INTO intake.reporters (tracking_id, {', '.join(n for n, _ in _REPORTER_COLUMNS)}) "
    f"SELECT tracking_id, {', '.join(f'reporter_{n}' for n, _ in _REPORTER_COLUMNS)} FROM stored), "
    "files AS (INSERT INTO intake.attachments (tracking_id, number, filename, content_type, size, sha256, content) "
    "SELECT file.tracking_id, file.number, file.filename, file.content_type, octet_length(file.content), "
    f"sha256(file.content), file.content FROM {_unnest(_FILE_COLUMNS, 'file')} JOIN report USING (tracking_id)), "
    "entry AS (INSERT INTO intake.timeline (tracking_id, kind, author, created_at) "
    "SELECT tracking_id, %(entry_kind)s, %(entry_author)s, submitted_at FROM report), "
    f"event AS ({outbox.add_for_each('intake', 'stored', kind='outbox_kind', payload='outbox_payload')}) "
    "SELECT tracking_id, submitted_at, (SELECT count(*) FROM event) AS events FROM report")


def add_reports(conn, reports: Sequence[NewReport]) -> list[Receipt | None]:
    """Stores new reports, each with its public text, its reporter, attachments and first timeline
    entry, and the event that starts its process: one statement for them all, so one round trip and
    one pass of the executor, and all or nothing. For each report, its receipt, or None when its
    tracking ID or its (channel, key) is already taken (by an earlier report, or one before it here)."""
    # The reports go as one JSON document, encoded in C, rather than as an array a column, whose every
    # element psycopg would convert in Python. The files go as arrays: their content is bytes.
    files = [(r.tracking_id, number, f.filename, f.content_type, f.content)
             for r in reports for number, f in enumerate(r.submission.attachments, start=1)]
    columns = {f"file_{name}": [f[n] for f in files] for n, (name, _) in enumerate(_FILE_COLUMNS)}
    stored = {row["tracking_id"]: Receipt(row["tracking_id"], row["submitted_at"]) for row in conn.execute(
        _ADD_REPORTS, columns | {"reports": json.dumps([_new_report_row(r) for r in reports], ensure_ascii=False),
                                 "marker": redaction.MARKER, "entry_kind": EntryKind.SUBMITTED.value,
                                 "entry_author": REPORTER, "outbox_channel": outbox.wake_channel("intake")})}
    return [stored.get(r.tracking_id) for r in reports]


def _new_report_row(new: NewReport) -> dict:
    """A report's values by the names of _INPUT_COLUMNS, as JSON gives them to PostgreSQL: times in
    ISO 8601, bytes in bytea's hex form."""
    s, public, reporter = new.submission, new.public, new.submission.reporter
    kind, payload = new.event
    return {
        "tracking_id": new.tracking_id, "channel": s.channel, "idempotency_key": new.key, "type": s.type.value,
        "title": s.title, "description": s.description, "category": s.category, "region_code": s.region_code,
        "location_text": s.location_text, "anonymous": s.anonymous, "confidential": s.confidential,
        "language": s.language, "status": new.status.value, "submitted_at": new.submitted_at.isoformat(),
        "incident_date": s.incident_date.isoformat() if s.incident_date else None,
        "latitude": s.coordinates.latitude if s.coordinates else None,
        "longitude": s.coordinates.longitude if s.coordinates else None,
        "suggested_agency_id": s.suggested_agency_id, "public_title": public.title,
        "public_description": public.description, "public_location_text": public.location_text,
        "redaction_version": new.redaction_version, "access_code_hash": "\\x" + new.access_code_hash.hex(),
        "account_id": account_number(s.account_id) if s.account_id else None,
        "reporter_name": reporter.name, "reporter_phone": reporter.phone, "reporter_email": reporter.email,
        "reporter_x_user_id": reporter.x_user_id, "reporter_x_handle": reporter.x_handle,
        "reporter_channel_message_id": s.channel_message_id, "outbox_kind": kind, "outbox_payload": payload}


def replace_access_code(conn, channel: str, key: str, access_code_hash: bytes) -> Receipt:
    """Gives the report of (channel, key) a new access code in place of its old one."""
    row = conn.execute("UPDATE intake.reports SET access_code_hash = %s WHERE channel = %s AND idempotency_key = %s "
                       "RETURNING tracking_id, submitted_at", (access_code_hash, channel, key)).fetchone()
    return Receipt(row["tracking_id"], row["submitted_at"])


def access_code_hash(conn, tracking_id: str) -> bytes | None:
    row = conn.execute("SELECT access_code_hash FROM intake.reports WHERE tracking_id = %s", (tracking_id,)).fetchone()
    return row["access_code_hash"] if row else None


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


def add_attachments(conn, tracking_id: str, files: tuple[AttachmentFile, ...], *, first: int = 1,
                    entry_id: str | None = None) -> tuple[AttachmentInfo, ...]:
    """Stores checked files as the report's attachments `first`, `first` + 1, ... with their size and
    SHA-256; those of a follow-up name its timeline entry."""
    rows = [{"tracking_id": tracking_id, "number": number, "filename": f.filename, "content_type": f.content_type,
             "content": f.content, "entry_id": int(entry_id) if entry_id else None}
            for number, f in enumerate(files, start=first)]
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO intake.attachments (tracking_id, number, filename, content_type, size, sha256, content, "
            "entry_id) VALUES (%(tracking_id)s, %(number)s, %(filename)s, %(content_type)s, "
            "octet_length(%(content)s), sha256(%(content)s), %(content)s, %(entry_id)s)", rows)
    return tuple(AttachmentInfo(str(r["number"]), r["filename"], r["content_type"], len(r["content"])) for r in rows)


def next_attachment_number(conn, tracking_id: str) -> int:
    """The number the report's next attachment gets (callers hold the report's row lock)."""
    return conn.execute("SELECT coalesce(max(number), 0) + 1 AS next FROM intake.attachments "
                        "WHERE tracking_id = %s", (tracking_id,)).fetchone()["next"]


def _attachment_info(row) -> AttachmentInfo:
    return AttachmentInfo(str(row["number"]), row["filename"], row["content_type"], row["size"])


def attachments(conn, tracking_id: str) -> tuple[AttachmentInfo, ...]:
    """The files sent with the report itself (not those of its follow-ups)."""
    rows = conn.execute("SELECT number, filename, content_type, size FROM intake.attachments "
                        "WHERE tracking_id = %s AND entry_id IS NULL ORDER BY number", (tracking_id,)).fetchall()
    return tuple(_attachment_info(r) for r in rows)


def attachment(conn, tracking_id: str, number: int) -> Attachment | None:
    """Any of the report's attachments, its own or a follow-up's."""
    row = conn.execute("SELECT * FROM intake.attachments WHERE tracking_id = %s AND number = %s",
                       (tracking_id, number)).fetchone()
    return Attachment(_attachment_info(row), row["content"]) if row else None


def get_report(conn, tracking_id: str, *, for_update: bool = False) -> Report | None:
    sql = "SELECT * FROM intake.reports WHERE tracking_id = %s" + (" FOR UPDATE" if for_update else "")
    row = conn.execute(sql, (tracking_id,)).fetchone()
    return _report(row) if row else None


def _contact(row) -> Contact:
    reporter = ReporterContact(row["name"], row["phone"], row["email"], row["x_user_id"], row["x_handle"])
    return Contact(row["tracking_id"], reporter, row["language"], row["channel"], row["channel_message_id"])


def contact(conn, tracking_id: str) -> Contact | None:
    row = conn.execute(
        "SELECT r.tracking_id, r.language, r.channel, p.* FROM intake.reports r "
        "JOIN intake.reporters p USING (tracking_id) WHERE r.tracking_id = %s", (tracking_id,)).fetchone()
    return _contact(row) if row else None


def contacts(conn, tracking_ids: list[str]) -> dict[str, tuple[Contact, bool]]:
    """The contact of those of `tracking_ids` that exist, by tracking ID, each with whether its report
    is anonymous."""
    rows = conn.execute(
        "SELECT r.tracking_id, r.language, r.channel, r.anonymous, p.* FROM intake.reports r "
        "JOIN intake.reporters p USING (tracking_id) WHERE r.tracking_id = ANY(%s::text[])",
        (list(tracking_ids),)).fetchall()
    return {r["tracking_id"]: (_contact(r), r["anonymous"]) for r in rows}


def timeline(conn, tracking_id: str) -> tuple[TimelineEntry, ...]:
    """The report's entries without their files (what the public timeline is made from)."""
    rows = conn.execute("SELECT * FROM intake.timeline WHERE tracking_id = %s ORDER BY id",
                        (tracking_id,)).fetchall()
    return tuple(_entry(r) for r in rows)


def timeline_with_attachments(conn, tracking_id: str) -> tuple[TimelineEntry, ...]:
    """The report's entries, each follow-up with its files."""
    rows = conn.execute("SELECT entry_id, number, filename, content_type, size FROM intake.attachments "
                        "WHERE tracking_id = %s AND entry_id IS NOT NULL ORDER BY number", (tracking_id,)).fetchall()
    files: dict[str, list[AttachmentInfo]] = {}
    for row in rows:
        files.setdefault(str(row["entry_id"]), []).append(_attachment_info(row))
    return tuple(replace(e, attachments=tuple(files.get(e.id, ()))) for e in timeline(conn, tracking_id))


def entry_by_key(conn, tracking_id: str, kind: EntryKind, key: str) -> TimelineEntry | None:
    """The entry a key made, with its files."""
    row = conn.execute("SELECT * FROM intake.timeline WHERE tracking_id = %s AND kind = %s AND idempotency_key = %s",
                       (tracking_id, kind.value, key)).fetchone()
    if row is None:
        return None
    files = conn.execute("SELECT number, filename, content_type, size FROM intake.attachments "
                         "WHERE tracking_id = %s AND entry_id = %s ORDER BY number",
                         (tracking_id, row["id"])).fetchall()
    return replace(_entry(row), attachments=tuple(_attachment_info(f) for f in files))


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


def apply_changes(conn, report: Report) -> None:
    """Stores a report's title and privacy flags as verification changed them; the reporter's own title is
    kept the first time it is replaced. Flags are only ever set."""
    conn.execute(
        "UPDATE intake.reports SET original_title = CASE WHEN title <> %(title)s THEN coalesce(original_title, title) "
        "ELSE original_title END, title = %(title)s, anonymous = anonymous OR %(anonymous)s, "
        "confidential = confidential OR %(confidential)s WHERE tracking_id = %(tracking_id)s",
        {"title": report.title, "anonymous": report.anonymous, "confidential": report.confidential,
         "tracking_id": report.tracking_id})


def forward(conn, tracking_id: str, *, agency_id: str, agency_name: str, published: bool,
            at: datetime) -> None:
    """Assigns the agency; a published report keeps the time it was first published, which is never
    before its submission (should a clock have been set back). A confidential report is never published."""
    conn.execute(
        "UPDATE intake.reports SET agency_id = %s, agency_name = %s, status = 'forwarded', "
        "published = (published OR %s) AND NOT confidential, "
        "published_at = CASE WHEN %s THEN coalesce(published_at, greatest(%s, submitted_at)) ELSE published_at END "
        "WHERE tracking_id = %s",
        (agency_id, agency_name, published, published, at, tracking_id),
    )


def _summary(row) -> ReportSummary:
    return ReportSummary(
        tracking_id=row["tracking_id"], type=ReportType(row["type"]), title=row["title"], category=row["category"],
        region_code=row["region_code"], status=ReportStatus(row["status"]), agency_id=row["agency_id"],
        agency_name=row["agency_name"], submitted_at=row["submitted_at"], updated_at=row["updated_at"],
        anonymous=row["anonymous"], confidential=row["confidential"])


_SUMMARY_COLUMNS = (
    "r.tracking_id, r.type, r.title, r.category, r.region_code, r.status, r.agency_id, r.agency_name, "
    "r.submitted_at, r.anonymous, r.confidential, (SELECT max(t.created_at) FROM intake.timeline t "
    "WHERE t.tracking_id = r.tracking_id) AS updated_at")


def summaries_by_ids(conn, tracking_ids: list[str]) -> dict[str, ReportSummary]:
    """The summaries of those of `tracking_ids` that exist, by tracking ID."""
    rows = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM intake.reports r WHERE r.tracking_id = ANY(%s::text[])",
                        (list(tracking_ids),)).fetchall()
    return {r["tracking_id"]: _summary(r) for r in rows}


def report_summaries(conn, scope: ReportScope, after: Position | None, limit: int) -> list[ReportSummary]:
    """Up to `limit` reports of `scope` submitted before `after`, newest first; each updated when its
    latest timeline entry was made."""
    if scope.account_id:
        where, params = ["r.account_id = %(account)s"], {"account": account_number(scope.account_id)}
    else:
        where, params = ["r.agency_id = %(agency_id)s"], {"agency_id": scope.agency_id}
    if scope.statuses:
        where.append("r.status = ANY(%(statuses)s)")
        params["statuses"] = [s.value for s in scope.statuses]
    if after is not None:
        where.append("(r.submitted_at, r.tracking_id) < (%(submitted_at)s, %(tracking_id)s)")
        params |= {"submitted_at": after.submitted_at, "tracking_id": after.tracking_id}
    rows = conn.execute(
        f"SELECT {_SUMMARY_COLUMNS} FROM intake.reports r WHERE {' AND '.join(where)} "
        "ORDER BY r.submitted_at DESC, r.tracking_id DESC LIMIT %(limit)s", params | {"limit": limit}).fetchall()
    return [_summary(r) for r in rows]
