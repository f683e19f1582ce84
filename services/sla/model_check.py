"""What a model must pass before it is deployed, beyond the BPMN and spiffworkflow schemas.

Every service task names a real RPC and its parameters build a valid request; every message a
model waits for is one sla accepts; every expression (timers, parameters, conditions, scripts,
deadline owners) runs on sample task data and gives what its place needs. A failure names the
element, so an analyst can find it in the modeler.
"""

import ast
import copy
from datetime import datetime

from google.protobuf import json_format
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

from services.sla.calendar import WorkingCalendar
from services.sla.domain import DEADLINE, MESSAGES, TIMER_KINDS, ModelError
from services.sla.operators import OPERATORS

_T = "2026-11-02T10:00:00+07:00"
# The task data a lifecycle model may use, with plausible values: what the start event, the
# messages and the service tasks' results put there.
SAMPLE_DATA = {
    "tracking_id": "LAP-SAMPLE01", "submitted_at": _T, "category": "infrastruktur", "region_code": "6310",
    "suggested_agency_id": "",
    "verification_from": _T, "verification_due": "2026-11-05T23:59:59+07:00", "declined_agencies": [],
    "decision": {"decision_id": "1", "outcome": "forward", "reason": "alasan", "reason_code": "",
                 "category": "infrastruktur", "agency_id": "", "duplicate_of": "LAP-SAMPLE02",
                 "title": "Jalan berlubang di Batulicin", "anonymous": False, "confidential": True,
                 "decided_at": _T},
    "assignment": {"agency_id": "kab-tanah-bumbu-dinas-pupr", "agency_name": "Dinas PUPR", "timezone": "Asia/Makassar",
                   "parent_id": "kab-tanah-bumbu", "assigned_at": _T},
    "awaiting_since": _T, "follow_up_due": "2026-11-09T23:59:59+08:00",
    "follow_up": {"entry_id": "1", "posted_at": _T, "agency_id": "kab-tanah-bumbu-dinas-pupr"},
    "reply": {"entry_id": "2", "posted_at": _T, "author": "reporter"},
    "completion": {"entry_id": "3", "completed_at": _T},
    "declined": {"assignment_id": "1", "agency_id": "kab-tanah-bumbu-dinas-pupr", "reason": "bukan wewenang",
                 "declined_at": _T},
    "dispatched": {"assignment_id": "2", "agency_id": "kab-tanah-bumbu-dinas-pupr-uptd", "agency_name": "UPTD Jalan",
                   "timezone": "Asia/Makassar", "parent_id": "kab-tanah-bumbu-dinas-pupr", "assigned_at": _T,
                   "from_agency_id": "kab-tanah-bumbu-dinas-pupr"},
    "queue_item": {"tracking_id": "LAP-SAMPLE01"}, "report": {"status": "REPORT_STATUS_FORWARDED"},
    "notification": {"id": "1"},
}


def environment(calendar: WorkingCalendar) -> TaskDataEnvironment:
    """The functions a model's expressions may call."""

    def add_working_days(start, days, tz):
        return calendar.add_working_days(start, days, tz).isoformat()

    def start_of_last_working_days(deadline, days, tz):
        return calendar.start_of_last_working_days(deadline, days, tz).isoformat()

    return TaskDataEnvironment({"add_working_days": add_working_days,
                                "start_of_last_working_days": start_of_last_working_days})


def check_spec(spec, env: TaskDataEnvironment) -> None:
    """Checks every element of a parsed process spec; ModelError names the first at fault."""
    for task_spec in spec.task_specs.values():
        name = task_spec.bpmn_id or task_spec.name
        where = f"element {name}" + (f" ({task_spec.bpmn_name})" if getattr(task_spec, "bpmn_name", None) else "")
        try:
            _check_task(task_spec, env)
        except ModelError as e:
            raise ModelError(f"{where}: {e}") from None


def _evaluate(env, expression: str, what: str):
    try:
        ast.parse(expression, mode="eval")
    except SyntaxError as e:
        raise ModelError(f"{what} {expression!r} does not parse: {e.msg}") from None
    try:
        return env.evaluate(expression, copy.deepcopy(SAMPLE_DATA))
    except Exception as e:
        raise ModelError(f"{what} {expression!r} fails on sample data: {type(e).__name__}: {e}") from None


def _check_task(task_spec, env) -> None:
    if isinstance(task_spec, ServiceTask):
        operator = OPERATORS.get(task_spec.operation_name)
        if operator is None:
            raise ModelError(f"unknown service operator {task_spec.operation_name!r}; known: "
                             f"{', '.join(sorted(OPERATORS))}")
        params = {n: _evaluate(env, p["value"], f"parameter {n}") for n, p in task_spec.operation_params.items()}
        try:
            json_format.ParseDict({**params, "idempotency_key": "check"}, operator.request())
        except json_format.ParseError as e:
            raise ModelError(f"parameters do not make a {operator.request.DESCRIPTOR.name}: {e}") from None
    event = getattr(task_spec, "event_definition", None)
    definitions = getattr(event, "event_definitions", None) or [event]
    for definition in definitions:
        if isinstance(definition, MessageEventDefinition) and isinstance(task_spec, CatchingEvent):
            if definition.name not in MESSAGES:
                raise ModelError(f"unknown message {definition.name!r}; sla accepts {', '.join(sorted(MESSAGES))}")
        if isinstance(definition, TimerEventDefinition):
            _check_timer(task_spec, definition, env)
    for condition, _ in getattr(task_spec, "cond_task_specs", []):
        if condition is not None:
            _evaluate(env, condition.args[0], "condition")
    script = getattr(task_spec, "script", None)
    if script:
        try:
            env.execute(script, copy.deepcopy(SAMPLE_DATA))
        except SyntaxError as e:
            raise ModelError(f"script does not parse: {e.msg}") from None
        except Exception as e:
            raise ModelError(f"script fails on sample data: {type(e).__name__}: {e}") from None


def _check_timer(task_spec, definition, env) -> None:
    value = _evaluate(env, definition.expression, "timer")
    if type(definition).__name__ == "TimeDateEventDefinition":
        try:
            due = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            due = None
        if due is None or due.tzinfo is None:
            raise ModelError(f"timer {definition.expression!r} must give an ISO-8601 time with its offset, "
                             f"gave {value!r}")
    properties = getattr(task_spec, "extensions", {}).get("properties", {})
    kind = properties.get("sla_kind", "timer")
    if kind not in TIMER_KINDS:
        raise ModelError(f"sla_kind {kind!r} must be one of {', '.join(sorted(TIMER_KINDS))}")
    if kind == DEADLINE:
        owner = _evaluate(env, properties.get("sla_owner", '"national"'), "sla_owner")
        if not isinstance(owner, str) or not owner:
            raise ModelError(f"sla_owner must give an agency id or 'national', gave {owner!r}")
