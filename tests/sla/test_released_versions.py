"""Every released version of the lifecycle model keeps working: instances stored by it restore and run
on it, beside the newest version, whatever the services now send.

`released/` holds each released model (the model as it was) and an instance saved by it, waiting for the
verification decision. A new release adds its own pair before the model in bpmn/ changes. A saved
instance keeps the engine's key order: SpiffWorkflow restores task data as deltas, in that order.
"""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from google.protobuf import struct_pb2

from services.sla import grpc_api
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine, content_hash, parse_model
from services.sla.service import SlaService
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc
from tests.sla.recording_caller import RecordingCaller
from tests.support import ROOT, caller, service_caller

RELEASED = Path(__file__).with_name("released")
MODELS = sorted(RELEASED.glob("*.bpmn"))
CURRENT = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)
ANALYST = caller("process_analyst", "analyst-1")
INTAKE = service_caller("intake")
VERIFICATION = service_caller("verification")
# A forward decision as verification sends it now: with an edited title and a privacy flag set.
FORWARD = dict(outcome="forward", decided_at=MONDAY.isoformat(), reason="", reason_code="", category="infrastruktur",
               agency_id="", duplicate_of="", title="Jalan berlubang di depan Pasar Batulicin", anonymous=True,
               confidential=False)


# What each released version's forwarding step sends.
FORWARD_PARAMETERS = {
    "report_lifecycle.issue4": {"tracking_id", "agency_id", "agency_name"},
    "report_lifecycle.issue5": {"tracking_id", "agency_id", "agency_name", "title", "anonymous", "confidential"},
    "report_lifecycle.issue6": {"tracking_id", "agency_id", "agency_name", "title", "anonymous", "confidential"},
}
# What each released version waits for once the report is forwarded: the versions after issue 5 may also be
# dispatched to a unit.
AWAITING_AGENCY = {
    "report_lifecycle.issue4": ["agency_declined", "follow_up_posted"],
    "report_lifecycle.issue5": ["agency_declined", "follow_up_posted"],
    "report_lifecycle.issue6": ["agency_declined", "agency_dispatched", "follow_up_posted"],
}


@pytest.fixture
def clock(clock):
    clock.set(MONDAY)
    return clock


@pytest.fixture
def recorder(clock):
    return RecordingCaller(clock)


def forwards(recorder):
    return {p["tracking_id"]: p for op, p, _ in recorder.calls if op == "intake/ForwardReport"}


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_a_saved_instance_of_a_released_version_restores_and_takes_todays_decision(path, clock, recorder):
    saved = json.loads(path.with_name(f"{path.stem}.await_decision.json").read_text())
    model = parse_model(path.read_text(), "report_lifecycle")
    assert model.content_hash == saved["content_hash"] == content_hash(path.read_text())
    engine = Engine(calendar=WorkingCalendar(), caller=recorder, clock=clock)
    workflow = engine.restore(model, json.dumps(saved["state"]), saved["serializer_version"])
    assert engine.describe(workflow).waiting_for == saved["waiting_for"] == ["verification_decided"]
    engine.deliver(workflow, "verification_decided", FORWARD)
    assert engine.run(workflow) is None
    assert engine.describe(workflow).waiting_for == AWAITING_AGENCY[path.stem]
    [params] = forwards(recorder).values()
    assert params["tracking_id"] == "LAP-SAVED001"


def test_the_current_model_is_not_a_released_one_unchanged():
    """A change to bpmn/ is a new version: the released files are what ran before it."""
    assert content_hash(CURRENT) not in {content_hash(p.read_text()) for p in MODELS}


@pytest.fixture
def stub(serve, pool, clock, recorder):
    engine = Engine(calendar=WorkingCalendar(), caller=recorder, clock=clock)
    service = SlaService(pool=pool, engine=engine, clock=clock, process_id="report_lifecycle")
    return sla_pb2_grpc.SlaServiceStub(serve("sla", grpc_api.register(service)))


def deploy(stub, bpmn, key):
    return stub.DeployProcess(pb.DeployProcessRequest(idempotency_key=key, filename="lifecycle.bpmn", bpmn=bpmn),
                              metadata=ANALYST)


def start(stub, tracking_id):
    request = pb.StartCaseRequest(event_id=f"intake:{tracking_id}", tracking_id=tracking_id, category="infrastruktur",
                                  region_code="6310")
    request.submitted_at.FromDatetime(MONDAY)
    return stub.StartCase(request, metadata=INTAKE).case


def forward(stub, tracking_id):
    payload = struct_pb2.Struct()
    payload.update(FORWARD)
    return stub.SignalCase(pb.SignalCaseRequest(event_id=f"verification:{tracking_id}", tracking_id=tracking_id,
                                                message_name="verification_decided", payload=payload),
                           metadata=VERIFICATION).case


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_an_instance_on_a_released_version_keeps_its_steps_while_new_ones_take_the_new_parameters(path, stub,
                                                                                                   recorder):
    old = deploy(stub, path.read_text(), "k1")
    start(stub, "LAP-OLDV0001")
    new = deploy(stub, CURRENT, "k2")
    start(stub, "LAP-NEWV0001")
    old_case, new_case = forward(stub, "LAP-OLDV0001"), forward(stub, "LAP-NEWV0001")
    assert (old_case.process_version, new_case.process_version) == (old.content_hash, new.content_hash)
    assert old_case.stage == new_case.stage == "await_follow_up"
    # Each version waits as it did; the newest may also be dispatched to a unit.
    assert list(old_case.waiting_for) == AWAITING_AGENCY[path.stem]
    assert list(new_case.waiting_for) == ["agency_declined", "agency_dispatched", "follow_up_posted"]
    sent = forwards(recorder)
    assert set(sent["LAP-OLDV0001"]) == FORWARD_PARAMETERS[path.stem]  # the old step, as it was
    assert {k: sent["LAP-NEWV0001"][k] for k in ("title", "anonymous", "confidential")} == {
        "title": "Jalan berlubang di depan Pasar Batulicin", "anonymous": True, "confidential": False}
