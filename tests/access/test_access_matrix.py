"""The whole access matrix: every role, every gRPC action, own and other agency, anonymous and named.

Two reports, one named and one anonymous, both assigned to agency A, are taken through the real
system (web submission, verification, routing, forwarding). Then every action of every service is
called as every kind of caller on each report, and the answer is compared with POLICY below:

- Y: allowed. The call passes the owning service's access check; a read answers OK, a change may
  still be refused for another reason (FAILED_PRECONDITION, NOT_FOUND, ...), never PERMISSION_DENIED.
- -: refused with PERMISSION_DENIED, and nothing in the database changed.

Callers are national administrators, process analysts, agency administrators and liaison officers of
agency A ("own") and of another agency ("other"), a reporter who proved access to this report ("own")
or to the other one ("other"), the signed-in reporter account that sent both reports ("acc own") and
one that sent neither ("acc oth"), and each service. Only intake knows which account sent a report:
routing, sla and notify refuse a reporter account, and the portal asks them with its own identity
once intake let the account see the report. A forged, expired, unknown-role or missing identity is
UNAUTHENTICATED for every action, and changes nothing. The reporter's name reaches only national
administrators, and never for the anonymous report.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest
from google.protobuf import struct_pb2, text_format
from google.protobuf.timestamp_pb2 import Timestamp

from services.plumbing import identity
from sp4n.intake.v1 import intake_pb2 as intake
from sp4n.notify.v1 import notify_pb2 as notify
from sp4n.routing.v1 import routing_pb2 as routing
from sp4n.sla.v1 import sla_pb2 as sla
from sp4n.verification.v1 import verification_pb2 as verification
from tests.e2e.conftest import eventually
from tests.support import IDENTITY_KEY, ROOT, caller, service_caller

pytestmark = pytest.mark.e2e

# The columns of POLICY: (role, whose). For agency staff "own" is agency A, which holds both reports;
# for a reporter "own" is the report they proved access to, "account-own" the account that sent it.
COLUMNS = (
    ("national_admin", "-"), ("process_analyst", "-"),
    ("agency_admin", "own"), ("agency_admin", "other"), ("liaison_officer", "own"), ("liaison_officer", "other"),
    ("reporter", "own"), ("reporter", "other"), ("reporter", "account-own"), ("reporter", "account-other"),
    ("service", "portal"), ("service", "intake"), ("service", "verification"), ("service", "routing"),
    ("service", "sla"), ("service", "notify"),
)
_GRID = """
                                   nat ana   adm adm  lo  lo   rep rep acc acc   por int ver rou sla not
                                     .   .   own oth own oth   own oth own oth     .   .   .   .   .   .
intake.SubmitReport                  -   -     -   -   -   -     -   -   -   -     Y   -   -   -   -   -
intake.GetReport                     Y   -     Y   -   Y   -     Y   -   Y   -     -   Y   Y   Y   Y   Y
intake.GetAttachment                 Y   -     Y   -   Y   -     Y   -   Y   -     -   Y   Y   Y   Y   Y
intake.ForwardReport                 -   -     -   -   -   -     -   -   -   -     -   -   -   -   Y   -
intake.SetReportStatus               -   -     -   -   -   -     -   -   -   -     -   -   -   -   Y   -
intake.PostFollowUp                  -   -     Y   -   Y   -     -   -   -   -     -   -   -   -   -   -
intake.PostReply                     Y   -     -   -   -   -     Y   -   Y   -     -   -   -   -   -   -
intake.CompleteReport                -   -     -   -   -   -     Y   -   Y   -     -   -   -   -   -   -
intake.GetReporterContact            -   -     -   -   -   -     -   -   -   -     -   -   -   -   -   Y
intake.GetReporterContacts           -   -     -   -   -   -     -   -   -   -     -   -   -   -   -   Y
intake.ListPublishedReports          Y   Y     Y   Y   Y   Y     Y   Y   Y   Y     Y   Y   Y   Y   Y   Y
intake.GetPublishedReport            Y   Y     Y   Y   Y   Y     Y   Y   Y   Y     Y   Y   Y   Y   Y   Y
intake.SupportReport                 Y   Y     Y   Y   Y   Y     Y   Y   Y   Y     Y   Y   Y   Y   Y   Y
intake.VerifyReporterAccess          -   -     -   -   -   -     -   -   -   -     Y   -   -   -   -   -
intake.CreateReporterAccount         -   -     -   -   -   -     -   -   -   -     Y   -   -   -   -   -
intake.SignInReporter                -   -     -   -   -   -     -   -   -   -     Y   -   -   -   -   -
intake.ListReporterReports           -   -     -   -   -   -     -   -   Y   Y     -   -   -   -   -   -
intake.ListAgencyReports             Y   -     Y   -   Y   -     -   -   -   -     -   -   -   -   -   -
intake.FindSimilarReports            Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
intake.GetReportSummaries            Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
verification.EnqueueReport           -   -     -   -   -   -     -   -   -   -     -   -   -   -   Y   -
verification.ListQueue               Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
verification.GetQueueItem            Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
verification.DecideReport            Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
verification.ListArchiveReasons      Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
routing.AssignReport                 -   -     -   -   -   -     -   -   -   -     -   -   -   -   Y   -
routing.GetAssignment                Y   Y     Y   -   Y   -     Y   -   -   -     Y   Y   Y   Y   Y   Y
routing.DeclineAssignment            -   -     Y   -   Y   -     -   -   -   -     -   -   -   -   -   -
routing.DispatchReport               -   -     Y   -   -   -     -   -   -   -     -   -   -   -   -   -
routing.GetAgency                    Y   Y     Y   Y   Y   Y     -   -   -   -     Y   Y   Y   Y   Y   Y
routing.ListAgencies                 Y   Y     Y   Y   Y   Y     -   -   -   -     Y   Y   Y   Y   Y   Y
routing.ListRegions                  Y   Y     Y   Y   Y   Y     Y   Y   Y   Y     Y   Y   Y   Y   Y   Y
routing.GetRegion                    Y   Y     Y   Y   Y   Y     Y   Y   Y   Y     Y   Y   Y   Y   Y   Y
routing.ImportAgencies               Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
routing.ExportAgencies               Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
routing.ListRules                    Y   Y     Y   Y   Y   Y     -   -   -   -     Y   Y   Y   Y   Y   Y
routing.GetRule                      Y   Y     Y   Y   Y   Y     -   -   -   -     Y   Y   Y   Y   Y   Y
routing.CreateRule                   Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
routing.UpdateRule                   Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
routing.DeleteRule                   Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
sla.StartCase                        -   -     -   -   -   -     -   -   -   -     -   Y   -   -   -   -
sla.SignalCase                       -   -     -   -   -   -     -   -   -   -     -   Y   -   -   -   -
sla.GetCase                          Y   Y     Y   -   Y   -     Y   -   -   -     Y   Y   Y   Y   Y   Y
sla.DeployProcess                    -   Y     -   -   -   -     -   -   -   -     -   -   -   -   -   -
sla.ListProcessVersions              Y   Y     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
sla.GetProcessVersion                Y   Y     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
sla.CompareProcessVersions           Y   Y     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
sla.GetProcessCockpit                Y   Y     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
sla.ListCasesAt                      Y   Y     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
sla.GetStatistics                    Y   Y     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
sla.SetCalendarOverride              Y   Y     -   -   -   -     -   -   -   -     -   -   -   -   -   -
sla.RemoveCalendarOverride           Y   Y     -   -   -   -     -   -   -   -     -   -   -   -   -   -
sla.ListCalendarOverrides            Y   Y     -   -   -   -     -   -   -   -     -   -   -   -   -   -
notify.SendNotification              -   -     -   -   -   -     -   -   -   -     -   -   -   -   Y   -
notify.ListNotifications             Y   -     Y   -   Y   -     Y   -   -   -     Y   Y   Y   Y   Y   Y
notify.ListInbox                     Y   -     Y   Y   Y   Y     -   -   -   -     -   -   -   -   -   -
notify.ListDeadLetters               Y   -     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
notify.ResendNotification            Y   -     -   -   -   -     -   -   -   -     -   -   -   -   -   -
notify.RenderTemplate                Y   Y     -   -   -   -     -   -   -   -     Y   Y   Y   Y   Y   Y
"""
ALLOWED, DENIED = "allowed", grpc.StatusCode.PERMISSION_DENIED


def _policy(grid: str) -> dict[tuple[str, str, str], object]:
    """The grid as {(action, role, whose): ALLOWED or DENIED}."""
    policy = {}
    for line in grid.strip().splitlines()[2:]:
        action, *marks = line.split()
        assert len(marks) == len(COLUMNS), action
        for (role, whose), mark in zip(COLUMNS, marks):
            policy[action, role, whose] = {"Y": ALLOWED, "-": DENIED}[mark]
    return policy


POLICY = _policy(_GRID)

# Actions that only read: allowed, they answer OK (not merely "not refused").
READS = {
    "intake.GetReport", "intake.GetAttachment", "intake.GetReporterContact", "intake.GetReporterContacts",
    "intake.ListPublishedReports",
    "intake.GetPublishedReport", "intake.ListReporterReports", "intake.ListAgencyReports",
    "intake.FindSimilarReports", "intake.GetReportSummaries", "verification.ListQueue", "verification.GetQueueItem",
    "verification.ListArchiveReasons", "routing.GetAssignment", "routing.GetAgency", "routing.ListAgencies",
    "routing.ListRegions", "routing.GetRegion", "routing.ExportAgencies", "routing.ListRules", "routing.GetRule", "sla.GetCase", "sla.ListProcessVersions",
    "sla.GetProcessVersion", "sla.CompareProcessVersions", "sla.GetProcessCockpit", "sla.ListCasesAt",
    "sla.GetStatistics", "sla.ListCalendarOverrides", "notify.ListNotifications", "notify.ListInbox",
    "notify.ListDeadLetters", "notify.RenderTemplate",
}
# Allowed, these move a report to another agency: each allowed call gets reports of its own.
REASSIGNING = {"routing.DeclineAssignment"}

NAMED_REPORTER = dict(name="Siti Rahmawati Kusuma", phone="081234567891", email="siti.kusuma@contoh.id")
ANONYMOUS_REPORTER = dict(name="Budi Santoso Wijaya", phone="081298765432", email="budi.wijaya@contoh.id")
PASSWORD = "kata-sandi-uji-matriks"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
AWAITING_AGENCY = ["agency_declined", "agency_dispatched", "follow_up_posted"]


@dataclass
class Report:
    tracking_id: str
    access_code: str
    attachment_id: str
    anonymous: bool
    other: "Report | None" = None  # the other report of the pair: what "other" reporters proved access to


@dataclass
class World:
    running: object
    url: str
    agency: str        # A: holds both reports
    agency_name: str
    other_agency: str  # B
    account_id: str        # the reporter account that sent both reports
    stranger_account: str  # a reporter account that sent neither
    account_email: str
    bpmn: str
    agencies_csv: bytes
    rule_id: str  # a rule of the demo directory


def admin() -> list[tuple[str, str]]:
    """A national administrator, signed now: identities expire, and a slow run outlasts one signed at import."""
    return caller(identity.NATIONAL_ADMIN, "admin-matrix")


def _unique() -> str:
    return secrets.token_hex(6)


# -- callers --------------------------------------------------------------------------------------------
def metadata_for(world: World, report: Report, role: str, whose: str) -> list[tuple[str, str]]:
    if role == identity.SERVICE:
        return service_caller(whose)
    if role in (identity.AGENCY_ADMIN, identity.LIAISON_OFFICER):
        agency = world.agency if whose == "own" else world.other_agency
        return caller(role, f"{role}-{agency}", agency)
    if role == identity.REPORTER:
        subject = {"own": report.tracking_id, "other": report.other.tracking_id, "account-own": world.account_id,
                   "account-other": world.stranger_account}[whose]
        return caller(role, subject)
    return caller(role, f"{role}-matrix")


# -- actions: the stub method and a request, for one report ---------------------------------------------
def actions(world: World, report: Report) -> dict[str, tuple]:
    """Every action as (stub method, request) on `report`; changes get a fresh idempotency key each time."""
    r = world.running
    t = report.tracking_id
    key = _unique
    bpmn_hash = hashlib.sha256(world.bpmn.encode()).hexdigest()  # the version running now
    return {
        "intake.SubmitReport": lambda: (r.intake.SubmitReport, intake.SubmitReportRequest(
            idempotency_key=key(), channel="web", type=intake.REPORT_TYPE_COMPLAINT,
            title="Jembatan kayu lapuk di Desa Sungai Loban",
            description="Papan jembatan kayu di Desa Sungai Loban lapuk dan berlubang, membahayakan anak sekolah.",
            category="infrastruktur", region_code="6310", location_text="Desa Sungai Loban",
            reporter=intake.Reporter(name="Warga Sungai Loban", phone="081200000001"))),
        "intake.GetReport": lambda: (r.intake.GetReport, intake.GetReportRequest(tracking_id=t)),
        "intake.GetAttachment": lambda: (r.intake.GetAttachment, intake.GetAttachmentRequest(
            tracking_id=t, attachment_id=report.attachment_id)),
        "intake.ForwardReport": lambda: (r.intake.ForwardReport, intake.ForwardReportRequest(
            idempotency_key=key(), tracking_id=t, agency_id=world.agency, agency_name=world.agency_name)),
        "intake.SetReportStatus": lambda: (r.intake.SetReportStatus, intake.SetReportStatusRequest(
            idempotency_key=key(), tracking_id=t, status=intake.REPORT_STATUS_FOLLOWED_UP, reason="uji")),
        "intake.PostFollowUp": lambda: (r.intake.PostFollowUp, intake.PostFollowUpRequest(
            idempotency_key=key(), tracking_id=t, body="Tim sudah meninjau lokasi dan menjadwalkan perbaikan.")),
        "intake.PostReply": lambda: (r.intake.PostReply, intake.PostReplyRequest(
            idempotency_key=key(), tracking_id=t, body="Terima kasih, kami tunggu perbaikannya.")),
        "intake.CompleteReport": lambda: (r.intake.CompleteReport, intake.CompleteReportRequest(
            idempotency_key=key(), tracking_id=t, body="Lokasinya di depan SD Negeri 1.")),
        "intake.GetReporterContact": lambda: (r.intake.GetReporterContact,
                                              intake.GetReporterContactRequest(tracking_id=t)),
        "intake.GetReporterContacts": lambda: (r.intake.GetReporterContacts,
                                               intake.GetReporterContactsRequest(tracking_ids=[t])),
        "intake.ListPublishedReports": lambda: (r.intake.ListPublishedReports, intake.ListPublishedReportsRequest()),
        "intake.GetPublishedReport": lambda: (r.intake.GetPublishedReport,
                                              intake.GetPublishedReportRequest(tracking_id=t)),
        "intake.SupportReport": lambda: (r.intake.SupportReport, intake.SupportReportRequest(
            idempotency_key=key(), tracking_id=t, supporter=f"browser-{key()}")),
        "intake.VerifyReporterAccess": lambda: (r.intake.VerifyReporterAccess, intake.VerifyReporterAccessRequest(
            tracking_id=t, access_code=report.access_code)),
        "intake.CreateReporterAccount": lambda: (r.intake.CreateReporterAccount, intake.CreateReporterAccountRequest(
            idempotency_key=key(), email=f"warga-{key()}@contoh.id", password=PASSWORD, name="Warga Baru")),
        "intake.SignInReporter": lambda: (r.intake.SignInReporter, intake.SignInReporterRequest(
            email=world.account_email, password=PASSWORD)),
        "intake.ListReporterReports": lambda: (r.intake.ListReporterReports, intake.ListReporterReportsRequest()),
        "intake.ListAgencyReports": lambda: (r.intake.ListAgencyReports,
                                             intake.ListAgencyReportsRequest(agency_id=world.agency)),
        "intake.FindSimilarReports": lambda: (r.intake.FindSimilarReports,
                                              intake.FindSimilarReportsRequest(tracking_id=t)),
        "intake.GetReportSummaries": lambda: (r.intake.GetReportSummaries,
                                              intake.GetReportSummariesRequest(tracking_ids=[t])),
        "verification.EnqueueReport": lambda: (r.verification.EnqueueReport, verification.EnqueueReportRequest(
            idempotency_key=key(), tracking_id=t, submitted_at=_now(), due_at=_now(days=3))),
        "verification.ListQueue": lambda: (r.verification.ListQueue, verification.ListQueueRequest()),
        "verification.GetQueueItem": lambda: (r.verification.GetQueueItem,
                                              verification.GetQueueItemRequest(tracking_id=t)),
        "verification.DecideReport": lambda: (r.verification.DecideReport, verification.DecideReportRequest(
            idempotency_key=key(), tracking_id=t, outcome=verification.OUTCOME_FORWARD, category="infrastruktur")),
        "verification.ListArchiveReasons": lambda: (r.verification.ListArchiveReasons,
                                                    verification.ListArchiveReasonsRequest()),
        "routing.AssignReport": lambda: (r.routing.AssignReport, routing.AssignReportRequest(
            idempotency_key=key(), tracking_id=t, category="infrastruktur", region_code="6310",
            preferred_agency_id=world.agency)),
        "routing.GetAssignment": lambda: (r.routing.GetAssignment, routing.GetAssignmentRequest(tracking_id=t)),
        "routing.DeclineAssignment": lambda: (r.routing.DeclineAssignment, routing.DeclineAssignmentRequest(
            idempotency_key=key(), tracking_id=t, reason="Jalan ini jalan provinsi, bukan wewenang kabupaten.")),
        # To an agency not under A: refused as such (INVALID_ARGUMENT) once the caller may dispatch at all,
        # so the report stays where it is; a dispatch that moves it is tested in tests/routing and tests/e2e.
        "routing.DispatchReport": lambda: (r.routing.DispatchReport, routing.DispatchReportRequest(
            idempotency_key=key(), tracking_id=t, agency_id=world.other_agency, note="Mohon ditindaklanjuti.")),
        "routing.ListRules": lambda: (r.routing.ListRules, routing.ListRulesRequest()),
        "routing.GetRule": lambda: (r.routing.GetRule, routing.GetRuleRequest(rule_id=world.rule_id)),
        # A rule for a region no report of the matrix comes from, so that routing them is unchanged.
        "routing.CreateRule": lambda: (r.routing.CreateRule, routing.CreateRuleRequest(
            idempotency_key=key(), category="lingkungan", region_code="9471", agency_id=world.other_agency)),
        "routing.UpdateRule": lambda: (r.routing.UpdateRule, routing.UpdateRuleRequest(
            idempotency_key=key(), rule_id="999999", category="lingkungan", region_code="9471",
            agency_id=world.other_agency)),
        "routing.DeleteRule": lambda: (r.routing.DeleteRule, routing.DeleteRuleRequest(
            idempotency_key=key(), rule_id="999999")),
        "routing.GetAgency": lambda: (r.routing.GetAgency, routing.GetAgencyRequest(agency_id=world.agency)),
        "routing.ListAgencies": lambda: (r.routing.ListAgencies, routing.ListAgenciesRequest()),
        "routing.ListRegions": lambda: (r.routing.ListRegions, routing.ListRegionsRequest(parent_code="63")),
        "routing.GetRegion": lambda: (r.routing.GetRegion, routing.GetRegionRequest(code="6310")),
        "routing.ImportAgencies": lambda: (r.routing.ImportAgencies, routing.ImportAgenciesRequest(
            idempotency_key=key(), agencies_csv=world.agencies_csv, dry_run=True)),
        "routing.ExportAgencies": lambda: (r.routing.ExportAgencies, routing.ExportAgenciesRequest()),
        "sla.StartCase": lambda: (r.sla.StartCase, sla.StartCaseRequest(
            event_id=key(), tracking_id=t, submitted_at=_now(), category="infrastruktur", region_code="6310")),
        "sla.SignalCase": lambda: (r.sla.SignalCase, sla.SignalCaseRequest(
            event_id=key(), tracking_id=t, message_name="reply_posted", payload=struct_pb2.Struct(),
            occurred_at=_now())),
        "sla.GetCase": lambda: (r.sla.GetCase, sla.GetCaseRequest(tracking_id=t)),
        "sla.DeployProcess": lambda: (r.sla.DeployProcess, sla.DeployProcessRequest(
            idempotency_key=key(), filename="lifecycle.bpmn", bpmn=world.bpmn)),
        "sla.ListProcessVersions": lambda: (r.sla.ListProcessVersions, sla.ListProcessVersionsRequest()),
        "sla.GetProcessVersion": lambda: (r.sla.GetProcessVersion, sla.GetProcessVersionRequest()),
        "sla.CompareProcessVersions": lambda: (r.sla.CompareProcessVersions, sla.CompareProcessVersionsRequest(
            from_content_hash=bpmn_hash, to_content_hash=bpmn_hash)),
        "sla.GetProcessCockpit": lambda: (r.sla.GetProcessCockpit, sla.GetProcessCockpitRequest()),
        "sla.ListCasesAt": lambda: (r.sla.ListCasesAt, sla.ListCasesAtRequest(element_id="await_follow_up")),
        "sla.GetStatistics": lambda: (r.sla.GetStatistics, sla.GetStatisticsRequest()),
        "sla.SetCalendarOverride": lambda: (r.sla.SetCalendarOverride, sla.SetCalendarOverrideRequest(
            idempotency_key=key(), date="2031-06-11", working=False, reference="Uji matriks akses No. 1/2031")),
        "sla.RemoveCalendarOverride": lambda: (r.sla.RemoveCalendarOverride, sla.RemoveCalendarOverrideRequest(
            idempotency_key=key(), date="2031-06-11", reference="Uji matriks akses No. 2/2031")),
        "sla.ListCalendarOverrides": lambda: (r.sla.ListCalendarOverrides, sla.ListCalendarOverridesRequest()),
        "notify.SendNotification": lambda: (r.notify.SendNotification, notify.SendNotificationRequest(
            idempotency_key=key(), tracking_id=t, event="deadline_missed", recipient="national_admins",
            params={"deadline": "uji"})),
        "notify.ListNotifications": lambda: (r.notify.ListNotifications,
                                             notify.ListNotificationsRequest(tracking_id=t)),
        "notify.ListInbox": lambda: (r.notify.ListInbox, notify.ListInboxRequest()),
        "notify.ListDeadLetters": lambda: (r.notify.ListDeadLetters, notify.ListDeadLettersRequest()),
        # No dead letter in this world: an allowed resend is NOT_FOUND, a refused one PERMISSION_DENIED.
        "notify.ResendNotification": lambda: (r.notify.ResendNotification, notify.ResendNotificationRequest(
            idempotency_key=key(), notification_id="999999999")),
        "notify.RenderTemplate": lambda: (r.notify.RenderTemplate, notify.RenderTemplateRequest(
            event="received", channel="sms", language="id", params={"tracking_id": t})),
    }


def _now(days: int = 0) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(timezone.utc) + timedelta(days=days))
    return ts


def call(action, metadata):
    """(status code, answer or None)."""
    method, request = action()
    try:
        return grpc.StatusCode.OK, method(request, metadata=metadata, timeout=20)
    except grpc.RpcError as e:
        return e.code(), None


# -- what the database holds ------------------------------------------------------------------------------
SCHEMAS = ["intake", "verification", "routing", "sla", "notify", "portal"]


class Rows:
    """Row counts, or whole contents, of every table of every service."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        tables = [t for (t,) in self.conn.execute(
            "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables WHERE schemaname = ANY(%s) "
            "ORDER BY 1", (SCHEMAS,))]
        self.count_sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
        self.digest_sql = " UNION ALL ".join(
            f"SELECT '{t}', md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x" for t in tables)

    def counts(self) -> dict[str, int]:
        return dict(self.conn.execute(self.count_sql).fetchall())

    def contents(self) -> dict[str, str]:
        return dict(self.conn.execute(self.digest_sql).fetchall())

    def settled(self) -> dict[str, str]:
        """The contents once the background workers (outboxes, timers, deliveries) have stopped changing them."""
        last = self.contents()
        for _ in range(40):
            time.sleep(1.5)
            now = self.contents()
            if now == last:
                return now
            last = now
        raise AssertionError("the system did not settle")


# -- the world: two reports assigned to agency A -------------------------------------------------------
def submitted(running, *, anonymous: bool, reporter: dict, account_id: str) -> Report:
    answer = running.intake.SubmitReport(intake.SubmitReportRequest(
        idempotency_key=_unique(), channel="web", type=intake.REPORT_TYPE_COMPLAINT, anonymous=anonymous,
        account_id=account_id,
        title="Saluran air tersumbat di Jl. Transmigrasi Batulicin",
        description="Saluran air di Jl. Transmigrasi tersumbat sampah sehingga jalan tergenang setiap hujan.",
        category="infrastruktur", region_code="6310", location_text="Jl. Transmigrasi, Batulicin",
        reporter=intake.Reporter(**reporter), attachments=[intake.AttachmentUpload(filename="foto.jpg", content=JPEG)],
    ), metadata=service_caller("portal"))
    return Report(answer.tracking_id, answer.access_code, "", anonymous)


def forwarded(running, report: Report) -> intake.Report:
    """Decides the report (forward) once it is queued, and waits until it waits for agency A."""
    t = report.tracking_id
    eventually(lambda: running.verification.GetQueueItem(verification.GetQueueItemRequest(tracking_id=t),
                                                          metadata=admin()), what=f"{t} reaching the queue")
    running.verification.DecideReport(verification.DecideReportRequest(
        idempotency_key=_unique(), tracking_id=t, outcome=verification.OUTCOME_FORWARD, category="infrastruktur"),
        metadata=admin())
    found = eventually(lambda: (got := running.intake.GetReport(intake.GetReportRequest(tracking_id=t),
                                                                metadata=admin())).status
                       == intake.REPORT_STATUS_FORWARDED and got, what=f"{t} being forwarded")
    eventually(lambda: list(running.sla.GetCase(sla.GetCaseRequest(tracking_id=t), metadata=admin()).waiting_for)
               == AWAITING_AGENCY, what=f"{t} waiting for its agency")
    eventually(lambda: any(n.recipient == "agency" for n in running.notify.ListNotifications(
        notify.ListNotificationsRequest(tracking_id=t), metadata=admin()).notifications),
        what=f"{t}'s agency being told")
    report.attachment_id = found.attachments[0].id
    return found


def pair(running, account_id: str) -> tuple[Report, Report, intake.Report]:
    """A named and an anonymous report sent from `account_id`, forwarded to the same agency; each is
    the other's "other"."""
    named = submitted(running, anonymous=False, reporter=NAMED_REPORTER, account_id=account_id)
    anonymous = submitted(running, anonymous=True, reporter=ANONYMOUS_REPORTER, account_id=account_id)
    named.other, anonymous.other = anonymous, named
    first = forwarded(running, named)
    second = forwarded(running, anonymous)
    assert first.agency_id == second.agency_id != ""
    return named, anonymous, first


@pytest.fixture(scope="module")
def world(system):
    running, url = system
    email = f"warga-{_unique()}@contoh.id"
    account, stranger = (running.intake.CreateReporterAccount(intake.CreateReporterAccountRequest(
        idempotency_key=_unique(), email=address, password=PASSWORD, name="Warga Berakun"),
        metadata=service_caller("portal")) for address in (email, f"warga-{_unique()}@contoh.id"))
    named, anonymous, report = pair(running, account.id)
    agencies = running.routing.ListAgencies(routing.ListAgenciesRequest(), metadata=admin()).agencies
    other = next(a.id for a in agencies if a.id != report.agency_id)
    exported = running.routing.ExportAgencies(routing.ExportAgenciesRequest(), metadata=admin())
    bpmn = next(p for p in sorted((ROOT / "bpmn").glob("*.bpmn"))).read_text()
    [rule] = running.routing.ListRules(routing.ListRulesRequest(page_size=1), metadata=admin()).rules
    w = World(running, url, report.agency_id, report.agency_name, other, account.id, stranger.id, email, bpmn,
              exported.agencies_csv, rule.id)
    return w, named, anonymous


def cells(*, expected):
    return [(action, role, whose) for (action, role, whose), outcome in POLICY.items() if outcome is expected]


# -- the tests ------------------------------------------------------------------------------------------
def test_every_action_of_every_service_is_in_the_matrix():
    listed = {f"{name}.{m.name}" for name, module in (
        ("intake", intake), ("verification", verification), ("routing", routing), ("sla", sla),
        ("notify", notify)) for service in module.DESCRIPTOR.services_by_name.values() for m in service.methods}
    assert {action for action, _, _ in POLICY} == listed


def test_every_refusal_is_permission_denied_and_changes_nothing(world):
    w, named, anonymous = world
    with psycopg.connect(w.url, autocommit=True) as conn:
        _refusals_change_nothing(w, named, anonymous, Rows(conn))


def _refusals_change_nothing(w: World, named: Report, anonymous: Report, rows: Rows) -> None:
    before = rows.settled()
    wrong = []
    for report in (named, anonymous):
        for action, role, whose in cells(expected=DENIED):
            counted = rows.counts()
            code, _ = call(actions(w, report)[action], metadata_for(w, report, role, whose))
            if code != DENIED:
                wrong.append(f"{action} as {role}/{whose} on the {_kind(report)} report: {code.name}, not refused")
            elif rows.counts() != counted:
                wrong.append(f"{action} as {role}/{whose} on the {_kind(report)} report: refused, but rows changed")
    assert not wrong, "\n".join(wrong)
    changed = sorted(t for t, digest in rows.contents().items() if before[t] != digest)
    assert not changed, f"refused calls changed {changed}"


def test_every_allowed_action_passes_and_the_reporter_name_reaches_national_administrators_only(world):
    w, named, anonymous = world
    wrong = []
    for report in (named, anonymous):
        for action, role, whose in cells(expected=ALLOWED):
            if action in REASSIGNING:
                continue
            code, answer = call(actions(w, report)[action], metadata_for(w, report, role, whose))
            where = f"{action} as {role}/{whose} on the {_kind(report)} report"
            if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
                wrong.append(f"{where}: {code.name}, refused")
            elif action in READS and code != grpc.StatusCode.OK:
                wrong.append(f"{where}: {code.name}, not answered")
            elif answer is not None:
                wrong += [f"{where}: {leak}" for leak in _leaks(action, role, report, answer)]
    assert not wrong, "\n".join(wrong)


def test_an_agency_declines_only_its_own_report(world):
    """Declining moves a report away, so each allowed decline gets reports of its own."""
    w, *_ = world
    for role, whose in [c for c in COLUMNS if POLICY["routing.DeclineAssignment", *c] is ALLOWED]:
        named, anonymous, _report = pair(w.running, w.account_id)
        for report in (named, anonymous):
            code, answer = call(actions(w, report)["routing.DeclineAssignment"], metadata_for(w, report, role, whose))
            assert code == grpc.StatusCode.OK and answer.agency.id == w.agency and not answer.active, (role, code)


@pytest.mark.parametrize("flaw", ["forged", "expired", "unknown role", "missing"])
def test_a_bad_identity_is_unauthenticated_for_every_action_and_changes_nothing(world, flaw):
    w, named, _anonymous = world
    with psycopg.connect(w.url, autocommit=True) as conn:
        _bad_identities_change_nothing(w, named, Rows(conn), flaw)


def _bad_identities_change_nothing(w: World, named: Report, rows: Rows, flaw: str) -> None:
    before = rows.settled()
    wrong = []
    for action, method in actions(w, named).items():
        # The identity that may do it, made bad: only the flaw can be why it is refused.
        role, whose = next(c for c in COLUMNS if POLICY[action, *c] is ALLOWED)
        code, _ = call(method, _flawed(flaw, role, whose, w, named))
        if code != grpc.StatusCode.UNAUTHENTICATED:
            wrong.append(f"{action} with a {flaw} identity: {code.name}")
    assert not wrong, "\n".join(wrong)
    assert rows.contents() == before


def test_reporters_and_agencies_see_only_their_own_notifications(world):
    w, named, anonymous = world
    for report in (named, anonymous):
        request = notify.ListNotificationsRequest(tracking_id=report.tracking_id)
        everything = w.running.notify.ListNotifications(request, metadata=admin()).notifications
        assert {n.recipient for n in everything} >= {"reporter", "agency"}
        mine = w.running.notify.ListNotifications(request, metadata=metadata_for(w, report, "reporter", "own"))
        assert [n.id for n in mine.notifications] == [n.id for n in everything if n.recipient == "reporter"]
        for role in (identity.AGENCY_ADMIN, identity.LIAISON_OFFICER):
            theirs = w.running.notify.ListNotifications(request, metadata=metadata_for(w, report, role, "own"))
            assert theirs.notifications and all(n.recipient == "agency" for n in theirs.notifications)
            assert len(theirs.notifications) == len([n for n in everything if n.recipient == "agency"])


# -- helpers ----------------------------------------------------------------------------------------------
def _kind(report: Report) -> str:
    return "anonymous" if report.anonymous else "named"


def _leaks(action: str, role: str, report: Report, answer) -> list[str]:
    """What an allowed answer shows of the reporter that it must not."""
    found = []
    if action == "intake.GetReport":
        may = role == identity.NATIONAL_ADMIN and not report.anonymous
        expected = NAMED_REPORTER["name"] if may else ""
        if answer.reporter_name != expected:
            found.append(f"reporter_name is {answer.reporter_name!r}, not {expected!r}")
    text = text_format.MessageToString(answer, as_utf8=True)
    if ANONYMOUS_REPORTER["name"] in text:
        found.append("the anonymous reporter's name appears")
    # notify needs the address to deliver; nothing else does
    delivers = action in ("intake.GetReporterContact", "intake.GetReporterContacts")
    if not delivers and any(v in text for v in (ANONYMOUS_REPORTER["email"], NAMED_REPORTER["email"],
                                                "81234567891", "81298765432")):
        found.append("a reporter's phone or e-mail appears")
    if not delivers and role != identity.NATIONAL_ADMIN and NAMED_REPORTER["name"] in text:
        found.append("the named reporter's name appears")
    return found


def _token(claims: dict, key: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    mac = hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _flawed(flaw: str, role: str, whose: str, w: World, report: Report) -> list[tuple[str, str]]:
    good = metadata_for(w, report, role, whose)
    caller_ = identity.verify(good[0][1], IDENTITY_KEY)
    claims = {"subject": caller_.subject, "role": caller_.role, "agency_id": caller_.agency_id,
              "expires_at": caller_.expires_at}
    if flaw == "forged":
        return [(identity.METADATA_KEY, _token(claims, "not-the-identity-key-0123456789abcdef"))]
    if flaw == "expired":
        return [(identity.METADATA_KEY, identity.sign(caller_, IDENTITY_KEY,
                                                      now=datetime.now(timezone.utc) - timedelta(hours=1)))]
    if flaw == "unknown role":
        return [(identity.METADATA_KEY, _token(claims | {"role": "superuser"}, IDENTITY_KEY))]
    return []
