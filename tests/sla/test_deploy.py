"""Deploying process versions: a bad model is refused naming the element; versions run side by side."""

from datetime import datetime, timedelta, timezone

import grpc
import pytest

from services.sla import deploy as command
from services.sla import grpc_api
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine
from services.sla.service import SlaService
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc
from tests.sla.recording_caller import RecordingCaller
from tests.support import IDENTITY_KEY, ROOT, caller, service_caller

V1 = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
ANALYST = caller("process_analyst", "analyst-1")
INTAKE = service_caller("intake")
WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)


@pytest.fixture
def stub(serve, pool, clock):
    clock.set(MONDAY)
    engine = Engine(calendar=WorkingCalendar(), caller=RecordingCaller(clock), clock=clock)
    service = SlaService(pool=pool, engine=engine, clock=clock, process_id="report_lifecycle")
    return sla_pb2_grpc.SlaServiceStub(serve("sla", grpc_api.register(service)))


def deploy(stub, bpmn, metadata=ANALYST, key="k1"):
    return stub.DeployProcess(pb.DeployProcessRequest(idempotency_key=key, filename="lifecycle.bpmn", bpmn=bpmn),
                              metadata=metadata)


def start(stub, tracking_id):
    request = pb.StartCaseRequest(event_id=f"intake:{tracking_id}", tracking_id=tracking_id)
    request.submitted_at.FromDatetime(MONDAY)
    return stub.StartCase(request, metadata=INTAKE).case


def verification_due(case):
    [deadline] = [d for d in case.deadlines if d.name == "verification_overdue"]
    return deadline.due_at.ToDatetime(tzinfo=timezone.utc).astimezone(WIB)


@pytest.mark.parametrize("change, named", [
    # a service task calling an RPC that does not exist
    (('id="verification/EnqueueReport"', 'id="verification/EnqueueReports"'),
     "element enqueue_verification (Masukkan antrean verifikasi): unknown service operator "
     "'verification/EnqueueReports'"),
    # waiting for a message no producer sends
    (('name="reply_posted"', 'name="reply_sent"'),
     "element await_reply (Tunggu tanggapan pelapor): unknown message 'reply_sent'"),
    # a timer over a variable the process never has
    (("<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">follow_up_due</bpmn:timeDate>",
      "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">follow_up_deadline</bpmn:timeDate>"),
     "element follow_up_overdue (5 hari kerja lewat): timer 'follow_up_deadline' fails on sample data: "
     "NameError"),
    # a timer that gives a date without its offset
    (("<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">verification_due</bpmn:timeDate>",
      "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">\"2026-12-01T00:00:00\"</bpmn:timeDate>"),
     "element verification_overdue (3 hari kerja lewat): timer '\"2026-12-01T00:00:00\"' must give an ISO-8601 "
     "time with its offset"),
    # a parameter the request does not have
    (('<spiffworkflow:parameter id="agency_name" type="str"', '<spiffworkflow:parameter id="agency_title" type="str"'),
     "element forward_report (Teruskan dan publikasikan): parameters do not make a ForwardReportRequest"),
    # not BPMN at all
    (("<bpmn:process ", "<bpmn:proces "), "lifecycle.bpmn: "),
])
def test_a_bad_model_is_refused_naming_what_is_wrong_and_nothing_changes(stub, change, named):
    deploy(stub, V1)
    old, new = change
    assert old in V1
    with pytest.raises(grpc.RpcError) as e:
        deploy(stub, V1.replace(old, new), key="k2")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert named in e.value.details()
    versions = stub.ListProcessVersions(pb.ListProcessVersionsRequest(), metadata=ANALYST).versions
    assert [(v.version, v.newest) for v in versions] == [(1, True)]


def test_process_versions_are_listed_for_analysts_administrators_and_services_only(stub):
    deploy(stub, V1)
    for metadata in (ANALYST, caller("national_admin"), caller("service", "portal")):
        assert len(stub.ListProcessVersions(pb.ListProcessVersionsRequest(), metadata=metadata).versions) == 1
    for metadata in (caller("agency_admin", "aa-1", "kab-tanah-bumbu"), caller("liaison_officer", "lo-1", "x"),
                     caller("reporter", "LAP-AAAA0001")):
        with pytest.raises(grpc.RpcError) as e:
            stub.ListProcessVersions(pb.ListProcessVersionsRequest(), metadata=metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_only_process_analysts_deploy(stub):
    with pytest.raises(grpc.RpcError) as e:
        deploy(stub, V1, metadata=caller("national_admin"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_versions_run_side_by_side_and_new_reports_use_the_newest(stub):
    v1 = deploy(stub, V1)
    old_case = start(stub, "LAP-VERS0001")
    v2_model = V1.replace('add_working_days(verification_from, 3, "Asia/Jakarta")',
                          'add_working_days(verification_from, 5, "Asia/Jakarta")')
    v2 = deploy(stub, v2_model, key="k2")
    new_case = start(stub, "LAP-VERS0002")
    assert (v1.version, v2.version) == (1, 2) and v2.newest
    assert old_case.process_version == v1.content_hash and new_case.process_version == v2.content_hash
    assert verification_due(old_case) == datetime(2026, 11, 5, 23, 59, 59, tzinfo=WIB)  # 3 working days
    assert verification_due(new_case) == datetime(2026, 11, 9, 23, 59, 59, tzinfo=WIB)  # 5 working days
    versions = stub.ListProcessVersions(pb.ListProcessVersionsRequest(), metadata=ANALYST).versions
    assert [(v.version, v.newest, v.running_instances) for v in versions] == [(1, False, 1), (2, True, 1)]
    # The old instance keeps running on v1: the next event moves it along v1's path.
    again = stub.GetCase(pb.GetCaseRequest(tracking_id="LAP-VERS0001"), metadata=INTAKE)
    assert again.process_version == v1.content_hash


def test_deploying_the_same_model_again_is_the_same_version(stub):
    first = deploy(stub, V1)
    again = deploy(stub, V1, key="k2")
    assert (again.version, again.content_hash) == (first.version, first.content_hash)


def test_the_deploy_command_checks_here_and_deploys_to_the_running_sla(stub, serve, tmp_path, capsys, monkeypatch):
    good, bad = tmp_path / "good.bpmn", tmp_path / "bad.bpmn"
    good.write_text(V1)
    bad.write_text(V1.replace('name="reply_posted"', 'name="reply_sent"'))
    assert command.main(["--check", str(good)]) == 0
    assert command.main(["--check", str(bad)]) == 1
    assert "element await_reply (Tunggu tanggapan pelapor): unknown message 'reply_sent'" in capsys.readouterr().err

    monkeypatch.setenv("SLA_SERVICE_ADDR", serve.addresses["sla"])
    monkeypatch.setenv("SP4N_IDENTITY_KEY", IDENTITY_KEY)
    assert command.main([str(good)]) == 0
    assert "deployed report_lifecycle version 1" in capsys.readouterr().out
    assert command.main([str(bad)]) == 1
    assert "refused (INVALID_ARGUMENT)" in capsys.readouterr().err
