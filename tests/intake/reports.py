"""Building and moving reports through intake's API in tests, and reading what intake stored."""

from datetime import datetime, timezone

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from sp4n.intake.v1 import intake_pb2 as pb
from tests.support import caller, field_violation, service_caller

T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)  # a Monday, 10:00 WIB: where test clocks start

PORTAL = service_caller("portal")
SLA = service_caller("sla")
NOTIFY = service_caller("notify")
ADMIN = caller("national_admin", "admin-1")
AGENCY = "tanah-bumbu-pupr"
AGENCY_NAME = "Dinas PUPR Kabupaten Tanah Bumbu"
LIAISON = caller("liaison_officer", "lo-1", AGENCY)
OTHER_LIAISON = caller("liaison_officer", "lo-2", "kota-banjarmasin")

TABLES = ("reports", "reporters", "timeline", "outbox")

# The first bytes of each kind of file intake keeps, and a little more.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
WEBP = b"RIFF\x4c\x00\x00\x00WEBPVP8 " + bytes(64)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def refused(code: grpc.StatusCode, call, *args, **kwargs) -> grpc.RpcError:
    """The error of a call that must fail with `code`."""
    with pytest.raises(grpc.RpcError) as e:
        call(*args, **kwargs)
    assert e.value.code() == code, e.value.details()
    return e.value


def at(moment: datetime) -> Timestamp:
    """A protobuf Timestamp of an aware datetime."""
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


def report_request(key: str = "web-1", **fields) -> pb.SubmitReportRequest:
    """A valid web submission; `fields` override any field."""
    values = dict(
        idempotency_key=key, channel="web", type=pb.REPORT_TYPE_COMPLAINT, title="Jalan berlubang di Batulicin",
        description="Lubang besar di Jalan Raya Batulicin dekat pasar, membahayakan pengendara motor.",
        category="infrastruktur", region_code="6310", location_text="Jl. Raya Batulicin km 3",
        reporter=pb.Reporter(name="Siti Rahmah", phone="0812-3456-7890", email="siti@contoh.id"),
    ) | fields
    return pb.SubmitReportRequest(**values)


def submit(stub, key: str = "web-1", **fields) -> str:
    return stub.SubmitReport(report_request(key, **fields), metadata=PORTAL).tracking_id


def reporter(tracking_id: str):
    """The reporter's own signed identity for their report."""
    return caller("reporter", tracking_id)


def forward(stub, tracking_id: str, key: str = "fwd-1", agency_id: str = AGENCY,
            agency_name: str = AGENCY_NAME) -> pb.Report:
    return stub.ForwardReport(pb.ForwardReportRequest(idempotency_key=key, tracking_id=tracking_id,
                                                      agency_id=agency_id, agency_name=agency_name), metadata=SLA)


def set_status(stub, tracking_id: str, status, key: str = "status-1", reason: str = "") -> pb.Report:
    return stub.SetReportStatus(pb.SetReportStatusRequest(idempotency_key=key, tracking_id=tracking_id,
                                                          status=status, reason=reason), metadata=SLA)


def follow_up(stub, tracking_id: str, key: str = "fu-1", body: str = "Perbaikan dijadwalkan pekan depan.",
              metadata=LIAISON) -> pb.TimelineEntry:
    return stub.PostFollowUp(pb.PostFollowUpRequest(idempotency_key=key, tracking_id=tracking_id, body=body),
                             metadata=metadata)


def reply(stub, tracking_id: str, key: str = "re-1", body: str = "Terima kasih, kami tunggu.",
          metadata=None, sender_phone: str = "") -> pb.TimelineEntry:
    return stub.PostReply(pb.PostReplyRequest(idempotency_key=key, tracking_id=tracking_id, body=body,
                                              sender_phone=sender_phone), metadata=metadata or reporter(tracking_id))


def complete(stub, tracking_id: str, key: str = "co-1", body: str = "Lokasinya di depan SDN 2 Batulicin.",
             metadata=None, sender_phone: str = "") -> pb.TimelineEntry:
    return stub.CompleteReport(pb.CompleteReportRequest(idempotency_key=key, tracking_id=tracking_id, body=body,
                                                        sender_phone=sender_phone),
                               metadata=metadata or reporter(tracking_id))


def get(stub, tracking_id: str, metadata=SLA) -> pb.Report:
    """The report as a service that runs its process reads it (the portal itself may not: it acts for a person)."""
    return stub.GetReport(pb.GetReportRequest(tracking_id=tracking_id), metadata=metadata)


def row_counts(database_url, tables=TABLES) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM intake.{t}").fetchone()[0] for t in tables}


def submit_for_code(stub, key: str = "web-1", **fields) -> tuple[str, str]:
    """Submits a report; its tracking ID and access code."""
    answer = stub.SubmitReport(report_request(key, **fields), metadata=PORTAL)
    return answer.tracking_id, answer.access_code


def verify(stub, tracking_id: str, access_code: str, metadata=PORTAL) -> pb.VerifyReporterAccessResponse:
    return stub.VerifyReporterAccess(pb.VerifyReporterAccessRequest(tracking_id=tracking_id, access_code=access_code),
                                     metadata=metadata)


def attachment(stub, tracking_id: str, attachment_id: str = "1", metadata=SLA) -> pb.Attachment:
    return stub.GetAttachment(pb.GetAttachmentRequest(tracking_id=tracking_id, attachment_id=attachment_id),
                              metadata=metadata)


def outbox_rows(database_url) -> list[tuple[str, str, dict]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT kind, tracking_id, payload FROM intake.outbox ORDER BY id").fetchall()


def publish(stub, key: str = "web-1", agency_id: str = AGENCY, agency_name: str = AGENCY_NAME, **fields) -> str:
    """Submits a report and forwards it, which publishes it unless it is confidential."""
    tracking_id = submit(stub, key, **fields)
    forward(stub, tracking_id, agency_id=agency_id, agency_name=agency_name)
    return tracking_id


def feed(stub, metadata=PORTAL, **fields) -> pb.ListPublishedReportsResponse:
    return stub.ListPublishedReports(pb.ListPublishedReportsRequest(**fields), metadata=metadata)


def feed_ids(stub, **fields) -> list[str]:
    return [r.tracking_id for r in feed(stub, **fields).reports]


def published(stub, tracking_id: str, metadata=PORTAL) -> pb.PublishedReport:
    return stub.GetPublishedReport(pb.GetPublishedReportRequest(tracking_id=tracking_id), metadata=metadata)


def support(stub, tracking_id: str, supporter: str = "browser-1", key: str | None = None,
            metadata=PORTAL) -> pb.SupportReportResponse:
    return stub.SupportReport(pb.SupportReportRequest(idempotency_key=key or f"support-{supporter}",
                                                      tracking_id=tracking_id, supporter=supporter),
                              metadata=metadata)


def support_rows(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.supports").fetchone()[0]


PASSWORD = "kata-sandi-rahasia"


def create_account(stub, key: str = "acc-1", email: str = "siti@contoh.id", password: str = PASSWORD,
                   **fields) -> pb.ReporterAccount:
    return stub.CreateReporterAccount(pb.CreateReporterAccountRequest(idempotency_key=key, email=email,
                                                                      password=password, **fields), metadata=PORTAL)


def sign_in(stub, email: str = "siti@contoh.id", password: str = PASSWORD, metadata=PORTAL) -> pb.ReporterAccount:
    return stub.SignInReporter(pb.SignInReporterRequest(email=email, password=password), metadata=metadata)
