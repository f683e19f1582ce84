"""What process analysts read from sla, through a real gRPC server and PostgreSQL with simulated time: a
version's model and what changed between versions, the cockpit per element, the reports waiting at an
element, and the deadline statistics per agency and per category."""

from datetime import datetime, timedelta, timezone

import grpc
import pytest
from google.protobuf import struct_pb2

from services.sla import grpc_api
from services.sla.engine import content_hash
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc
from tests.sla.recording_caller import RecordingCaller
from tests.sla.test_grpc_api import service  # noqa: F401 (a fixture: the lifecycle on this module's recorder)
from tests.support import ROOT, caller, field_violation, service_caller

INTAKE = service_caller("intake")
VERIFICATION = service_caller("verification")
ANALYST = caller("process_analyst", "analyst-1")
WIB = timezone(timedelta(hours=7))
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)  # a Monday
AGENCY = "kab-tanah-bumbu-dinas-pupr"  # where the recorded routing assigns every report
HOUR, DAY = 3600, 86400


def about(*values):
    """The clock runs on between the steps a test sets it to: times are exact to a few seconds."""
    return pytest.approx(values, rel=1e-3)


MODEL = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
ISSUE6 = (ROOT / "tests" / "sla" / "released" / "report_lifecycle.issue6.bpmn").read_text()


@pytest.fixture
def recorder(clock):
    clock.set(T0)
    return RecordingCaller(clock)



@pytest.fixture
def stub(serve, service):
    return sla_pb2_grpc.SlaServiceStub(serve("sla", grpc_api.register(service)))


def start(stub, tracking_id, clock):
    request = pb.StartCaseRequest(event_id=f"start:{tracking_id}", tracking_id=tracking_id, category="infrastruktur",
                                  region_code="6310")
    request.submitted_at.FromDatetime(clock.now())
    stub.StartCase(request, metadata=INTAKE)


def signal(stub, tracking_id, message, metadata, **payload):
    struct = struct_pb2.Struct()
    struct.update(payload)
    return stub.SignalCase(pb.SignalCaseRequest(event_id=f"{message}:{tracking_id}", tracking_id=tracking_id,
                                                message_name=message, payload=struct), metadata=metadata)


def forward(stub, tracking_id, clock, category=""):
    signal(stub, tracking_id, "verification_decided", VERIFICATION, outcome="forward",
           decided_at=clock.now().isoformat(), reason="", category=category, agency_id="", duplicate_of="")


def follow_up(stub, tracking_id, clock):
    signal(stub, tracking_id, "follow_up_posted", INTAKE, posted_at=clock.now().isoformat(), entry_id="1",
           agency_id=AGENCY)


@pytest.fixture
def three_reports(stub, service, clock):
    """A stays at verification and is overdue there; B is forwarded after 1 hour (verification re-files it
    under "lingkungan") and followed up 4 days later, then waits for the reporter; C is forwarded after
    1 hour, followed up 2 hours later and closed 16 days after it came in (10 quiet working days)."""
    for t in ("LAP-CASE000A", "LAP-CASE000B", "LAP-CASE000C"):
        start(stub, t, clock)
    clock.advance(timedelta(hours=1))
    forward(stub, "LAP-CASE000B", clock, category="lingkungan")
    forward(stub, "LAP-CASE000C", clock)
    clock.advance(timedelta(hours=2))
    follow_up(stub, "LAP-CASE000C", clock)
    clock.set(T0 + timedelta(days=4))  # Friday: A's verification deadline (Thursday 23:59:59 WIB) has passed
    follow_up(stub, "LAP-CASE000B", clock)
    clock.set(T0 + timedelta(days=16))  # C's quiet period is over, B's is not
    service.fire_due()


def by_id(cockpit):
    return {e.element_id: e for e in cockpit.elements}


def test_the_cockpit_counts_waiting_and_overdue_reports_and_the_median_time_at_each_element(stub, three_reports):
    cockpit = stub.GetProcessCockpit(pb.GetProcessCockpitRequest(), metadata=ANALYST)
    assert cockpit.version.newest and cockpit.version.bpmn == MODEL
    elements = by_id(cockpit)
    assert len(elements) == len(cockpit.elements) == 61  # every flow node of the model, waiting or not
    decision, follow, reply = elements["await_decision"], elements["await_follow_up"], elements["await_reply"]
    assert (decision.type, decision.name) == ("receiveTask", "Tunggu keputusan verifikasi")
    # A waits at verification, overdue; B and C each left it after 1 hour.
    assert (decision.waiting, decision.overdue, decision.visits, decision.median_seconds) == about(1, 1, 2, HOUR)
    # Nobody waits for a follow-up now; B waited 4 days less 1 hour, C 2 hours: the median is halfway.
    assert (follow.waiting, follow.overdue, follow.visits) == (0, 0, 2)
    assert (follow.median_seconds,) == about((4 * DAY - HOUR + 2 * HOUR) / 2)
    # B waits for the reporter, with no deadline open; C waited there from hour 3 until it closed on day 16.
    assert (reply.waiting, reply.overdue, reply.visits, reply.median_seconds) == about(1, 0, 1, 16 * DAY - 3 * HOUR)
    assert (elements["report_closed"].waiting, elements["report_closed"].visits) == (0, 0)


def test_the_reports_at_an_element_tell_their_agency_category_arrival_and_deadline(stub, three_reports):
    [b] = stub.ListCasesAt(pb.ListCasesAtRequest(element_id="await_reply"), metadata=ANALYST).cases
    assert (b.tracking_id, b.agency_id, b.category, b.overdue) == ("LAP-CASE000B", AGENCY, "lingkungan", False)
    assert abs(b.entered_at.ToDatetime(tzinfo=timezone.utc) - (T0 + timedelta(days=4))) < timedelta(seconds=10)
    assert not b.HasField("due_at")
    [a] = stub.ListCasesAt(pb.ListCasesAtRequest(element_id="await_decision"), metadata=ANALYST).cases
    assert (a.tracking_id, a.agency_id, a.category, a.overdue) == ("LAP-CASE000A", "", "infrastruktur", True)
    assert a.due_at.ToDatetime(tzinfo=timezone.utc) == datetime(2026, 11, 5, 23, 59, 59, tzinfo=WIB)


def test_a_case_tells_the_path_it_took_and_its_category(stub, three_reports):
    closed = stub.GetCase(pb.GetCaseRequest(tracking_id="LAP-CASE000C"), metadata=ANALYST)
    assert closed.category == "infrastruktur"
    path = list(closed.path)
    assert path[:9] == ["report_submitted", "prepare_case", "notify_received", "merge_verification",
                        "set_verification_deadline", "enqueue_verification", "merge_decision", "await_decision",
                        "decision_outcome"]
    for earlier, later in [("assign_agency", "await_follow_up"), ("await_follow_up", "notify_follow_up"),
                           ("await_reply", "quiet_period_over"), ("quiet_period_over", "close_report")]:
        assert path.index(earlier) < path.index(later)
    assert path[-1] == "report_closed"
    assert "verification_overdue" not in path and "report_archived" not in path
    overdue = stub.GetCase(pb.GetCaseRequest(tracking_id="LAP-CASE000A"), metadata=ANALYST)
    assert "verification_overdue" in overdue.path and "escalate_verification" in overdue.path
    assert "await_decision" not in overdue.path  # still waiting there
    forwarded = stub.GetCase(pb.GetCaseRequest(tracking_id="LAP-CASE000B"), metadata=ANALYST)
    assert forwarded.category == "lingkungan"  # as verification decided


def figures(statistics):
    keys = ["deadlines", "met_on_time", "share_met", "backlog", "follow_ups", "median_follow_up_seconds", "closures",
            "median_closure_seconds"]
    table = {f"agency:{f.key}": f for f in statistics.by_agency} | {f"category:{f.key}": f
                                                                    for f in statistics.by_category}
    return {key: about(*(getattr(f, k) for k in keys)) for key, f in table.items()} | {
        "overall": about(*(getattr(statistics.overall, k) for k in keys))}


def test_statistics_per_agency_and_category_count_deadlines_backlog_and_medians(stub, three_reports):
    """Deadlines: A's verification came due unmet (national), B's and C's were met in time (national), B's
    and C's follow-ups were met in time (the agency). Follow-ups took 4 days less 1 hour (B) and 2 hours (C);
    C closed 16 days after it started. A (no agency yet: national) and B (the agency) are running."""
    follow_b, follow_c, closure_c = 4 * DAY - HOUR, 2 * HOUR, 16 * DAY
    assert figures(stub.GetStatistics(pb.GetStatisticsRequest(), metadata=ANALYST)) == {
        "agency:national": (3, 2, 2 / 3, 1, 0, 0.0, 0, 0.0),
        f"agency:{AGENCY}": (2, 2, 1.0, 1, 2, (follow_b + follow_c) / 2, 1, closure_c),
        "category:infrastruktur": (3, 2, 2 / 3, 1, 1, follow_c, 1, closure_c),
        "category:lingkungan": (2, 2, 1.0, 1, 1, follow_b, 0, 0.0),
        "overall": (5, 4, 0.8, 2, 2, (follow_b + follow_c) / 2, 1, closure_c),
    }


def test_statistics_of_a_period_count_what_happened_in_it(stub, three_reports):
    request = pb.GetStatisticsRequest()
    request.to.FromDatetime(T0 + timedelta(days=1))
    getattr(request, "from").FromDatetime(T0 + timedelta(hours=2))
    # Only C's follow-up (hour 3) falls in it; the backlog is now's.
    assert figures(stub.GetStatistics(request, metadata=ANALYST))["overall"] == (1, 1, 1.0, 2, 1, 2 * HOUR, 0, 0.0)
    request.to.FromDatetime(T0 + timedelta(days=20))
    # A's verification came due on Thursday, B was followed up on Friday, C closed on day 16.
    assert figures(stub.GetStatistics(request, metadata=ANALYST))["overall"] == (
        3, 2, 2 / 3, 2, 2, (4 * DAY - HOUR + 2 * HOUR) / 2, 1, 16 * DAY)


def test_the_reports_at_an_element_come_most_overdue_first_in_pages(stub, clock):
    for n in (1, 2):
        start(stub, f"LAP-PAGE000{n}", clock)
    clock.advance(timedelta(days=3))  # Thursday: these are due in working days from Thursday
    for n in (5, 4, 3):
        start(stub, f"LAP-PAGE000{n}", clock)
    start(stub, "LAP-PAGE0009", clock)
    forward(stub, "LAP-PAGE0009", clock)  # no longer at verification
    clock.advance(timedelta(days=1))  # Friday: the first two are overdue
    pages, token = [], ""
    while True:
        page = stub.ListCasesAt(pb.ListCasesAtRequest(element_id="await_decision", page_size=2, page_token=token),
                                metadata=ANALYST)
        pages.append([(c.tracking_id, c.overdue) for c in page.cases])
        token = page.next_page_token
        if not token:
            break
    assert pages == [[("LAP-PAGE0001", True), ("LAP-PAGE0002", True)],
                     [("LAP-PAGE0003", False), ("LAP-PAGE0004", False)], [("LAP-PAGE0005", False)]]
    with pytest.raises(grpc.RpcError) as e:  # a token belongs to its element
        stub.ListCasesAt(pb.ListCasesAtRequest(element_id="await_follow_up", page_token=page_token(stub)),
                         metadata=ANALYST)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violation(e.value) == "page_token"


def page_token(stub):
    return stub.ListCasesAt(pb.ListCasesAtRequest(element_id="await_decision", page_size=1),
                            metadata=ANALYST).next_page_token


def test_a_version_comes_with_its_model_and_the_escalation_change_is_named_element_by_element(stub):
    newest = stub.GetProcessVersion(pb.GetProcessVersionRequest(), metadata=ANALYST)
    assert newest.newest and newest.bpmn == MODEL and newest.content_hash == content_hash(MODEL)
    older = stub.DeployProcess(pb.DeployProcessRequest(idempotency_key="deploy-issue6", filename="issue6.bpmn",
                                                       bpmn=ISSUE6), metadata=ANALYST)
    again = stub.GetProcessVersion(pb.GetProcessVersionRequest(content_hash=newest.content_hash), metadata=ANALYST)
    assert again.bpmn == MODEL and not again.newest
    answer = stub.CompareProcessVersions(pb.CompareProcessVersionsRequest(
        from_content_hash=older.content_hash, to_content_hash=newest.content_hash), metadata=ANALYST)
    assert (getattr(answer, "from").content_hash, answer.to.content_hash) == (older.content_hash, newest.content_hash)
    assert not answer.to.bpmn
    changes = {c.element_id: (c.change, c.type, list(c.what)) for c in answer.changes}
    assert changes == {
        "notify_agency_overdue": ("added", "serviceTask", []),
        "parent_to_escalate": ("added", "exclusiveGateway", []),
        "flow_escalate_follow_up_notify_agency_overdue": ("added", "sequenceFlow", []),
        "flow_notify_agency_overdue_parent_to_escalate": ("added", "sequenceFlow", []),
        "flow_parent_to_escalate_escalate_to_parent": ("added", "sequenceFlow", []),
        "flow_parent_to_escalate_follow_up_escalated": ("added", "sequenceFlow", []),
        "escalate_to_parent": ("changed", "serviceTask", ["extensions", "incoming"]),
        "escalate_follow_up": ("changed", "serviceTask", ["outgoing"]),
        "follow_up_escalated": ("changed", "endEvent", ["incoming"]),
        "flow_escalate_follow_up_escalate_to_parent": ("removed", "sequenceFlow", []),
        # The decision's outcomes were named since, for bpmnlint's label-required.
        **{f"flow_decision_outcome_{target}": ("changed", "sequenceFlow", ["name"]) for target in (
            "merge_routing", "request_completion", "archive_report", "mark_duplicate", "mark_on_hold")},
    }
    assert [c.change for c in answer.changes][-1] == "removed"  # the removed ones come last
    same = stub.CompareProcessVersions(pb.CompareProcessVersionsRequest(
        from_content_hash=newest.content_hash, to_content_hash=newest.content_hash), metadata=ANALYST)
    assert list(same.changes) == []


def test_national_administrators_and_services_read_too(stub):
    for metadata in (caller("national_admin", "admin-1"), service_caller("portal")):
        assert stub.GetProcessCockpit(pb.GetProcessCockpitRequest(), metadata=metadata).elements
        stub.GetStatistics(pb.GetStatisticsRequest(), metadata=metadata)


ALL_FIVE = [
    lambda s, m: s.GetProcessVersion(pb.GetProcessVersionRequest(), metadata=m),
    lambda s, m: s.CompareProcessVersions(pb.CompareProcessVersionsRequest(
        from_content_hash=content_hash(MODEL), to_content_hash=content_hash(MODEL)), metadata=m),
    lambda s, m: s.GetProcessCockpit(pb.GetProcessCockpitRequest(), metadata=m),
    lambda s, m: s.ListCasesAt(pb.ListCasesAtRequest(element_id="await_decision"), metadata=m),
    lambda s, m: s.GetStatistics(pb.GetStatisticsRequest(), metadata=m),
]


@pytest.mark.parametrize("metadata", [caller("agency_admin", "a-1", AGENCY), caller("liaison_officer", "l-1", AGENCY),
                                      caller("reporter", "LAP-CASE000A")], ids=["agency_admin", "liaison", "reporter"])
def test_everyone_else_is_refused(stub, metadata):
    for rpc in ALL_FIVE:
        with pytest.raises(grpc.RpcError) as e:
            rpc(stub, metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("call, field", [
    (lambda s: s.GetProcessVersion(pb.GetProcessVersionRequest(content_hash="abc")), "content_hash"),
    (lambda s: s.GetProcessCockpit(pb.GetProcessCockpitRequest(content_hash="x" * 64)), "content_hash"),
    (lambda s: s.CompareProcessVersions(pb.CompareProcessVersionsRequest(to_content_hash=content_hash(MODEL))),
     "from_content_hash"),
    (lambda s: s.CompareProcessVersions(pb.CompareProcessVersionsRequest(from_content_hash=content_hash(MODEL))),
     "to_content_hash"),
    (lambda s: s.ListCasesAt(pb.ListCasesAtRequest()), "element_id"),
    (lambda s: s.ListCasesAt(pb.ListCasesAtRequest(element_id="no_such_element")), "element_id"),
    (lambda s: s.ListCasesAt(pb.ListCasesAtRequest(element_id="await_decision", page_size=201)), "page_size"),
    (lambda s: s.ListCasesAt(pb.ListCasesAtRequest(element_id="await_decision", page_size=-1)), "page_size"),
    (lambda s: s.ListCasesAt(pb.ListCasesAtRequest(element_id="await_decision", page_token="not-a-token")),
     "page_token"),
    (lambda s: s.GetStatistics(_period(T0, T0)), "from"),
], ids=["hash", "hash-hex", "from-missing", "to-missing", "element-missing", "element-unknown", "page-size-big",
        "page-size-negative", "page-token", "period"])
def test_bad_input_is_refused_naming_the_field(stub, call, field):
    with pytest.raises(grpc.RpcError) as e:
        call(_with_metadata(stub))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field


def test_an_unknown_version_is_not_found(stub):
    for call in (lambda: stub.GetProcessVersion(pb.GetProcessVersionRequest(content_hash="0" * 64), metadata=ANALYST),
                 lambda: stub.GetProcessCockpit(pb.GetProcessCockpitRequest(content_hash="0" * 64), metadata=ANALYST),
                 lambda: stub.CompareProcessVersions(pb.CompareProcessVersionsRequest(
                     from_content_hash="0" * 64, to_content_hash=content_hash(MODEL)), metadata=ANALYST)):
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


def _period(since, until):
    request = pb.GetStatisticsRequest()
    getattr(request, "from").FromDatetime(since)
    request.to.FromDatetime(until)
    return request


class _with_metadata:
    """The stub with the analyst's identity on every call."""

    def __init__(self, stub):
        self.stub = stub

    def __getattr__(self, name):
        return lambda request: getattr(self.stub, name)(request, metadata=ANALYST)
