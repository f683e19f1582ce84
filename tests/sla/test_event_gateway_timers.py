"""A timer under an event-based gateway keeps its due time on the gateway's task; the engine still
finds it, so the indexed next-due time never misses it."""

from datetime import datetime, timedelta, timezone

from SpiffWorkflow.util.task import TaskState

from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine, parse_model
from tests.sla.recording_caller import RecordingCaller

MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://sp4n.example/bpmn">
  <bpmn:message id="msg_reply" name="reply_posted" />
  <bpmn:process id="gateway_case" isExecutable="true">
    <bpmn:startEvent id="begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:eventBasedGateway id="reply_or_quiet"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:eventBasedGateway>
    <bpmn:intermediateCatchEvent id="reply"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:messageEventDefinition id="m" messageRef="msg_reply" /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="quiet"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition id="t"><bpmn:timeDate xsi:type="bpmn:tFormalExpression">add_working_days(submitted_at, 2, "Asia/Jakarta")</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="replied"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="closed"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="reply_or_quiet" />
    <bpmn:sequenceFlow id="f2" sourceRef="reply_or_quiet" targetRef="reply" />
    <bpmn:sequenceFlow id="f3" sourceRef="reply_or_quiet" targetRef="quiet" />
    <bpmn:sequenceFlow id="f4" sourceRef="reply" targetRef="replied" />
    <bpmn:sequenceFlow id="f5" sourceRef="quiet" targetRef="closed" />
  </bpmn:process>
</bpmn:definitions>"""
WIB = timezone(timedelta(hours=7))


def test_a_timer_under_an_event_based_gateway_is_a_deadline_of_the_instance(clock):
    clock.set(datetime(2026, 11, 2, 10, 0, tzinfo=WIB))
    engine = Engine(calendar=WorkingCalendar(), caller=RecordingCaller(clock), clock=clock)
    model = parse_model(MODEL, "gateway_case")
    workflow = engine.start(model, {"tracking_id": "LAP-GATE0001", "submitted_at": clock.now().isoformat()})
    engine.run(workflow)
    state = engine.describe(workflow)
    assert state.waiting_for == ["reply_posted"]
    assert state.stage == "reply_or_quiet"
    assert state.next_due_at == datetime(2026, 11, 4, 23, 59, 59, tzinfo=WIB)

    clock.advance(timedelta(days=3))
    engine.run(workflow)
    assert workflow.completed
    ended = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)}
    assert "closed" in ended and "replied" not in ended
