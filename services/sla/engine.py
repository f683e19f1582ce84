"""SpiffWorkflow wiring: the lifecycle model parsed and checked, instances run, stored and restored.

Nothing here touches PostgreSQL or gRPC: service tasks go through an injected
`ServiceCaller`, time through the injected clock, deadlines through the calendar.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import SpiffBpmnParser, VALIDATOR
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer

from services.plumbing.clock import Clock
from services.sla.calendar import WorkingCalendar
from services.sla.domain import DEADLINE, NATIONAL, TIMER, CaseState, Deadline, ModelError
from services.sla.model_check import check_spec, environment

_CHECK_ENVIRONMENT = environment(WorkingCalendar())
_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_serializer = BpmnWorkflowSerializer(_registry)
_encoder = create_encoder(_registry)


class ServiceCaller(Protocol):
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


def quiet_engine_logs() -> None:
    """Keeps SpiffWorkflow's own loggers to warnings. At INFO it logs every task state change, some 40 per
    step, and our JSON lines drop the extras that would say which task: formatting and writing lines that
    say only "State changed to COMPLETED" took a tenth of sla's CPU. Failures reach us as exceptions.
    A process logging at DEBUG (SP4N_LOG_LEVEL) keeps them: whoever asks for everything gets the engine's
    steps too."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("spiff").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Model:
    """A parsed, checked process version."""
    process_id: str
    content_hash: str
    bpmn: str
    spec_json: str  # spec and subprocess specs, serialized once per version


def content_hash(bpmn: str) -> str:
    return hashlib.sha256(bpmn.encode()).hexdigest()


def parse_model(bpmn: str, process_id: str, filename: str = "model.bpmn") -> Model:
    """Parses and checks a model (see model_check); ModelError names the element at fault."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(etree.fromstring(bpmn.encode()), filename)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except etree.XMLSyntaxError as e:
        raise ModelError(f"{filename}: not well-formed XML: {e}") from None
    except (SpiffWorkflowException, ValueError) as e:
        raise ModelError(f"{filename}: {e}") from None
    try:
        check_spec(spec, _CHECK_ENVIRONMENT)
        for subprocess_spec in subprocess_specs.values():
            check_spec(subprocess_spec, _CHECK_ENVIRONMENT)
    except ModelError as e:
        raise ModelError(f"{filename}: {e}") from None
    dct = _serializer.to_dict(BpmnWorkflow(spec, subprocess_specs))
    spec_json = json.dumps({"spec": dct["spec"], "subprocess_specs": dct["subprocess_specs"]}, cls=_encoder)
    return Model(process_id, content_hash(bpmn), bpmn, spec_json)


def _dump_tasks(workflow: BpmnWorkflow) -> dict:
    """BpmnWorkflowConverter.to_dict without converting the spec, which is stored once per version:
    converting it only to drop it was a fifth of the engine's time per step."""
    converter = _registry.convert_to_dict["BpmnWorkflow"].args[1].__self__
    dct = WorkflowConverter.to_dict(converter, workflow)
    dct["subprocesses"] = converter.mapping_to_dict(workflow.subprocesses)
    dct["bpmn_events"] = _registry.convert(workflow.bpmn_events)
    dct["typename"] = _registry.typenames[type(workflow)]
    return dct


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
        super().__init__(environment=environment(calendar))
        self.caller = caller

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        # The key is the nth successful run of this element in this report, counted in the instance's
        # own data: the same after a crash and replay, and the same when a failed call is retried.
        workflow, element = task.workflow, task.task_spec.name
        runs = workflow.data.get(_RUNS, {})
        run = runs.get(element, 0) + 1
        key = f"sla:{task.data.get('tracking_id')}:{element}:{run}"
        try:
            result = json.dumps(self.caller.call(operation_name, params, key))
        except Exception as e:  # SpiffWorkflow 3.2.0 loses the cause here (NameError): keep it
            raise WorkflowTaskException(f"{operation_name} failed: {e}", task=task, exception=e) from e
        workflow.data[_RUNS] = {**runs, element: run}  # replaced, never mutated in place
        return result


_RUNS = "sla_service_task_runs"


class Engine:
    """Runs lifecycle instances: start, deliver an event, fire due timers, describe, store."""

    def __init__(self, *, calendar: WorkingCalendar, caller: ServiceCaller, clock: Clock):
        use_clock(clock)
        quiet_engine_logs()
        self.clock = clock
        self.calendar = calendar  # also for the "due soon" moment of each deadline (grpc_api)
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
        return json.dumps(_dump_tasks(workflow), cls=_encoder), SERIALIZER_VERSION

    def _spec_objects(self, model: Model) -> tuple:
        if model.content_hash not in self._specs:
            dct = json.loads(model.spec_json)
            self._specs[model.content_hash] = (
                _registry.restore(dct["spec"]),
                {name: _registry.restore(spec) for name, spec in dct["subprocess_specs"].items()})
        return self._specs[model.content_hash]

    def run(self, workflow: BpmnWorkflow, *, retry_failed: bool = True) -> str | None:
        """Runs engine steps until the instance waits; retries tasks that failed before unless the caller
        knows there are none (finding them is a walk of the whole task tree).
        Returns the error of a service task that failed now (left in ERROR for a later retry)."""
        if retry_failed:
            for task in workflow.get_tasks(state=TaskState.ERROR):
                task._set_state(TaskState.READY)
        try:
            workflow.refresh_timers()
            workflow.do_engine_steps()  # ends by refreshing timers: one that expired during the steps is READY,
            workflow.do_engine_steps()  # and runs now, not next tick
        except SpiffWorkflowException as e:
            return str(e)
        return None

    def deliver(self, workflow: BpmnWorkflow, message: str, payload: dict) -> None:
        """Hands a message to the instance; the caller checked it is waited for."""
        workflow.send_event(BpmnEvent(MessageEventDefinition(message), payload))

    def describe(self, workflow: BpmnWorkflow) -> CaseState:
        """What the instance waits for now (messages, the stage it is at), its timers and the earliest, the
        agency it is assigned to and its category: all from one walk of the task tree, the path on the way."""
        waiting, timers, stage, failed, passed, unfinished = [], [], [], [], [], []
        for task in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY | TaskState.ERROR
                                       | TaskState.COMPLETED):
            if task.state == TaskState.COMPLETED:
                if task.task_spec.bpmn_id:  # the model's elements, not the engine's own start, joins, splits
                    passed.append(task)
                continue
            unfinished.append(task.data)
            if task.state == TaskState.READY:
                continue
            if task.state == TaskState.ERROR:
                failed.append(_element(task))
                continue
            event = getattr(task.task_spec, "event_definition", None)
            definitions = event.event_definitions if isinstance(event, MultipleEventDefinition) else [event]
            for definition in definitions:
                if isinstance(definition, MessageEventDefinition):
                    waiting.append(definition.name)
                elif isinstance(definition, TimerEventDefinition):
                    # A timer under an event-based gateway keeps its time on the gateway's task.
                    value = task._get_internal_data("event_value")
                    if isinstance(value, str):
                        timers.append(self._timer(task, definition, datetime.fromisoformat(value)))
            # The stage is where the model shows the report waiting: its own elements, not the engine's
            # joins (which wait, unnamed, once a boundary branch such as an escalation has ended).
            if task.task_spec.bpmn_id and not isinstance(task.task_spec, BoundaryEvent):
                stage.append(task.task_spec.bpmn_id)
        data = unfinished + ([workflow.data] if workflow.completed else [])
        if failed:
            status = "failed"
        elif workflow.completed:
            status = "completed"
        else:
            status = "running"
        return CaseState(status=status, waiting_for=sorted(set(waiting)), failed_tasks=failed,
                         deadlines=sorted(timers, key=lambda d: d.due_at),
                         stage="completed" if workflow.completed else "+".join(sorted(stage)),
                         path=_path(passed), agency_id=_assigned_agency(data), category=_category(data))

    def _timer(self, task, definition, due_at: datetime) -> Deadline:
        properties = getattr(task.task_spec, "extensions", {}).get("properties", {})
        kind = properties.get("sla_kind", TIMER)
        owner = ""
        if kind == DEADLINE:
            owner = str(self.script_engine.evaluate(task, properties.get("sla_owner", repr(NATIONAL))))
        return Deadline(_element(task), due_at, str(task.id), kind, owner)

    @staticmethod
    def wait_ended(workflow: BpmnWorkflow, timer_task_id: str) -> tuple[bool, bool]:
        """For a boundary timer recorded earlier: (it fired, the activity it guards has ended)."""
        task = workflow.get_task_from_id(UUID(timer_task_id))
        if task is None:
            return False, True
        fired = task.state == TaskState.COMPLETED
        activity = next((c for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)), None) \
            if task.parent is not None else None
        ended = activity is None or activity.state in (TaskState.COMPLETED, TaskState.CANCELLED)
        return fired, ended


def _assigned_agency(data: list[dict]) -> str:
    """The agency the report is assigned to now, from the `assignment` the routing step left in the
    unfinished tasks' data (once finished, in the workflow's): empty before routing, and once that
    agency declined (until routed again). A closed report stays its last agency's, as in intake."""
    for values in data:
        assignment = values.get("assignment")
        if isinstance(assignment, dict) and assignment.get("agency_id"):
            agency_id = str(assignment["agency_id"])
            return "" if agency_id in values.get("declined_agencies", []) else agency_id
    return ""


def _category(data: list[dict]) -> str:
    """The report's category: as verification decided it (a `decision` with a non-empty category),
    else as submitted, from the unfinished tasks' data (once finished, the workflow's)."""
    for values in data:
        decision = values.get("decision")
        if isinstance(decision, dict) and decision.get("category"):
            return str(decision["category"])[:100]
        if values.get("category"):
            return str(values["category"])[:100]
    return ""


def _path(tasks: list) -> list[str]:
    """The elements of completed tasks in the order they completed, with an activity an interrupting
    boundary event ended (cancelled, but the report waited there) just before that event. The engine stamps
    each state change with wall time, kept in the stored state; ties (steps within one tick) keep the tree's
    depth-first order, which is the order of the flow for a sequence. Sequence flows are not recorded by the
    engine (a task keeps only the node it came from), so the path names flow nodes only."""
    passed = [(t.last_state_change, 1, t.task_spec.bpmn_id) for t in tasks]
    for task in tasks:
        if isinstance(task.task_spec, BoundaryEvent) and task.task_spec.cancel_activity and task.parent is not None:
            passed += [(task.last_state_change, 0, c.task_spec.bpmn_id) for c in task.parent.children
                       if c.state == TaskState.CANCELLED and c.task_spec.bpmn_id
                       and not isinstance(c.task_spec, BoundaryEvent)]
    return [element for _, _, element in sorted(passed, key=lambda p: p[:2])]


def _element(task) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name
