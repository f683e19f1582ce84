"""A report from submission to closure, through every service running as its own process."""

import http.cookiejar
import re
import urllib.parse
import urllib.request
from datetime import timedelta

import grpc
import pytest

from services.plumbing import identity
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2
from sp4n.routing.v1 import routing_pb2
from sp4n.sla.v1 import sla_pb2
from sp4n.verification.v1 import verification_pb2
from tests.e2e.conftest import eventually
from tests.support import caller, service_caller

pytestmark = pytest.mark.e2e

ADMIN = caller("national_admin", "admin-e2e")
LOOKER = service_caller("portal")
ADMINISTRATOR = caller(identity.NATIONAL_ADMIN, "admin-e2e")  # reads a whole report, as the portal may not

AWAITING_AGENCY = ["agency_declined", "agency_dispatched", "follow_up_posted"]  # a follow-up, a decline, a dispatch


def browser() -> urllib.request.OpenerDirector:
    """A person's browser: it keeps the portal's session cookie."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def hidden_fields(person: urllib.request.OpenerDirector, url: str) -> dict[str, str]:
    """The nonce and CSRF token of the form on a page."""
    with person.open(url, timeout=10) as response:
        return dict(re.findall(r'name="(nonce|csrf_token)" value="([^"]+)"', response.read().decode()))


def submitted_with_code(portal: str, person: urllib.request.OpenerDirector) -> tuple[str, str]:
    """Fills in the web form as a person would and follows the redirect to the confirmation, which
    shows the tracking ID and the access code (the person's session may follow the report from then on)."""
    hidden = hidden_fields(person, portal + "/")
    form = urllib.parse.urlencode({
        **hidden, "type": "pengaduan", "title": "Lampu jalan mati di Jl. Raya Batulicin",
        "description": "Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan.",
        "category": "infrastruktur", "region_code": "6310", "location_text": "Jl. Raya Batulicin, Tanah Bumbu",
        "name": "Warga Batulicin", "phone": "081234567890", "email": "pelapor@contoh.id",
    }).encode()
    with person.open(portal + "/laporan", data=form, timeout=10) as response:
        assert response.url.endswith("/laporan/terkirim"), response.url
        page = response.read().decode()
    return (re.search(r'id="tracking-id">(LAP-[0-9A-HJKMNP-TV-Z]{8})<', page).group(1),
            re.search(r'id="access-code">([0-9A-Z-]+)<', page).group(1))


def submit_through_the_portal(portal: str) -> str:
    return submitted_with_code(portal, browser())[0]


def report(running, tracking_id):
    return running.intake.GetReport(intake_pb2.GetReportRequest(tracking_id=tracking_id), metadata=ADMINISTRATOR)


def case(running, tracking_id):
    return running.sla.GetCase(sla_pb2.GetCaseRequest(tracking_id=tracking_id), metadata=LOOKER)


def reporter_notifications(running, tracking_id):
    listed = running.notify.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                              metadata=LOOKER).notifications
    return {(n.event, n.channel, n.status) for n in listed if n.recipient == "reporter"}


def test_a_report_goes_from_submission_to_closure(running, mailbox):
    reporter = browser()
    tracking_id, code = submitted_with_code(running.portal, reporter)

    # Intake's outbox started the process; the process told the reporter and queued the report.
    eventually(lambda: any(i.tracking_id == tracking_id for i in running.verification.ListQueue(
        verification_pb2.ListQueueRequest(), metadata=ADMIN).items), what="the report reaching the queue")
    eventually(lambda: ("received", "email", "sent") in reporter_notifications(running, tracking_id),
               what="the receipt e-mail")

    running.verification.DecideReport(verification_pb2.DecideReportRequest(
        idempotency_key=f"e2e-{tracking_id}", tracking_id=tracking_id, outcome=verification_pb2.OUTCOME_FORWARD,
        category="infrastruktur"), metadata=ADMIN)
    forwarded = eventually(lambda: (r := report(running, tracking_id)).status == intake_pb2.REPORT_STATUS_FORWARDED
                           and r, what="forwarding")
    assert forwarded.agency_name == "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Tanah Bumbu"
    assert forwarded.published
    eventually(lambda: ("forwarded", "email", "sent") in reporter_notifications(running, tracking_id),
               what="the forwarding e-mail")
    # The agency's liaison officers, as the directory lists them, are e-mailed the new assignment.
    officers = ["siti.rahmawati@tanahbumbu.example", "agus.setiawan@tanahbumbu.example"]
    assignment = eventually(lambda: [body for rcpts, body in mailbox.messages
                                     if sorted(rcpts) == sorted(officers) and tracking_id in body],
                            what="the new-assignment e-mail to the agency")
    assert len(assignment) == 1 and "Warga Batulicin" not in assignment[0]
    # sla commits the step after the calls it made: the e-mail may be out before the case shows it.
    eventually(lambda: list(case(running, tracking_id).waiting_for) == AWAITING_AGENCY, what="waiting for the agency")

    liaison = caller("liaison_officer", "lo-pupr", forwarded.agency_id)
    running.intake.PostFollowUp(intake_pb2.PostFollowUpRequest(
        idempotency_key=f"fu-{tracking_id}", tracking_id=tracking_id,
        body="Lampu sudah diganti oleh tim PJU pada hari ini."), metadata=liaison)
    eventually(lambda: list(case(running, tracking_id).waiting_for) == ["reply_posted"],
               what="the process waiting for a reply")
    eventually(lambda: ("follow_up_posted", "in_app", "sent") in reporter_notifications(running, tracking_id),
               what="the follow-up notification")

    running.clock.advance(timedelta(days=20))  # well past 10 working days
    eventually(lambda: report(running, tracking_id).status == intake_pb2.REPORT_STATUS_CLOSED, what="closure")
    eventually(lambda: case(running, tracking_id).status == "completed", what="the process completing")
    eventually(lambda: ("closed", "email", "sent") in reporter_notifications(running, tracking_id),
               what="the closing e-mail")

    mails = [body for rcpts, body in mailbox.messages if rcpts == ["pelapor@contoh.id"] and tracking_id in body]
    assert len(mails) >= 3, mails
    kinds = [n.kind for n in report(running, tracking_id).timeline]
    assert kinds[0] == "submitted" and "follow_up" in kinds

    # Days later the session has ended: the reporter opens the report with the access code again.
    tracking_page = f"{running.portal}/lacak/{tracking_id}"
    form = urllib.parse.urlencode({**hidden_fields(reporter, tracking_page), "access_code": code}).encode()
    with reporter.open(tracking_page, data=form, timeout=10) as response:
        page = response.read().decode()
    assert "Lampu sudah diganti" in page
    assert "Warga Batulicin" not in page and "081234567890" not in page


def test_an_agency_that_is_not_competent_declines_and_the_report_is_rerouted(running):
    tracking_id = submit_through_the_portal(running.portal)
    eventually(lambda: any(i.tracking_id == tracking_id for i in running.verification.ListQueue(
        verification_pb2.ListQueueRequest(limit=500), metadata=ADMIN).items), what="queueing")
    running.verification.DecideReport(verification_pb2.DecideReportRequest(
        idempotency_key=f"e2e-{tracking_id}", tracking_id=tracking_id, outcome=verification_pb2.OUTCOME_FORWARD,
        category="infrastruktur"), metadata=ADMIN)
    first = eventually(lambda: (r := report(running, tracking_id)).status == intake_pb2.REPORT_STATUS_FORWARDED
                       and r, what="forwarding")
    eventually(lambda: list(case(running, tracking_id).waiting_for) == AWAITING_AGENCY, what="waiting for the agency")

    first_liaison = caller("liaison_officer", "lo-pupr", first.agency_id)
    running.routing.DeclineAssignment(routing_pb2.DeclineAssignmentRequest(
        idempotency_key=f"decline-{tracking_id}", tracking_id=tracking_id,
        reason="Jalan Raya Batulicin adalah jalan provinsi, bukan wewenang kabupaten."), metadata=first_liaison)

    rerouted = eventually(lambda: (r := report(running, tracking_id)).agency_id not in ("", first.agency_id) and r,
                          what="re-routing")
    assert rerouted.agency_id == "kementerian-pupr"  # the next rule: infrastructure in any region
    state = eventually(lambda: (c := case(running, tracking_id)).waiting_for == AWAITING_AGENCY
                       and sum(d.name == "follow_up_overdue" for d in c.deadlines) == 2 and c,
                       what="waiting for the new agency")
    follow_ups = [d for d in state.deadlines if d.name == "follow_up_overdue"]
    assert [d.owner for d in follow_ups] == [first.agency_id, "kementerian-pupr"]
    assert [d.state for d in follow_ups] == ["met", "open"]  # the first agency answered, by declining
    with pytest.raises(grpc.RpcError) as e:
        running.intake.PostFollowUp(intake_pb2.PostFollowUpRequest(
            idempotency_key=f"late-{tracking_id}", tracking_id=tracking_id, body="Kami tangani."),
            metadata=first_liaison)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_agency_administrator_dispatches_the_report_to_a_unit_which_answers_by_the_same_deadline(running):
    tracking_id = submit_through_the_portal(running.portal)
    eventually(lambda: any(i.tracking_id == tracking_id for i in running.verification.ListQueue(
        verification_pb2.ListQueueRequest(limit=500), metadata=ADMIN).items), what="queueing")
    running.verification.DecideReport(verification_pb2.DecideReportRequest(
        idempotency_key=f"e2e-{tracking_id}", tracking_id=tracking_id, outcome=verification_pb2.OUTCOME_FORWARD,
        category="infrastruktur", agency_id="kab-tanah-bumbu"), metadata=ADMIN)
    eventually(lambda: report(running, tracking_id).agency_id == "kab-tanah-bumbu", what="forwarding to the regency")
    eventually(lambda: list(case(running, tracking_id).waiting_for) == AWAITING_AGENCY, what="waiting for the agency")

    regency_admin = caller("agency_admin", "admin-tanbu", "kab-tanah-bumbu")
    running.routing.DispatchReport(routing_pb2.DispatchReportRequest(
        idempotency_key=f"dispatch-{tracking_id}", tracking_id=tracking_id, agency_id="kab-tanah-bumbu-dinas-pupr",
        note="Mohon ditangani tim PJU."), metadata=regency_admin)

    dispatched = eventually(lambda: (r := report(running, tracking_id)).agency_id == "kab-tanah-bumbu-dinas-pupr"
                            and r, what="the process forwarding to the unit")
    assert dispatched.status == intake_pb2.REPORT_STATUS_FORWARDED
    state = eventually(lambda: (c := case(running, tracking_id)).waiting_for == AWAITING_AGENCY
                       and sum(d.name == "follow_up_overdue" for d in c.deadlines) == 2 and c,
                       what="waiting for the unit")
    follow_ups = [d for d in state.deadlines if d.name == "follow_up_overdue"]
    assert [d.owner for d in follow_ups] == ["kab-tanah-bumbu", "kab-tanah-bumbu-dinas-pupr"]
    assert [d.state for d in follow_ups] == ["met", "open"]  # the regency acted, by dispatching
    assert follow_ups[0].due_at == follow_ups[1].due_at  # the unit has the regency's deadline, not a new one

    # The regency no longer holds it; the unit does.
    follow_up = intake_pb2.PostFollowUpRequest(idempotency_key=f"fu-{tracking_id}", tracking_id=tracking_id,
                                               body="Lampu jalan sudah diperbaiki oleh tim PJU.")
    with pytest.raises(grpc.RpcError) as e:
        running.intake.PostFollowUp(follow_up, metadata=caller("liaison_officer", "lo-tanbu", "kab-tanah-bumbu"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    running.intake.PostFollowUp(follow_up, metadata=caller("liaison_officer", "lo-pupr", "kab-tanah-bumbu-dinas-pupr"))
    eventually(lambda: list(case(running, tracking_id).waiting_for) == ["reply_posted"],
               what="the process waiting for the reporter's reply")


def scrape(running, service: str) -> str:
    port = running.system.env[f"{service.upper()}_METRICS_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


def logged_with(running, request_id: str) -> set[str]:
    """The services whose log has a line carrying `request_id`."""
    marker = f'"request_id": "{request_id}"'
    return {path.stem for path in running.system.log_dir.glob("*.log") if marker in path.read_text()}


def test_operators_see_each_services_metrics_and_follow_a_request_by_its_id_without_contact_details(running):
    person = browser()
    request_id = "5e0c7b1a-2d3f-4a6b-9c8d-7e6f5a4b3c2d"
    person.addheaders = [("X-Request-Id", request_id)]
    submitted_with_code(running.portal, person)

    assert eventually(lambda: {"portal", "intake"} <= logged_with(running, request_id),
                      what="the request id in portal's and intake's logs")
    metrics = {service: scrape(running, service) for service in ("intake", "sla", "notify", "portal")}
    assert re.search(r'sp4n_grpc_server_requests_total\{code="OK",method="/sp4n.intake.v1.IntakeService/'
                     r'SubmitReport",service="intake"\} [1-9]', metrics["intake"])
    assert "sp4n_outbox_pending " in metrics["intake"]
    assert "sp4n_sla_timers_due " in metrics["sla"] and "sp4n_sla_deadlines_breached " in metrics["sla"]
    assert 'sp4n_notify_notifications{status="failed"}' in metrics["notify"]
    assert re.search(r'sp4n_http_requests_total\{method="POST",route="/laporan",status="303"\} [1-9]',
                     metrics["portal"])
    assert not any("@contoh.id" in path.read_text() for path in running.system.log_dir.glob("*.log"))
