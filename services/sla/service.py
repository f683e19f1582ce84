"""sla use cases: deploy models, start cases, deliver events, fire due timers. Each owns its transaction."""

import base64
import binascii
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from psycopg_pool import ConnectionPool

from services.plumbing import identity, request_ids
from services.plumbing.clock import Clock
from services.plumbing.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unavailable
from services.plumbing.logs import fields
from services.sla import repository
from services.sla.domain import (DEADLINE, STUDIES_THE_PROCESS, Case, CaseAt, ElementStatistics, Figures, ModelError,
                                 Statistics, may_read_case)
from services.sla.engine import Engine, Model, parse_model
from services.sla.model_elements import ElementChange, compare, flow_nodes

log = logging.getLogger(__name__)

# Which service may send which event into a process.
PRODUCERS = {
    "verification_decided": "verification",
    "report_completed": "intake",
    "follow_up_posted": "intake",
    "reply_posted": "intake",
    "agency_declined": "routing",
    "agency_dispatched": "routing",
}
MAX_RETRY_DELAY = timedelta(hours=1)
FIRE_BATCH = 10  # due instances per transaction: their row locks are held until the batch commits
MAX_MODEL_BYTES = 1024 * 1024
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
_CONTENT_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ProcessVersion:
    version: int
    process_id: str
    content_hash: str
    deployed_at: datetime
    newest: bool
    running_instances: int
    bpmn: str = ""  # only where the version is asked for by itself


@dataclass(frozen=True)
class ProcessCockpit:
    version: ProcessVersion
    elements: list[ElementStatistics]
    computed_at: datetime


class SlaService:
    def __init__(self, *, pool: ConnectionPool, engine: Engine, clock: Clock, process_id: str,
                 retry_base_seconds: float = 2.0):
        self.pool = pool
        self.engine = engine
        self.clock = clock
        self.process_id = process_id
        self.retry_base = timedelta(seconds=retry_base_seconds)
        self._models: dict[int, Model] = {}

    # -- models ---------------------------------------------------------------------------
    def deploy_folder(self, folder: Path) -> str:
        """Deploys the model of the lifecycle process found in `folder`; returns its content hash."""
        candidates = [p for p in sorted(folder.glob("*.bpmn")) if f'id="{self.process_id}"' in p.read_text()]
        if len(candidates) != 1:
            raise ModelError(f"{folder}: expected one model of process {self.process_id}, found {len(candidates)}")
        return self.deploy(candidates[0].read_text(), candidates[0].name).content_hash

    def deploy(self, bpmn: str, filename: str, *, caller: identity.Caller | None = None) -> ProcessVersion:
        """Checks a model and stores it as the newest version (a model deployed before becomes the
        newest again); running instances keep the version they started on."""
        if caller is not None:
            identity.require_role(caller, identity.PROCESS_ANALYST)
        if len(bpmn.encode()) > MAX_MODEL_BYTES:
            raise InvalidArgument("bpmn", f"at most {MAX_MODEL_BYTES} bytes")
        try:
            model = parse_model(bpmn, self.process_id, filename)
        except ModelError as e:
            raise InvalidArgument("bpmn", str(e)) from None
        with self.pool.connection() as conn, conn.transaction():
            version_id = repository.save_version(conn, model)
        self._models[version_id] = model
        log.info("deployed %s version %s", self.process_id, model.content_hash[:12])
        return next(v for v in self.versions() if v.content_hash == model.content_hash)

    def versions(self, *, caller: identity.Caller | None = None) -> list[ProcessVersion]:
        """The deployed versions of the process, for those who deploy and watch them (process analysts,
        national administrators) and services; no one else needs the model's history."""
        if caller is not None and not caller.is_service():
            identity.require_role(caller, identity.PROCESS_ANALYST, identity.NATIONAL_ADMIN)
        with self.pool.connection() as conn:
            newest = repository.newest_version(conn, self.process_id)
            return [ProcessVersion(r["version"], r["process_id"], r["content_hash"], r["deployed_at"],
                                   r["id"] == newest, r["running"])
                    for r in repository.list_versions(conn, self.process_id)]

    def version(self, *, caller: identity.Caller, content_hash: str, field: str = "content_hash") -> ProcessVersion:
        """One version with its XML (the newest for an empty hash), for the same readers as `versions`."""
        _require_student(caller)
        with self.pool.connection() as conn:
            return self._version(conn, content_hash, field)[1]

    def compare_versions(self, *, caller: identity.Caller, older: str, newer: str) -> tuple[
            ProcessVersion, ProcessVersion, list[ElementChange]]:
        """What changed from one version's model to another's, element by element."""
        _require_student(caller)
        for value, field in ((older, "from_content_hash"), (newer, "to_content_hash")):
            if not value:
                raise InvalidArgument(field, "is required")
        with self.pool.connection() as conn:
            _, before = self._version(conn, older, "from_content_hash")
            _, after = self._version(conn, newer, "to_content_hash")
        return before, after, compare(before.bpmn, after.bpmn)

    def cockpit(self, *, caller: identity.Caller, content_hash: str) -> ProcessCockpit:
        """Every flow node of a version's model with the reports waiting there now, the overdue among them,
        and the median time reports spent there (from the stage history): one query per figure."""
        _require_student(caller)
        now = self.clock.now()
        with self.pool.connection() as conn:
            version_id, version = self._version(conn, content_hash)
            waiting = repository.waiting_by_element(conn, version_id, now)
            times = repository.time_by_element(conn, version_id)
        elements = [ElementStatistics(e.id, e.type, e.name, *waiting.get(e.id, (0, 0)), *times.get(e.id, (0, 0.0)))
                     for e in flow_nodes(version.bpmn)]
        return ProcessCockpit(version, elements, now)

    def cases_at(self, *, caller: identity.Caller, content_hash: str, element_id: str, page_size: int = 0,
                 page_token: str = "") -> tuple[list[CaseAt], str]:
        """The reports of a version waiting at an element now, the most overdue first, then the earliest
        due, then those without an open deadline; a page and the token of the next ('' after the last)."""
        _require_student(caller)
        if page_size < 0 or page_size > MAX_PAGE_SIZE:
            raise InvalidArgument("page_size", f"0 (the default, {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}")
        if not element_id:
            raise InvalidArgument("element_id", "is required")
        limit = page_size or DEFAULT_PAGE_SIZE
        now = self.clock.now()
        with self.pool.connection() as conn:
            version_id, version = self._version(conn, content_hash)
            after = _after(page_token, version.content_hash, element_id)
            if element_id not in {e.id for e in flow_nodes(version.bpmn)}:
                raise InvalidArgument("element_id", f"{element_id} is not a flow node of version {version.version}")
            rows = repository.cases_at(conn, version_id, element_id, after=after, limit=limit + 1)
        cases = [CaseAt(r["tracking_id"], r["agency_id"], r["category"], r["entered_at"], r["due_at"],
                        r["due_at"] is not None and r["due_at"] < now) for r in rows[:limit]]
        token = _page_token(version.content_hash, element_id, cases[-1]) if len(rows) > limit else ""
        return cases, token

    def statistics(self, *, caller: identity.Caller, since: datetime | None, until: datetime | None) -> Statistics:
        """Deadline figures per agency (a deadline's owner, 'national' for the national administrators;
        a report's agency now), per category and overall: deadlines decided in [since, until) and the share
        met on time, agencies' follow-ups and closures in the period with their medians, the backlog now."""
        _require_student(caller)
        now = self.clock.now()
        until = until or now
        if since is not None and since >= until:
            raise InvalidArgument("from", "must be before to")
        figures: dict[tuple[int, str], Figures] = {}

        def at(row) -> Figures:
            dimension = row["dimension"]
            key = "" if dimension == 3 else row["agency"] if dimension == 1 else row["category"]
            return figures.setdefault((dimension, key), Figures(key))

        with self.pool.connection() as conn:
            for row in repository.deadline_figures(conn, since, until, now):
                at(row).deadlines, at(row).met_on_time = row["deadlines"], row["on_time"]
            for row in repository.backlog_figures(conn):
                at(row).backlog = row["backlog"]
            for row in repository.follow_up_figures(conn, since, until):
                at(row).follow_ups, at(row).median_follow_up_seconds = row["follow_ups"], float(row["median"] or 0)
            for row in repository.closure_figures(conn, since, until):
                at(row).closures, at(row).median_closure_seconds = row["closures"], float(row["median"] or 0)
        ordered = sorted(figures.items())
        return Statistics(by_agency=[f for (d, _), f in ordered if d == 1],
                          by_category=[f for (d, _), f in ordered if d == 2],
                          overall=figures.get((3, ""), Figures("")), computed_at=now)

    def _version(self, conn, content_hash: str, field: str = "content_hash") -> tuple[int, ProcessVersion]:
        if content_hash and not _CONTENT_HASH.fullmatch(content_hash):
            raise InvalidArgument(field, "is the 64 hex digits of a version's content hash, or empty for the newest")
        row = repository.find_version(conn, self.process_id, content_hash)
        if row is None:
            raise NotFound(f"no version {content_hash} of {self.process_id}" if content_hash
                           else f"no version of {self.process_id} is deployed")
        newest = repository.newest_version(conn, self.process_id)
        return row["id"], ProcessVersion(row["version"], row["process_id"], row["content_hash"], row["deployed_at"],
                                         row["id"] == newest, row["running"], row["bpmn"])

    def _model(self, conn, version_id: int) -> Model:
        if version_id not in self._models:
            self._models[version_id] = repository.load_version(conn, version_id)
        return self._models[version_id]

    # -- cases ----------------------------------------------------------------------------
    def start_case(self, *, caller: identity.Caller, event_id: str, tracking_id: str, submitted_at: datetime,
                   category: str, region_code: str, suggested_agency_id: str = "") -> tuple[Case, bool]:
        """Starts the newest process version for a submitted report; a repeat changes nothing."""
        identity.require_service(caller, "intake")
        now = self.clock.now()
        with self.pool.connection() as conn, conn.transaction():
            fresh = repository.record_event(conn, event_id=event_id, tracking_id=tracking_id, name="start_case",
                                            outcome="started", received_at=now)
            existing = repository.lock_instance(conn, tracking_id)
            if not fresh or existing is not None:
                if fresh:
                    repository.set_event_outcome(conn, event_id, "already_started")
                return self._case(conn, tracking_id), True
            version_id = repository.newest_version(conn, self.process_id)
            if version_id is None:
                raise Unavailable(f"no version of {self.process_id} is deployed")
            workflow = self.engine.start(self._model(conn, version_id), {
                "tracking_id": tracking_id, "submitted_at": submitted_at.isoformat(),
                "category": category, "region_code": region_code, "suggested_agency_id": suggested_agency_id})
            error = self.engine.run(workflow, retry_failed=False)
            saved = self._save(conn, tracking_id, version_id, workflow, error, attempts=0, now=now, previous=None)
            return self._case(conn, tracking_id, saved), False

    def signal_case(self, *, caller: identity.Caller, event_id: str, tracking_id: str, message: str,
                    payload: dict) -> tuple[Case, bool]:
        """Delivers an event the report's process waits for. An event it does not wait for is
        recorded and refused with a clear message; a repeated event id changes nothing."""
        identity.require_service(caller, PRODUCERS[message])
        now = self.clock.now()
        refusal = None
        with self.pool.connection() as conn, conn.transaction():
            if not repository.record_event(conn, event_id=event_id, tracking_id=tracking_id, name=message,
                                           outcome="accepted", received_at=now):
                return self._case(conn, tracking_id), True
            row = repository.lock_instance(conn, tracking_id)
            if row is None:
                # Events come through the producers' outboxes, each on its own: a decision can arrive before
                # the start that intake's outbox sends (or before the start's transaction commits). Refused
                # for now and not recorded, so the producer's relay sends it again and it is never lost.
                raise Unavailable(f"no process for report {tracking_id} yet; send the event again later")
            if row["status"] == "failed":
                raise Unavailable(f"report {tracking_id} is retrying a failed step; send the event again later")
            elif message not in row["waiting_for"]:
                waits = ", ".join(row["waiting_for"]) or "nothing (it has finished)"
                refusal = FailedPrecondition(f"report {tracking_id} is not waiting for {message}; it waits for {waits}")
            if refusal is not None:
                repository.set_event_outcome(conn, event_id, "refused", str(refusal))
            else:
                workflow = self.engine.restore(self._model(conn, row["version_id"]), row["state"],
                                               row["serializer_version"])
                self.engine.deliver(workflow, message, payload)
                error = self.engine.run(workflow, retry_failed=False)  # a failed instance was refused above
                saved = self._save(conn, tracking_id, row["version_id"], workflow, error, attempts=0, now=now,
                                   previous=row)
                case = self._case(conn, tracking_id, saved)
        if refusal is not None:
            log.info("event refused", extra=fields(event_id=event_id, tracking_id=tracking_id, reason=str(refusal)))
            raise refusal
        return case, False

    def get_case(self, *, caller: identity.Caller, tracking_id: str) -> Case:
        """A report's case, for those who may follow it (see `may_read_case`). Refused before anything
        is said of the report, so that a refusal does not tell whether a case exists."""
        with self.pool.connection() as conn:
            row = repository.get_instance(conn, tracking_id)
            if not may_read_case(caller, tracking_id, row["agency_id"] if row else ""):
                raise PermissionDenied(f"role {caller.role} may not see the case of report {tracking_id}")
            return self._case(conn, tracking_id)

    def fire_due(self, limit: int = 100, batch: int = FIRE_BATCH) -> int:
        """Runs instances whose earliest timer or retry is due, up to `batch` of them in one transaction;
        returns how many ran. A burst of due timers (every report followed up on one day) then costs one
        commit per batch instead of one per instance. Each instance runs in a savepoint of its own: one
        whose run raises is rolled back alone, logged, and left due for the next tick, not retried now."""
        fired, claimed, failing = 0, 0, []
        while claimed < limit:
            now = self.clock.now()
            with self.pool.connection() as conn, conn.transaction():
                rows = repository.claim_due(conn, now, limit=min(batch, limit - claimed), skip=failing)
                for row in rows:
                    if self._fire(conn, row, now):
                        fired += 1
                    else:
                        failing.append(row["tracking_id"])
            if not rows:
                break
            claimed += len(rows)
        return fired

    def _fire(self, conn, row, now) -> bool:
        """Runs one claimed instance in a savepoint; False when that raised (and was rolled back)."""
        # One request id per due instance: the calls its service tasks make carry it.
        try:
            with request_ids.bound(), conn.transaction():
                workflow = self.engine.restore(self._model(conn, row["version_id"]), row["state"],
                                               row["serializer_version"])
                error = self.engine.run(workflow, retry_failed=row["status"] == "failed")
                attempts = row["attempts"] + 1 if error else 0
                self._save(conn, row["tracking_id"], row["version_id"], workflow, error, attempts=attempts, now=now,
                           previous=row)
            return True
        except Exception:
            log.exception("a due instance could not run; left due for the next tick",
                          extra=fields(tracking_id=row["tracking_id"]))
            return False

    # -- helpers --------------------------------------------------------------------------
    def _save(self, conn, tracking_id, version_id, workflow, error, *, attempts, now, previous):
        """Stores the instance and what it says of its stage and deadlines; returns its row as stored."""
        state, serializer_version = self.engine.dump(workflow)
        case = self.engine.describe(workflow)
        retry_at = None
        if error:
            attempts = max(attempts, 1)
            retry_at = now + min(MAX_RETRY_DELAY, self.retry_base * 2 ** (attempts - 1))
            log.warning("service task failed; retrying", extra=fields(
                tracking_id=tracking_id, tasks=case.failed_tasks, error=error, retry_at=retry_at.isoformat()))
        due = [t for t in (case.next_due_at, retry_at) if t is not None]
        next_due = None if case.status == "completed" else (min(due) if due else None)
        saved = repository.save_instance(conn, tracking_id=tracking_id, version_id=version_id, state=state,
                                 serializer_version=serializer_version, case=case, error=error,
                                 attempts=attempts, retry_at=retry_at, next_due_at=next_due, now=now,
                                 agency_id=case.agency_id, category=case.category)
        if previous is None or previous["stage"] != case.stage:
            repository.add_stage_change(conn, tracking_id, case.stage, now)
        self._track_deadlines(conn, tracking_id, workflow, case, previous, now)
        return saved

    def _track_deadlines(self, conn, tracking_id, workflow, case, previous, now) -> None:
        """Records new deadlines, and those that passed unmet or whose wait ended since the last run.
        A deadline stays armed over many steps: only one not recorded yet is inserted."""
        armed = {d.task_id for d in case.deadlines if d.kind == DEADLINE}
        recorded = [] if previous is None else repository.open_deadlines(conn, tracking_id)
        known = {str(row["task_id"]) for row in recorded}
        for deadline in case.deadlines:
            if deadline.kind == DEADLINE and deadline.task_id not in known:
                repository.add_deadline(conn, tracking_id, deadline, now)
        for row in recorded:
            fired, ended = self.engine.wait_ended(workflow, str(row["task_id"]))
            if fired and row["breached_at"] is None:
                repository.mark_breached(conn, row["task_id"], row["due_at"])
                log.info("deadline breached", extra=fields(tracking_id=tracking_id, deadline=row["name"],
                                                           owner=row["owner"]))
            if ended and str(row["task_id"]) not in armed:
                repository.mark_met(conn, row["task_id"], now)

    def _case(self, conn, tracking_id: str, row=None) -> Case:
        """The report's case; from `row` when the caller has just stored it, not read again."""
        row = row or repository.get_instance(conn, tracking_id)
        if row is None:
            raise NotFound(f"no process for report {tracking_id}")
        return repository.case_from_row(conn, row, self._model(conn, row["version_id"]).content_hash)


def _require_student(caller: identity.Caller) -> None:
    """Process analysts and national administrators study the process; services read for them."""
    if not caller.is_service():
        identity.require_role(caller, *STUDIES_THE_PROCESS)


def _page_token(content_hash: str, element_id: str, last: CaseAt) -> str:
    key = [content_hash[:16], element_id, last.due_at.isoformat() if last.due_at else None, last.tracking_id]
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _after(token: str, content_hash: str, element_id: str) -> tuple[str, str] | None:
    """The (sort due as PostgreSQL reads it, tracking id) a page token continues after; 'infinity' sorts the
    reports without an open deadline last. The token belongs to one version's element."""
    if not token:
        return None
    try:
        version, element, due, tracking_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if version == content_hash[:16] and element == element_id and isinstance(tracking_id, str):
            return (datetime.fromisoformat(due).isoformat() if due is not None else "infinity", tracking_id)
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidArgument("page_token", "is not the next_page_token of an earlier page of this element")
