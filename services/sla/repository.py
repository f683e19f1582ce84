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


def find_version(conn, process_id: str, content_hash: str):
    """A version with its XML (the newest for an empty hash); None when there is none."""
    return conn.execute(
        "SELECT v.id, v.version, v.process_id, v.content_hash, v.deployed_at, v.bpmn, "
        "(SELECT count(*) FROM sla.instances i WHERE i.version_id = v.id AND i.status <> 'completed') AS running "
        "FROM sla.process_versions v WHERE v.process_id = %(p)s AND (v.content_hash = %(h)s OR %(h)s = '') "
        "ORDER BY v.deployed_at DESC, v.id DESC LIMIT 1", {"p": process_id, "h": content_hash}).fetchone()


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


def claim_due(conn, now: datetime, *, limit: int = 1, skip: list[str] = ()):
    """Up to `limit` instances whose timer or retry is due, most overdue first, that no other worker holds,
    locked; none of the tracking ids in `skip`."""
    return conn.execute(
        "SELECT * FROM sla.instances WHERE next_due_at <= %s AND tracking_id <> ALL(%s) "
        "ORDER BY next_due_at LIMIT %s FOR UPDATE SKIP LOCKED", (now, list(skip), limit)).fetchall()


# What case_from_row reads of an instance's row.
_CASE_COLUMNS = ("tracking_id, version_id, status, waiting_for, stage, deadlines, failed_tasks, path, retry_at, "
                 "last_error, agency_id, category")


def save_instance(conn, *, tracking_id: str, version_id: int, state: str, serializer_version: str,
                  case: CaseState, error: str | None, attempts: int, retry_at: datetime | None,
                  next_due_at: datetime | None, now: datetime, agency_id: str, category: str):
    """Inserts or updates an instance; returns what a case is made of as stored (not the state back)."""
    deadlines = [{"name": d.name, "due_at": d.due_at.isoformat(), "kind": d.kind, "owner": d.owner}
                 for d in case.deadlines]
    return conn.execute(
        "INSERT INTO sla.instances (tracking_id, version_id, serializer_version, state, status, waiting_for, "
        "deadlines, failed_tasks, last_error, attempts, retry_at, next_due_at, started_at, updated_at, stage, "
        "agency_id, path, category) "
        "VALUES (%(id)s, %(version)s, %(ser)s, %(state)s, %(status)s, %(waiting)s, %(deadlines)s, %(failed)s, "
        "%(error)s, %(attempts)s, %(retry_at)s, %(due)s, %(now)s, %(now)s, %(stage)s, %(agency)s, %(path)s, "
        "%(category)s) "
        "ON CONFLICT (tracking_id) DO UPDATE SET serializer_version = EXCLUDED.serializer_version, "
        "state = EXCLUDED.state, status = EXCLUDED.status, waiting_for = EXCLUDED.waiting_for, "
        "deadlines = EXCLUDED.deadlines, failed_tasks = EXCLUDED.failed_tasks, last_error = EXCLUDED.last_error, "
        "attempts = EXCLUDED.attempts, retry_at = EXCLUDED.retry_at, next_due_at = EXCLUDED.next_due_at, "
        "updated_at = EXCLUDED.updated_at, stage = EXCLUDED.stage, agency_id = EXCLUDED.agency_id, "
        f"path = EXCLUDED.path, category = EXCLUDED.category RETURNING {_CASE_COLUMNS}",
        {"id": tracking_id, "version": version_id, "ser": serializer_version, "state": state,
         "status": case.status, "waiting": case.waiting_for, "deadlines": Jsonb(deadlines),
         "failed": case.failed_tasks, "error": error, "attempts": attempts, "retry_at": retry_at,
         "due": next_due_at, "now": now, "stage": case.stage, "agency": agency_id, "path": case.path,
         "category": category}).fetchone()


def case_from_row(conn, row, content_hash: str) -> Case:
    """A case from its instance's row, with its version's content hash, its deadlines and stage history."""
    state = CaseState(status=row["status"], waiting_for=list(row["waiting_for"]), stage=row["stage"],
                      deadlines=[Deadline(d["name"], datetime.fromisoformat(d["due_at"]), kind=d.get("kind", ""),
                                          owner=d.get("owner", "")) for d in row["deadlines"]],
                      failed_tasks=list(row["failed_tasks"]), path=list(row["path"]), agency_id=row["agency_id"],
                      category=row["category"])
    tracked = [TrackedDeadline(r["name"], r["owner"], r["due_at"], r["started_at"], r["met_at"], r["breached_at"])
               for r in conn.execute("SELECT * FROM sla.deadlines WHERE tracking_id = %s ORDER BY started_at, due_at",
                                     (row["tracking_id"],))]
    history = [StageChange(r["stage"], r["entered_at"]) for r in conn.execute(
        "SELECT stage, entered_at FROM sla.stage_changes WHERE tracking_id = %s ORDER BY id", (row["tracking_id"],))]
    return Case(row["tracking_id"], content_hash, state, row["retry_at"], row["last_error"], tracked, history,
                row["category"])


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


# -- what process analysts read: one query per statistic over a whole version or period --------------------
# A stage is a '+'-joined list of the element ids a report waits at; unnest splits it per element.

def waiting_by_element(conn, version_id: int, now: datetime) -> dict[str, tuple[int, int]]:
    """{element id: (running reports waiting there, of those with an open deadline past due at `now`)}."""
    rows = conn.execute(
        "SELECT e.element, count(*) AS waiting, count(*) FILTER (WHERE EXISTS (SELECT FROM sla.deadlines d "
        "  WHERE d.tracking_id = i.tracking_id AND d.met_at IS NULL AND d.due_at < %(now)s)) AS overdue "
        "FROM sla.instances i, unnest(string_to_array(i.stage, '+')) AS e(element) "
        "WHERE i.version_id = %(v)s AND i.status <> 'completed' GROUP BY e.element",
        {"v": version_id, "now": now}).fetchall()
    return {r["element"]: (r["waiting"], r["overdue"]) for r in rows}


def time_by_element(conn, version_id: int) -> dict[str, tuple[int, float]]:
    """{element id: (completed visits, median seconds)}: a visit runs from a stage change whose stage holds
    the element to the report's next stage change."""
    rows = conn.execute(
        "WITH visits AS (SELECT s.stage, s.entered_at, "
        "  lead(s.entered_at) OVER (PARTITION BY s.tracking_id ORDER BY s.id) AS left_at "
        "  FROM sla.stage_changes s JOIN sla.instances i ON i.tracking_id = s.tracking_id "
        "  WHERE i.version_id = %s) "
        "SELECT e.element, count(*) AS visits, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM v.left_at - v.entered_at)) AS median "
        "FROM visits v, unnest(string_to_array(v.stage, '+')) AS e(element) "
        "WHERE v.left_at IS NOT NULL GROUP BY e.element", (version_id,)).fetchall()
    return {r["element"]: (r["visits"], float(r["median"])) for r in rows}


def cases_at(conn, version_id: int, element_id: str, *, after: tuple[str, str] | None, limit: int):
    """The running reports of a version waiting at an element, earliest open deadline first (so the most
    overdue first), those without an open deadline last; keyset-paged after (sort due, tracking id)."""
    return conn.execute(
        "SELECT * FROM (SELECT i.tracking_id, i.agency_id, i.category, "
        "  (SELECT max(s.entered_at) FROM sla.stage_changes s WHERE s.tracking_id = i.tracking_id) AS entered_at, "
        "  (SELECT min(d.due_at) FROM sla.deadlines d WHERE d.tracking_id = i.tracking_id AND d.met_at IS NULL) "
        "    AS due_at "
        "  FROM sla.instances i WHERE i.version_id = %(v)s AND i.status <> 'completed' "
        "  AND %(e)s = ANY(string_to_array(i.stage, '+'))) c "
        "WHERE %(after)s::boolean IS NOT TRUE "
        "   OR (coalesce(c.due_at, 'infinity'), c.tracking_id) > (%(due)s::timestamptz, %(id)s::text) "
        "ORDER BY coalesce(c.due_at, 'infinity'), c.tracking_id LIMIT %(limit)s",
        {"v": version_id, "e": element_id, "after": after is not None, "due": after[0] if after else None,
         "id": after[1] if after else None, "limit": limit}).fetchall()


# Figures are grouped three ways at once: grouping() tells the agency rows (1), category rows (2), overall (3).
_BY = "GROUP BY GROUPING SETS ((agency), (category), ())"
_DIMENSION = "grouping(agency, category) AS dimension"


def deadline_figures(conn, since: datetime | None, until: datetime, now: datetime):
    """Deadlines decided in [since, until): met on time (at met_at) or come due unmet (at due_at, once
    past `now`), per owner, per category and overall."""
    return conn.execute(
        f"WITH decided AS (SELECT d.owner AS agency, i.category, d.met_at IS NOT NULL AND d.met_at <= d.due_at "
        "  AS on_time, CASE WHEN d.met_at IS NOT NULL AND d.met_at <= d.due_at THEN d.met_at "
        "  WHEN d.due_at < %(now)s THEN d.due_at END AS decided_at "
        "  FROM sla.deadlines d JOIN sla.instances i ON i.tracking_id = d.tracking_id) "
        f"SELECT {_DIMENSION}, agency, category, count(*) AS deadlines, count(*) FILTER (WHERE on_time) AS on_time "
        "FROM decided WHERE decided_at >= coalesce(%(since)s::timestamptz, '-infinity') AND decided_at < %(until)s "
        f"{_BY}", {"since": since, "until": until, "now": now}).fetchall()


def backlog_figures(conn):
    """Running reports now, per agency holding them ('national' while none does), per category, overall."""
    return conn.execute(
        f"SELECT {_DIMENSION}, agency, category, count(*) AS backlog FROM (SELECT coalesce(nullif(agency_id, ''), "
        "'national') AS agency, category FROM sla.instances WHERE status <> 'completed') r "
        f"{_BY}").fetchall()


def follow_up_figures(conn, since: datetime | None, until: datetime):
    """Deadlines owned by an agency and met in [since, until): how long from their start (the assignment)."""
    return conn.execute(
        f"SELECT {_DIMENSION}, agency, category, count(*) AS follow_ups, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median FROM (SELECT d.owner AS agency, i.category, "
        "extract(epoch FROM d.met_at - d.started_at) AS seconds FROM sla.deadlines d "
        "JOIN sla.instances i ON i.tracking_id = d.tracking_id WHERE d.owner <> 'national' AND d.met_at IS NOT NULL "
        "AND d.met_at >= coalesce(%(since)s::timestamptz, '-infinity') AND d.met_at < %(until)s) f "
        f"{_BY}", {"since": since, "until": until}).fetchall()


def closure_figures(conn, since: datetime | None, until: datetime):
    """Reports whose process completed in [since, until): how long from its start (the submission)."""
    return conn.execute(
        f"SELECT {_DIMENSION}, agency, category, count(*) AS closures, "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median FROM (SELECT coalesce(nullif(i.agency_id, "
        "''), 'national') AS agency, i.category, extract(epoch FROM s.entered_at - i.started_at) AS seconds "
        "FROM sla.stage_changes s JOIN sla.instances i ON i.tracking_id = s.tracking_id "
        "WHERE s.stage = 'completed' AND s.entered_at >= coalesce(%(since)s::timestamptz, '-infinity') "
        "AND s.entered_at < %(until)s) c "
        f"{_BY}", {"since": since, "until": until}).fetchall()


def count_due_timers(conn, now: datetime) -> int:
    """Instances whose earliest timer or retry is due (the timer worker's backlog; instances_due index)."""
    return conn.execute("SELECT count(*) AS n FROM sla.instances WHERE next_due_at <= %s", (now,)).fetchone()["n"]


def count_breached_deadlines(conn) -> int:
    """Deadlines that passed unmet, ever (deadlines_breached_by_owner index)."""
    return conn.execute("SELECT count(*) AS n FROM sla.deadlines WHERE breached_at IS NOT NULL").fetchone()["n"]
