"""A verification decision through the real intake, verification and sla servers (routing and notify
recorded): the process forwards the report with the administrator's title and flags, archives it with a
reason from the list, marks it a duplicate. Events go through the producers' outboxes and relays."""

from datetime import datetime, timedelta, timezone

import pytest

from services.intake import grpc_api as intake_api
from services.intake.service import IntakeService
from services.plumbing import identity, outbox
from services.plumbing.channels import connect
from services.sla import grpc_api as sla_api
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine
from services.sla.operators import GrpcServiceCaller
from services.sla.service import SlaService
from services.verification import grpc_api as verification_api
from services.verification.service import VerificationService
from sp4n.intake.v1 import intake_pb2
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc
from sp4n.verification.v1 import verification_pb2 as vpb
from sp4n.verification.v1 import verification_pb2_grpc
from tests.sla.recording_caller import RecordingCaller
from tests.support import IDENTITY_KEY, ROOT, caller, service_caller

WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)
ADMIN = caller("national_admin", "admin-1")
PORTAL = service_caller("portal")
REDACTED = "[disembunyikan]"


class ServicesAndRecorder:
    """intake and verification over gRPC, as sla calls them; routing and notify recorded."""

    def __init__(self, grpc_caller: GrpcServiceCaller, recorder: RecordingCaller):
        self.grpc_caller, self.recorder = grpc_caller, recorder

    def call(self, operator, params, idempotency_key):
        if operator.split("/")[0] in ("intake", "verification"):
            return self.grpc_caller.call(operator, params, idempotency_key)
        return self.recorder.call(operator, params, idempotency_key)


class System:
    def __init__(self, serve, pool, clock):
        self.recorder = RecordingCaller(clock)
        serve("intake", intake_api.register(IntakeService(pool=pool, clock=clock)))
        serve("verification", verification_api.register(VerificationService(pool=pool, clock=clock)))
        self.channels = []
        as_sla = identity.ServiceSigner("sla", IDENTITY_KEY)
        to_intake, to_verification = self.connect(serve, "intake", as_sla), self.connect(serve, "verification", as_sla)
        # routing and notify are answered by the recorder: their channels are never used
        grpc_caller = GrpcServiceCaller({"intake": to_intake, "verification": to_verification,
                                         "routing": to_intake, "notify": to_intake})
        engine = Engine(calendar=WorkingCalendar(), caller=ServicesAndRecorder(grpc_caller, self.recorder),
                        clock=clock)
        sla = SlaService(pool=pool, engine=engine, clock=clock, process_id="report_lifecycle")
        sla.deploy_folder(ROOT / "bpmn")
        serve("sla", sla_api.register(sla))
        self.intake = intake_pb2_grpc.IntakeServiceStub(to_intake)
        self.verification = verification_pb2_grpc.VerificationServiceStub(to_verification)
        self.sla = sla_pb2_grpc.SlaServiceStub(self.connect(serve, "sla", as_sla))
        self.relays = [outbox.OutboxRelay(pool=pool, schema=schema, deliver=outbox.to_sla(sla_pb2_grpc.SlaServiceStub(
            self.connect(serve, "sla", identity.ServiceSigner(schema, IDENTITY_KEY)))))
            for schema in ("intake", "verification")]

    def connect(self, serve, name, signer):
        channel = connect(serve.addresses[name], signer)
        self.channels.append(channel)
        return channel

    def close(self):
        for channel in self.channels:
            channel.close()

    def relay(self):
        """Hands every pending event to sla, as the relays do."""
        while sum(relay.run_once() for relay in self.relays):
            pass

    def submit(self, key, **fields) -> str:
        values = dict(idempotency_key=key, channel="web", type=intake_pb2.REPORT_TYPE_COMPLAINT,
                      title="Tolong pak jalan rusak", description="Lubang besar di Jalan Raya Batulicin dekat pasar.",
                      category="infrastruktur", region_code="6310",
                      reporter=intake_pb2.Reporter(name="Siti Rahmah", phone="081234567890", email="siti@contoh.id"))
        tracking_id = self.intake.SubmitReport(intake_pb2.SubmitReportRequest(**(values | fields)),
                                               metadata=PORTAL).tracking_id
        self.relay()
        return tracking_id

    def decide(self, tracking_id, **fields):
        decision = self.verification.DecideReport(vpb.DecideReportRequest(
            idempotency_key=f"decide-{tracking_id}", tracking_id=tracking_id, **fields), metadata=ADMIN)
        self.relay()
        return decision

    def report(self, tracking_id) -> intake_pb2.Report:
        return self.intake.GetReport(intake_pb2.GetReportRequest(tracking_id=tracking_id), metadata=ADMIN)

    def case(self, tracking_id) -> sla_pb2.Case:
        return self.sla.GetCase(sla_pb2.GetCaseRequest(tracking_id=tracking_id))


@pytest.fixture
def system(serve, pool, clock):
    clock.set(MONDAY)
    running = System(serve, pool, clock)
    yield running
    running.close()


def test_a_forward_decision_reaches_intake_with_the_edited_title_and_the_flags_set(system):
    tracking_id = system.submit("web-1")
    assert [i.tracking_id for i in system.verification.ListQueue(vpb.ListQueueRequest(), metadata=ADMIN).items] == [
        tracking_id]
    system.decide(tracking_id, outcome=vpb.OUTCOME_FORWARD, category="infrastruktur",
                  title="Jalan berlubang di depan Pasar Batulicin, WA 0812-3456-7890", anonymous=True)
    report = system.report(tracking_id)
    assert (report.status, report.title, report.anonymous, report.confidential, report.published) == (
        intake_pb2.REPORT_STATUS_FORWARDED, "Jalan berlubang di depan Pasar Batulicin, WA 0812-3456-7890", True, False,
        True)
    assert report.agency_id == "kab-tanah-bumbu-dinas-pupr" and report.reporter_name == ""
    public = system.intake.GetPublishedReport(intake_pb2.GetPublishedReportRequest(tracking_id=tracking_id),
                                              metadata=PORTAL)
    assert (public.title, public.anonymous) == (f"Jalan berlubang di depan Pasar Batulicin, WA {REDACTED}", True)
    assert list(system.case(tracking_id).waiting_for) == ["agency_declined", "agency_dispatched", "follow_up_posted"]


def test_a_confidential_flag_set_at_verification_keeps_the_report_unpublished(system):
    tracking_id = system.submit("web-1")
    system.decide(tracking_id, outcome=vpb.OUTCOME_FORWARD, confidential=True)
    report = system.report(tracking_id)
    assert (report.status, report.confidential, report.published) == (intake_pb2.REPORT_STATUS_FORWARDED, True, False)


def test_an_archive_reason_from_the_list_is_on_the_timeline_and_in_the_reporters_notification(system):
    tracking_id = system.submit("web-1")
    system.decide(tracking_id, outcome=vpb.OUTCOME_ARCHIVE, archive_reason=vpb.ARCHIVE_REASON_NOT_PUBLIC_SERVICE,
                  reason="Sengketa tanah antarwarga")
    report = system.report(tracking_id)
    assert (report.status, report.timeline[-1].body) == (
        intake_pb2.REPORT_STATUS_ARCHIVED, "Bukan kewenangan pelayanan publik: Sengketa tanah antarwarga")
    assert [p["params"] for op, p, _ in system.recorder.calls if p.get("event") == "archived"] == [
        {"reason": "Bukan kewenangan pelayanan publik: Sengketa tanah antarwarga"}]
    assert system.case(tracking_id).status == "completed"


def test_a_duplicate_and_a_report_sent_back_for_completion(system):
    original = system.submit("web-1")
    duplicate = system.submit("web-2")
    system.decide(duplicate, outcome=vpb.OUTCOME_DUPLICATE, duplicate_of=original)
    assert (system.report(duplicate).status, system.report(duplicate).timeline[-1].body) == (
        intake_pb2.REPORT_STATUS_DUPLICATE, f"Duplikat dari {original}")
    system.decide(original, outcome=vpb.OUTCOME_NEEDS_COMPLETION, reason="Sebutkan nama desanya.")
    report = system.report(original)
    assert (report.status, report.timeline[-1].body) == (intake_pb2.REPORT_STATUS_NEEDS_COMPLETION,
                                                         "Sebutkan nama desanya.")
    assert list(system.case(original).waiting_for) == ["report_completed"]
