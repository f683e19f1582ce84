"""SQL of the sla schema. Every function takes an open connection."""

from datetime import datetime

from psycopg.types.json import Jsonb

from services.sla.domain import Case, CaseState, Deadline, StageChange, TrackedDeadline
from services.sla.engine import Model


def save_version(conn, model: Model) -> int:
    """Stores a model version (once per content hash, numbered per process) and makes it the newest."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"sla-deploy:{model.process_id}",))
    row = conn.execute(
        "INSERT INTO sla.process_versions (process_id, content_hash, bpmn, spec_json, version) "
        "VALUES (%(p)s, %(h)s, %(b)s, %(s)s, (SELECT coalesce(max(version), 0) + 1 FROM sla.process_versions "
        "WHERE process_id = %(p)s)) ON CONFLICT (content_hash) DO UPDATE SET deployed_at = now() RETURNING id",
        {"p": model.process_id, "h": model.content_hash, "b": model.bpmn, "s": model.spec_json}).fetchone()
    return row["id"]


def list_versions(conn, process_id: str):
    return conn.execute(
        "SELECT v.id, v.version, v.process_id, v.content_hash, v.deployed_at, "
        "(SELECT count(*) FROM sla.instances i WHERE i.version_id = v.id AND i.status <> 'completed') AS running "
        "FROM sla.process_versions v WHERE v.process_id = %s ORDER BY v.version", (process_id,)).fetchall()


def newest_version(conn, process_id: str) -> int | None:
    row = conn.execute("SELECT id FROM sla.process_versions WHERE process_id = %s "
                       "ORDER BY deployed_at DESC, id DESC LIMIT 1", (process_id,)).fetchone()
    return row["id"] if row else None


def load_version(conn, version_id: int) -> Model:
    row = conn.execute("SELECT * FROM sla.process_versions WHERE id = %s", (version_id,)).fetchone()
    return Model(row["process_id"], row["content_hash"], row["bpmn"], row["spec_json"])


def record_event(conn, *, event_id: str, tracking_id: str, name: str, outcome: str, received_at: datetime,
                 detail: str | None = None) -> bool:
    """Records an event; False if its id was seen before."""
    row = conn.execute(
        "INSERT INTO sla.events (event_id, tracking_id, name, outcome, detail, received_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        (event_id, tracking_id, name, outcome, detail, received_at)).fetchone()
    return row is not None


def set_event_outcome(conn, event_id: str, outcome: str, detail: str | None = None) -> None:
    conn.execute("UPDATE sla.events SET outcome = %s, detail = %s WHERE event_id = %s", (outcome, detail, event_id))


def lock_instance(conn, tracking_id: str):
    return conn.execute("SELECT * FROM sla.instances WHERE tracking_id = %s FOR UPDATE", (tracking_id,)).fetchone()


def get_instance(conn, tracking_id: str):
    return conn.execute("SELECT * FROM sla.instances WHERE tracking_id = %s", (tracking_id,)).fetchone()


def claim_due(conn, now: datetime):
    """The most overdue instance no other worker holds, locked; None when nothing is due."""
    return conn.execute(
        "SELECT * FROM sla.instances WHERE next_due_at <= %s ORDER BY next_due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
        (now,)).fetchone()


def save_instance(conn, *, tracking_id: str, version_id: int, state: str, serializer_version: str,
                  case: CaseState, error: str | None, attempts: int, retry_at: datetime | None,
                  next_due_at: datetime | None, now: datetime, agency_id: str) -> None:
    deadlines = [{"name": d.name, "due_at": d.due_at.isoformat(), "kind": d.kind, "owner": d.owner}
                 for d in case.deadlines]
    conn.execute(
        "INSERT INTO sla.instances (tracking_id, version_id, serializer_version, state, status, waiting_for, "
        "deadlines, failed_tasks, last_error, attempts, retry_at, next_due_at, started_at, updated_at, stage, "
        "agency_id) "
        "VALUES (%(id)s, %(version)s, %(ser)s, %(state)s, %(status)s, %(waiting)s, %(deadlines)s, %(failed)s, "
        "%(error)s, %(attempts)s, %(retry_at)s, %(due)s, %(now)s, %(now)s, %(stage)s, %(agency)s) "
        "ON CONFLICT (tracking_id) DO UPDATE SET serializer_version = EXCLUDED.serializer_version, "
        "state = EXCLUDED.state, status = EXCLUDED.status, waiting_for = EXCLUDED.waiting_for, "
        "deadlines = EXCLUDED.deadlines, failed_tasks = EXCLUDED.failed_tasks, last_error = EXCLUDED.last_error, "
        "attempts = EXCLUDED.attempts, retry_at = EXCLUDED.retry_at, next_due_at = EXCLUDED.next_due_at, "
        "updated_at = EXCLUDED.updated_at, stage = EXCLUDED.stage, agency_id = EXCLUDED.agency_id",
        {"id": tracking_id, "version": version_id, "ser": serializer_version, "state": state,
         "status": case.status, "waiting": case.waiting_for, "deadlines": Jsonb(deadlines),
         "failed": case.failed_tasks, "error": error, "attempts": attempts, "retry_at": retry_at,
         "due": next_due_at, "now": now, "stage": case.stage, "agency": agency_id})


def case_from_row(conn, row) -> Case:
    state = CaseState(status=row["status"], waiting_for=list(row["waiting_for"]), stage=row["stage"],
                      deadlines=[Deadline(d["name"], datetime.fromisoformat(d["due_at"]), kind=d.get("kind", ""),
                                          owner=d.get("owner", "")) for d in row["deadlines"]],
                      failed_tasks=list(row["failed_tasks"]))
    content_hash = conn.execute("SELECT content_hash FROM sla.process_versions WHERE id = %s",
                                (row["version_id"],)).fetchone()["content_hash"]
    tracked = [TrackedDeadline(r["name"], r["owner"], r["due_at"], r["started_at"], r["met_at"], r["breached_at"])
               for r in conn.execute("SELECT * FROM sla.deadlines WHERE tracking_id = %s ORDER BY started_at, due_at",
                                     (row["tracking_id"],))]
    history = [StageChange(r["stage"], r["entered_at"]) for r in conn.execute(
        "SELECT stage, entered_at FROM sla.stage_changes WHERE tracking_id = %s ORDER BY id", (row["tracking_id"],))]
    return Case(row["tracking_id"], content_hash, state, row["retry_at"], row["last_error"], tracked, history)


def add_stage_change(conn, tracking_id: str, stage: str, at: datetime) -> None:
    conn.execute("INSERT INTO sla.stage_changes (tracking_id, stage, entered_at) VALUES (%s, %s, %s)",
                 (tracking_id, stage, at))


def add_deadline(conn, tracking_id: str, deadline: Deadline, now: datetime) -> None:
    """Records a deadline the first time its timer is seen armed."""
    conn.execute(
        "INSERT INTO sla.deadlines (task_id, tracking_id, name, owner, due_at, started_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (task_id) DO NOTHING",
        (deadline.task_id, tracking_id, deadline.name, deadline.owner, deadline.due_at, now))


def open_deadlines(conn, tracking_id: str):
    return conn.execute("SELECT * FROM sla.deadlines WHERE tracking_id = %s AND met_at IS NULL",
                        (tracking_id,)).fetchall()


def mark_breached(conn, task_id, at: datetime) -> None:
    conn.execute("UPDATE sla.deadlines SET breached_at = %s WHERE task_id = %s", (at, task_id))


def mark_met(conn, task_id, at: datetime) -> None:
    conn.execute("UPDATE sla.deadlines SET met_at = %s WHERE task_id = %s", (at, task_id))
