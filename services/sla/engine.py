"""SpiffWorkflow wiring: the lifecycle model parsed and checked, instances run, stored and restored.

Nothing here touches PostgreSQL or gRPC: service tasks go through an injected
`ServiceCaller`, time through the injected clock, deadlines through the calendar.
"""

import ast
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser, VALIDATOR
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer

from services.plumbing.clock import Clock
from services.sla.calendar import WorkingCalendar
from services.sla.domain import MESSAGES, CaseState, Deadline, ModelError

_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_serializer = BpmnWorkflowSerializer(_registry)
_encoder = create_encoder(_registry)


class ServiceCaller(Protocol):
    operators: frozenset[str]

    def call(self, operator: str, params: dict, idempotency_key: str) -> dict:
        """Calls the gRPC method named by `operator`; returns the (small) result."""


def use_clock(clock: Clock) -> None:
    """Makes SpiffWorkflow's timers read `clock`: the library has no clock hook, so the
    timer module's `datetime` is replaced by one whose now() asks the clock."""

    class ClockDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            now = clock.now()
            return now.astimezone(tz) if tz else now.astimezone().replace(tzinfo=None)

    spiff_timer.datetime = ClockDatetime


@dataclass(frozen=True)
class Model:
    """A parsed, checked process version."""
    process_id: str
    content_hash: str
    bpmn: str
    spec_json: str  # spec and subprocess specs, serialized once per version


def content_hash(bpmn: str) -> str:
    return hashlib.sha256(bpmn.encode()).hexdigest()


def parse_model(bpmn: str, process_id: str, operators: frozenset[str], filename: str = "model.bpmn") -> Model:
    """Parses and checks a model; ModelError names the element at fault."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.fromstring(bpmn.encode()), filename)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except etree.XMLSyntaxError as e:
        raise ModelError(f"{filename}: not well-formed XML: {e}") from None
    except (SpiffWorkflowException, ValueError) as e:
        raise ModelError(f"{filename}: {e}") from None
    for task_spec in spec.task_specs.values():
        _check_task(task_spec, operators)
    dct = _serializer.to_dict(BpmnWorkflow(spec, subprocess_specs))
    spec_json = json.dumps({"spec": dct["spec"], "subprocess_specs": dct["subprocess_specs"]}, cls=_encoder)
    return Model(process_id, content_hash(bpmn), bpmn, spec_json)


def _check_task(task_spec, operators: frozenset[str]) -> None:
    where = f"element {task_spec.bpmn_id or task_spec.name}"
    if isinstance(task_spec, ServiceTask):
        if task_spec.operation_name not in operators:
            raise ModelError(f"{where}: unknown service operator {task_spec.operation_name!r}")
        for name, param in task_spec.operation_params.items():
            _check_expression(param["value"], f"{where}, parameter {name}")
    event = getattr(task_spec, "event_definition", None)
    if isinstance(event, MessageEventDefinition) and isinstance(task_spec, CatchingEvent):
        if event.name not in MESSAGES:
            raise ModelError(f"{where}: unknown message {event.name!r}; sla accepts {', '.join(sorted(MESSAGES))}")
    if isinstance(event, TimerEventDefinition):
        _check_expression(event.expression, f"{where}, timer")
    script = getattr(task_spec, "script", None)
    if script:
        try:
            ast.parse(script)
        except SyntaxError as e:
            raise ModelError(f"{where}: script does not parse: {e.msg}") from None


def _check_expression(expression: str, where: str) -> None:
    try:
        ast.parse(expression, mode="eval")
    except SyntaxError as e:
        raise ModelError(f"{where}: expression {expression!r} does not parse: {e.msg}") from None


def _restore_tasks(dct: dict, spec, subprocess_specs) -> BpmnWorkflow:
    """BpmnWorkflowConverter.from_dict without restoring the spec: the same steps on cached spec objects."""
    converter = _registry.convert_from_dict["BpmnWorkflow"].args[0].__self__
    workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
    workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
    workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
    converter.set_default_attributes(workflow, dct)
    converter.subprocesses_from_dict(dct["subprocesses"], workflow)
    workflow.bpmn_events = _registry.restore(dct.pop("bpmn_events", []))
    return workflow


class _LifecycleScriptEngine(PythonScriptEngine):
    """Scripts see only task data and the injected functions; service tasks go to the caller."""

    def __init__(self, calendar: WorkingCalendar, caller: ServiceCaller):
        def add_working_days(start, days, tz):
            return calendar.add_working_days(start, days, tz).isoformat()

        super().__init__(environment=TaskDataEnvironment({"add_working_days": add_working_days}))
        self.caller = caller

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        # Deterministic across a crash and replay: the nth run of this element in this report.
        runs = sum(1 for t in task.workflow.get_tasks(spec_name=task.task_spec.name, state=TaskState.COMPLETED))
        key = f"sla:{task.data.get('tracking_id')}:{task.task_spec.name}:{runs + 1}"
        try:
            return json.dumps(self.caller.call(operation_name, params, key))
        except Exception as e:  # SpiffWorkflow 3.2.0 loses the cause here (NameError): keep it
            raise WorkflowTaskException(f"{operation_name} failed: {e}", task=task, exception=e) from e


class Engine:
    """Runs lifecycle instances: start, deliver an event, fire due timers, describe, store."""

    def __init__(self, *, calendar: WorkingCalendar, caller: ServiceCaller, clock: Clock):
        use_clock(clock)
        self.clock = clock
        self.script_engine = _LifecycleScriptEngine(calendar, caller)
        self._specs: dict[str, tuple] = {}

    def start(self, model: Model, data: dict) -> BpmnWorkflow:
        spec, subprocess_specs = self._spec_objects(model)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return workflow

    def restore(self, model: Model, state: str, serializer_version: str) -> BpmnWorkflow:
        dct = json.loads(state)
        if serializer_version != SERIALIZER_VERSION:  # an older format: migrate with the spec in place
            dct.update(json.loads(model.spec_json))
            dct[BpmnWorkflowSerializer.VERSION_KEY] = serializer_version
            _serializer.migrate(dct)
            workflow = _serializer.from_dict(dct)
        else:  # the spec objects of a version are parsed once and shared by its instances
            workflow = _restore_tasks(dct, *self._spec_objects(model))
        workflow.script_engine = self.script_engine
        return workflow

    @staticmethod
    def dump(workflow: BpmnWorkflow) -> tuple[str, str]:
        """The instance's state without its spec (kept once per version), and the serializer version."""
        dct = _serializer.to_dict(workflow)
        dct.pop("spec")
        dct.pop("subprocess_specs")
        return json.dumps(dct, cls=_encoder), SERIALIZER_VERSION

    def _spec_objects(self, model: Model) -> tuple:
        if model.content_hash not in self._specs:
            dct = json.loads(model.spec_json)
            self._specs[model.content_hash] = (
                _registry.restore(dct["spec"]),
                {name: _registry.restore(spec) for name, spec in dct["subprocess_specs"].items()})
        return self._specs[model.content_hash]

    def run(self, workflow: BpmnWorkflow) -> str | None:
        """Runs engine steps until the instance waits; retries tasks that failed before.
        Returns the error of a service task that failed now (left in ERROR for a later retry)."""
        for task in workflow.get_tasks(state=TaskState.ERROR):
            task._set_state(TaskState.READY)
        try:
            workflow.refresh_timers()
            workflow.do_engine_steps()
            workflow.refresh_timers()  # a timer that expired during the steps runs now, not next tick
            workflow.do_engine_steps()
        except SpiffWorkflowException as e:
            return str(e)
        return None

    def deliver(self, workflow: BpmnWorkflow, message: str, payload: dict) -> None:
        """Hands a message to the instance; the caller checked it is waited for."""
        workflow.send_event(BpmnEvent(MessageEventDefinition(message), payload))

    def describe(self, workflow: BpmnWorkflow) -> CaseState:
        """What the instance waits for now, its deadlines and the earliest one."""
        waiting, deadlines = [], []
        for task in workflow.get_tasks(state=TaskState.WAITING):
            event = getattr(task.task_spec, "event_definition", None)
            if isinstance(event, MessageEventDefinition):
                waiting.append(event.name)
            elif isinstance(event, TimerEventDefinition):
                value = task._get_internal_data("event_value")
                if isinstance(value, str):
                    deadlines.append(Deadline(task.task_spec.bpmn_id or task.task_spec.name,
                                              datetime.fromisoformat(value)))
        failed = [t.task_spec.bpmn_id or t.task_spec.name for t in workflow.get_tasks(state=TaskState.ERROR)]
        if failed:
            status = "failed"
        elif workflow.completed:
            status = "completed"
        else:
            status = "running"
        return CaseState(status=status, waiting_for=sorted(set(waiting)), deadlines=sorted(deadlines, key=lambda d: d.due_at),
                         failed_tasks=failed)
