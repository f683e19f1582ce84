"""The lifecycle model in bpmn/ run by the engine with simulated time: every path of the table."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine, parse_model
from tests.sla.recording_caller import RecordingCaller

MODEL = (Path(__file__).resolve().parents[2] / "bpmn" / "report_lifecycle.bpmn").read_text()
WIB = timezone(timedelta(hours=7))
WITA = timezone(timedelta(hours=8))
# Monday 2 November 2026, 10:00 WIB: no holiday in the following weeks.
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)

AWAITING_AGENCY = ["agency_declined", "agency_dispatched", "follow_up_posted"]  # a follow-up, a decline, a dispatch


def due(state, timer):
    """When the named timer of a described instance is due."""
    [deadline] = [d for d in state.deadlines if d.name == timer]
    return deadline.due_at


def breach_notices(caller):
    """Who was told of a missed deadline, in order: (event, recipient, agency id, the agency named late)."""
    return [(p["event"], p["recipient"], p.get("agency_id"), p.get("params", {}).get("agency"))
            for op, p, _ in caller.calls
            if op == "notify/SendNotification" and p["event"] in ("deadline_missed", "escalation")]


@pytest.fixture
def clock(clock):
    clock.set(MONDAY)
    return clock


@pytest.fixture
def caller(clock):
    return RecordingCaller(clock)


@pytest.fixture
def engine(clock, caller):
    return Engine(calendar=WorkingCalendar(), caller=caller, clock=clock)


@pytest.fixture
def model():
    return parse_model(MODEL, "report_lifecycle")


class Case:
    """One report's instance, stored and restored between steps as sla does."""

    def __init__(self, engine, model, clock):
        self.engine, self.model, self.clock = engine, model, clock
        wf = engine.start(model, {"tracking_id": "LAP-TEST0001", "submitted_at": clock.now().isoformat(),
                                  "category": "infrastruktur", "region_code": "6310", "suggested_agency_id": ""})
        assert engine.run(wf) is None
        self.state, self.version = engine.dump(wf)

    def _step(self, action=None):
        wf = self.engine.restore(self.model, self.state, self.version)
        if action:
            action(wf)
        error = self.engine.run(wf)
        self.state, self.version = self.engine.dump(wf)
        self.description = self.engine.describe(wf)
        return error

    def send(self, message, **payload):
        return self._step(lambda wf: self.engine.deliver(wf, message, payload))

    def advance(self, **span):
        self.clock.advance(timedelta(**span))
        return self._step()

    def describe(self):
        self._step()
        return self.description

    def decide(self, outcome, **fields):
        decision = dict(outcome=outcome, decided_at=self.clock.now().isoformat(), reason="", category="",
                        agency_id="", duplicate_of="") | fields
        return self.send("verification_decided", **decision)


@pytest.fixture
def case(engine, model, clock):
    return Case(engine, model, clock)


def test_a_new_report_is_acknowledged_queued_and_waits_for_verification_for_3_working_days(case, caller):
    assert caller.notifications() == [("received", "reporter")]
    [(op, params, key)] = [c for c in caller.calls if c[0] == "verification/EnqueueReport"]
    assert params["due_at"] == "2026-11-05T23:59:59+07:00"  # Thursday, WIB
    assert key == "sla:LAP-TEST0001:enqueue_verification:1"
    state = case.describe()
    assert state.waiting_for == ["verification_decided"]
    assert [(d.name, d.kind, d.owner, d.due_at) for d in state.deadlines] == [
        ("verification_reminder", "reminder", "", datetime(2026, 11, 5, 0, 0, tzinfo=WIB)),
        ("verification_overdue", "deadline", "national", datetime(2026, 11, 5, 23, 59, 59, tzinfo=WIB))]
    assert state.stage == "await_decision"


def test_forward_follow_up_and_closure_after_10_quiet_working_days(case, caller, clock):
    case.decide("forward", category="infrastruktur")
    assert [c[0] for c in caller.calls][-4:] == ["routing/AssignReport", "intake/ForwardReport",
                                                 "notify/SendNotification", "notify/SendNotification"]
    assert caller.notifications()[-2:] == [("forwarded", "reporter"), ("new_assignment", "agency")]
    state = case.describe()
    assert state.waiting_for == AWAITING_AGENCY
    # Forwarded Monday 2 Nov in WITA: 5 working days is Monday 9 Nov, 23:59:59 WITA.
    assert due(state, "follow_up_overdue") == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WITA)

    clock.advance(timedelta(days=1))
    case.send("follow_up_posted", posted_at=clock.now().isoformat(), entry_id="1", agency_id="x")
    assert caller.notifications()[-1] == ("follow_up_posted", "reporter")
    assert case.description.waiting_for == ["reply_posted"]
    # Follow-up Tuesday 3 Nov: 10 working days later is Tuesday 17 Nov.
    assert due(case.description, "quiet_period_over") == datetime(2026, 11, 17, 23, 59, 59, tzinfo=WITA)

    case.advance(days=13)  # Monday 16 Nov: not yet
    assert case.description.status == "running"
    case.advance(days=2)
    assert case.description.status == "completed"
    assert caller.statuses()[-1] == "REPORT_STATUS_CLOSED"
    assert caller.notifications()[-1] == ("closed", "reporter")


def test_a_reply_sends_the_report_back_to_the_agency_with_a_fresh_5_day_deadline(case, caller, clock):
    case.decide("forward")
    case.send("follow_up_posted", posted_at=clock.now().isoformat())
    clock.advance(timedelta(days=3))  # Thursday 5 Nov
    case.send("reply_posted", posted_at=clock.now().isoformat(), author="reporter")
    assert case.description.waiting_for == AWAITING_AGENCY
    assert due(case.description, "follow_up_overdue") == datetime(2026, 11, 12, 23, 59, 59, tzinfo=WITA)
    case.send("follow_up_posted", posted_at=clock.now().isoformat())
    assert case.description.waiting_for == ["reply_posted"]
    assert caller.notifications().count(("follow_up_posted", "reporter")) == 2


def test_a_missed_follow_up_deadline_tells_the_agency_national_admins_and_escalates_to_the_parent(case, caller):
    case.decide("forward")
    case.advance(days=8)  # past Monday 9 Nov
    late = "Agency kab-tanah-bumbu-dinas-pupr"
    assert breach_notices(caller) == [("deadline_missed", "national_admins", None, late),
                                      ("deadline_missed", "agency", "kab-tanah-bumbu-dinas-pupr", late),
                                      ("escalation", "agency", "kab-tanah-bumbu", late)]
    [escalation] = [p for op, p, _ in caller.calls if p.get("event") == "escalation"]
    assert escalation["params"] == {"deadline": "tindak lanjut", "agency": late}
    assert case.description.status == "running"
    assert case.description.waiting_for == AWAITING_AGENCY  # the agency must still answer
    assert case.description.stage == "await_follow_up"


def test_an_agency_without_a_parent_is_told_and_nobody_above_it_is_escalated_to(case, caller, clock):
    caller.parents["kab-tanah-bumbu-dinas-pupr"] = ""  # the top of the directory
    case.decide("forward")
    assert case.advance(days=8) is None  # no notification to an agency without an id: nothing fails
    late = "Agency kab-tanah-bumbu-dinas-pupr"
    assert breach_notices(caller) == [("deadline_missed", "national_admins", None, late),
                                      ("deadline_missed", "agency", "kab-tanah-bumbu-dinas-pupr", late)]
    assert case.description.status == "running" and case.description.failed_tasks == []
    assert case.description.stage == "await_follow_up"
    # The process goes on as ever: the late follow-up is taken, and the report closes after the quiet period.
    case.send("follow_up_posted", posted_at=clock.now().isoformat())
    assert case.description.waiting_for == ["reply_posted"]
    case.advance(days=20)
    assert case.description.status == "completed"
    assert caller.notifications()[-1] == ("closed", "reporter")


def test_the_national_desk_is_not_escalated_to_itself(case, caller, clock):
    case.decide("forward")
    for agency_id in ("kab-tanah-bumbu-dinas-pupr", "kab-tanah-bumbu"):  # routing falls back to the national desk
        case.send("agency_declined", agency_id=agency_id, reason="bukan wewenang", declined_at=clock.now().isoformat())
    case.advance(days=8)
    assert breach_notices(caller) == [("deadline_missed", "national_admins", None, "Agency nasional"),
                                      ("deadline_missed", "agency", "nasional", "Agency nasional")]
    # The desk is told it is late once, as the overdue agency, not escalated to as its own parent.
    assert not [key for _, _, key in caller.calls if ":escalate_to_parent:" in key]
    assert case.description.status == "running" and case.description.waiting_for == AWAITING_AGENCY


def test_a_missed_verification_deadline_escalates_and_keeps_waiting(case, caller):
    case.advance(days=4)
    assert sorted(caller.notifications()[-2:]) == [("deadline_approaching", "national_admins"),
                                                   ("deadline_missed", "national_admins")]
    assert case.description.waiting_for == ["verification_decided"]


def test_archive_tells_the_reporter_why(case, caller):
    case.decide("archive", reason="Bukan pelayanan publik")
    assert case.description.status == "completed"
    assert caller.statuses() == ["REPORT_STATUS_ARCHIVED"]
    assert [p["params"] for op, p, _ in caller.calls if p.get("event") == "archived"] == [
        {"reason": "Bukan pelayanan publik"}]


def test_duplicate_points_the_reporter_to_the_original(case, caller):
    case.decide("duplicate", duplicate_of="LAP-ORIGINAL")
    assert caller.statuses() == ["REPORT_STATUS_DUPLICATE"]
    assert caller.notifications()[-1] == ("duplicate", "reporter")


def test_hold_keeps_the_report_waiting_for_a_decision(case, caller):
    case.decide("hold", reason="Menunggu konfirmasi")
    assert caller.statuses() == ["REPORT_STATUS_ON_HOLD"]
    assert case.description.waiting_for == ["verification_decided"]
    case.decide("forward")
    assert case.description.waiting_for == AWAITING_AGENCY


def test_needs_completion_then_completed_goes_back_to_verification(case, caller, clock):
    case.decide("needs_completion", reason="Lokasi kurang jelas")
    assert caller.statuses() == ["REPORT_STATUS_NEEDS_COMPLETION"]
    assert case.description.waiting_for == ["report_completed"]
    clock.advance(timedelta(days=2))  # Wednesday 4 Nov
    case.send("report_completed", completed_at=clock.now().isoformat())
    assert case.description.waiting_for == ["verification_decided"]
    enqueues = [(p["due_at"], key) for op, p, key in caller.calls if op == "verification/EnqueueReport"]
    assert enqueues[-1] == ("2026-11-09T23:59:59+07:00", "sla:LAP-TEST0001:enqueue_verification:2")


def test_needs_completion_not_completed_in_time_is_archived(case, caller):
    case.decide("needs_completion", reason="Lokasi kurang jelas")
    case.advance(days=15)
    assert case.description.status == "completed"
    assert caller.statuses()[-1] == "REPORT_STATUS_ARCHIVED"
    assert caller.notifications()[-1] == ("archived", "reporter")


def test_a_failed_service_task_is_kept_and_retried(case, caller):
    caller.failing.add("routing/AssignReport")
    error = case.send("verification_decided", outcome="forward", decided_at="2026-11-02T10:00:00+07:00",
                      category="", agency_id="", reason="", duplicate_of="")
    assert "routing/AssignReport failed" in error
    assert case.description.status == "failed"
    assert case.description.failed_tasks == ["assign_agency"]
    caller.failing.clear()
    assert case.advance(seconds=1) is None
    assert case.description.waiting_for == AWAITING_AGENCY


def test_an_agency_that_declines_is_excluded_and_the_next_agency_gets_a_fresh_5_day_deadline(case, caller, clock):
    case.decide("forward")
    clock.advance(timedelta(days=2))  # Wednesday 4 Nov
    case.send("agency_declined", agency_id="kab-tanah-bumbu-dinas-pupr", reason="bukan wewenang",
              declined_at=clock.now().isoformat())
    assigns = [p for op, p, _ in caller.calls if op == "routing/AssignReport"]
    assert [a["excluded_agency_ids"] for a in assigns] == [[], ["kab-tanah-bumbu-dinas-pupr"]]
    forwards = [p["agency_id"] for op, p, _ in caller.calls if op == "intake/ForwardReport"]
    assert forwards == ["kab-tanah-bumbu-dinas-pupr", "kab-tanah-bumbu"]
    assert case.description.waiting_for == AWAITING_AGENCY
    # Re-assigned Wednesday 4 Nov: 5 working days later is Wednesday 11 Nov, in the agency's zone.
    assert due(case.description, "follow_up_overdue") == datetime(2026, 11, 11, 23, 59, 59, tzinfo=WITA)
    assert caller.notifications().count(("new_assignment", "agency")) == 2


def test_the_agency_is_reminded_on_its_last_working_day_and_at_breach_it_national_and_parent_are_told(case, caller):
    case.decide("forward")  # Monday 2 Nov: due Monday 9 Nov, WITA
    case.advance(days=6)  # Sunday 8 Nov: nothing yet
    assert ("deadline_approaching", "agency") not in caller.notifications()
    case.advance(hours=18)  # Monday 9 Nov, 03:00 WIB = 04:00 WITA: the last working day has begun
    assert caller.notifications()[-1] == ("deadline_approaching", "agency")
    assert breach_notices(caller) == []
    case.advance(days=1)  # Tuesday: breached
    assert [(event, recipient, agency_id) for event, recipient, agency_id, _ in breach_notices(caller)] == [
        ("deadline_missed", "national_admins", None), ("deadline_missed", "agency", "kab-tanah-bumbu-dinas-pupr"),
        ("escalation", "agency", "kab-tanah-bumbu")]
    assert case.description.waiting_for == AWAITING_AGENCY  # the agency must still answer


def test_after_closure_the_process_waits_for_nothing(case, clock):
    case.decide("forward")
    case.send("follow_up_posted", posted_at=clock.now().isoformat())
    case.advance(days=20)
    assert case.description.status == "completed" and case.description.waiting_for == []
    assert case.description.stage == "completed"


def test_an_escalation_does_not_change_the_stage(case):
    case.advance(days=4)  # reminder and escalation have run; the report still waits for a decision
    assert case.description.stage == "await_decision"


def test_the_administrators_title_and_privacy_flags_reach_the_forwarding_step(case, caller):
    case.decide("forward", category="infrastruktur", title="Jalan berlubang di depan Pasar Batulicin",
                anonymous=True, confidential=False)
    [(params, key)] = [(p, k) for op, p, k in caller.calls if op == "intake/ForwardReport"]
    assert params == {"tracking_id": "LAP-TEST0001", "agency_id": "kab-tanah-bumbu-dinas-pupr",
                      "agency_name": "Agency kab-tanah-bumbu-dinas-pupr",
                      "title": "Jalan berlubang di depan Pasar Batulicin", "anonymous": True, "confidential": False}
    assert key == "sla:LAP-TEST0001:forward_report:1"


def test_a_decision_without_the_new_fields_forwards_the_report_unchanged(case, caller):
    # A decision recorded before verification sent titles and flags (its event still in the outbox).
    case.send("verification_decided", outcome="forward", decided_at=case.clock.now().isoformat(), reason="",
              category="", agency_id="", duplicate_of="")
    [params] = [p for op, p, _ in caller.calls if op == "intake/ForwardReport"]
    assert (params["title"], params["anonymous"], params["confidential"]) == ("", False, False)


def test_re_routing_after_a_decline_forwards_with_the_same_decision(case, caller, clock):
    case.decide("forward", title="Jalan berlubang di depan Pasar Batulicin", confidential=True)
    case.send("agency_declined", agency_id="kab-tanah-bumbu-dinas-pupr", reason="bukan wewenang",
              declined_at=clock.now().isoformat())
    forwards = [(p["agency_id"], p["title"], p["confidential"]) for op, p, _ in caller.calls
                if op == "intake/ForwardReport"]
    assert forwards == [("kab-tanah-bumbu-dinas-pupr", "Jalan berlubang di depan Pasar Batulicin", True),
                        ("kab-tanah-bumbu", "Jalan berlubang di depan Pasar Batulicin", True)]


def test_an_archive_reason_from_the_list_is_what_the_reporter_is_told(case, caller):
    case.decide("archive", reason="Terlalu umum: sebutkan instansinya", reason_code="too_general")
    assert [p["reason"] for op, p, _ in caller.calls if op == "intake/SetReportStatus"] == [
        "Terlalu umum: sebutkan instansinya"]
    assert [p["params"] for op, p, _ in caller.calls if p.get("event") == "archived"] == [
        {"reason": "Terlalu umum: sebutkan instansinya"}]


UNIT = "kab-tanah-bumbu-dinas-pupr-uptd-jalan"


def dispatch(case, clock, agency_id=UNIT, parent_id="kab-tanah-bumbu-dinas-pupr"):
    return case.send("agency_dispatched", assignment_id="7", agency_id=agency_id, agency_name=f"Unit {agency_id}",
                     timezone="Asia/Makassar", parent_id=parent_id, assigned_at=clock.now().isoformat(),
                     from_agency_id=parent_id)


def test_a_dispatch_forwards_to_the_unit_which_keeps_the_agencys_deadline(case, caller, clock):
    case.decide("forward")  # Monday 2 Nov: the agency's follow-up is due Monday 9 Nov, WITA
    before = due(case.description, "follow_up_overdue")
    clock.advance(timedelta(days=2))
    assert dispatch(case, clock) is None
    forwards = [p for op, p, _ in caller.calls if op == "intake/ForwardReport"]
    assert [f["agency_id"] for f in forwards] == ["kab-tanah-bumbu-dinas-pupr", UNIT]
    assert forwards[1] == {"tracking_id": "LAP-TEST0001", "agency_id": UNIT, "agency_name": f"Unit {UNIT}"}
    told = [p.get("agency_id") for op, p, _ in caller.calls if p.get("event") == "new_assignment"]
    assert told == ["kab-tanah-bumbu-dinas-pupr", UNIT]
    assert ("forwarded", "reporter") in caller.notifications() and caller.notifications().count(
        ("forwarded", "reporter")) == 1  # an agency's internal dispatch is no new forwarding for the reporter
    assert case.description.waiting_for == AWAITING_AGENCY
    assert due(case.description, "follow_up_overdue") == before == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WITA)
    # The unit answers: the reporter hears it from the unit.
    case.send("follow_up_posted", posted_at=clock.now().isoformat())
    [told] = [p for op, p, _ in caller.calls if p.get("event") == "follow_up_posted"]
    assert told["params"]["agency"] == f"Unit {UNIT}"


def test_a_unit_that_misses_the_deadline_is_escalated_to_the_agency_that_dispatched_it(case, caller, clock):
    case.decide("forward")
    dispatch(case, clock)
    case.advance(days=8)  # past Monday 9 Nov
    assert breach_notices(caller) == [("deadline_missed", "national_admins", None, f"Unit {UNIT}"),
                                      ("deadline_missed", "agency", UNIT, f"Unit {UNIT}"),
                                      ("escalation", "agency", "kab-tanah-bumbu-dinas-pupr", f"Unit {UNIT}")]


def test_a_unit_that_declines_is_excluded_when_the_report_is_routed_again(case, caller, clock):
    case.decide("forward")
    dispatch(case, clock)
    case.send("agency_declined", agency_id=UNIT, reason="bukan wewenang", declined_at=clock.now().isoformat())
    assigns = [p["excluded_agency_ids"] for op, p, _ in caller.calls if op == "routing/AssignReport"]
    assert assigns == [[], [UNIT]]
    assert case.description.waiting_for == AWAITING_AGENCY


def test_a_dispatch_after_a_missed_deadline_leaves_the_unit_overdue_at_once(case, caller, clock):
    case.decide("forward")
    case.advance(days=8)  # the agency missed Monday 9 Nov
    assert [(event, agency_id) for event, _, agency_id, _ in breach_notices(caller)] == [
        ("deadline_missed", None), ("deadline_missed", "kab-tanah-bumbu-dinas-pupr"), ("escalation", "kab-tanah-bumbu")]
    dispatch(case, clock)
    # The deadline does not move with the report: the unit inherits it, already passed, is told so, and
    # the escalation names the unit, to the agency that dispatched it.
    assert breach_notices(caller)[3:] == [("deadline_missed", "national_admins", None, f"Unit {UNIT}"),
                                          ("deadline_missed", "agency", UNIT, f"Unit {UNIT}"),
                                          ("escalation", "agency", "kab-tanah-bumbu-dinas-pupr", f"Unit {UNIT}")]
    assert case.description.waiting_for == AWAITING_AGENCY


NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}


def test_the_diagram_draws_every_element_and_every_flow_between_its_ends():
    """The engine ignores the diagram, but bpmn.io and the analysts need it: an element added without its
    shape, or a flow drawn from the wrong place, shows only when someone opens the file."""
    tree = etree.fromstring(MODEL.encode())
    process = tree.find("bpmn:process", NS)
    flows = {f.get("id"): (f.get("sourceRef"), f.get("targetRef")) for f in process.findall("bpmn:sequenceFlow", NS)}
    nodes = {e.get("id") for e in process if etree.QName(e).localname not in ("sequenceFlow", "documentation")}
    shapes = {s.get("bpmnElement"): [float(s.find("dc:Bounds", NS).get(k)) for k in ("x", "y", "width", "height")]
              for s in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.findall("di:waypoint", NS)]
             for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert set(shapes) == nodes and set(edges) == set(flows)

    def on(point, element):
        x, y, width, height = shapes[element]
        return x - 1 <= point[0] <= x + width + 1 and y - 1 <= point[1] <= y + height + 1

    misdrawn = [f for f, (source, target) in flows.items() if not (on(edges[f][0], source) and on(edges[f][-1], target))]
    assert misdrawn == []
