"""The staff's notification pages over the real notify (on the test database) rather than its stand-in,
with a real intake and routing: what notify stores reaches the inbox and a report's page as the staff
member may see it, and a dead letter is listed and sent again from a first attempt, once for a form
sent twice."""

import psycopg
import pytest

from services.notify import grpc_api as notify_api
from services.notify.contacts import IntakeContacts
from services.notify.domain import Channel
from services.notify.service import NotifyService
from services.notify.templates import Templates
from services.plumbing import channels, identity
from services.plumbing.identity import LIAISON_OFFICER, NATIONAL_ADMIN
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc
from tests.intake.reports import SLA, forward, submit
from tests.portal.test_pages import page
from tests.portal.test_staff_sign_in import PUPR, signed_in, staff  # noqa: F401 (fixture)
from tests.support import IDENTITY_KEY


@pytest.fixture
def notify_address(grpc_address, pool, clock, intake_address, routing_address):
    signer = identity.ServiceSigner("notify", IDENTITY_KEY)
    intake = intake_pb2_grpc.IntakeServiceStub(channels.connect(intake_address, signer))
    routing = routing_pb2_grpc.RoutingServiceStub(channels.connect(routing_address, signer))
    service = NotifyService(pool=pool, clock=clock, templates=Templates.load(),
                            contacts=IntakeContacts(intake, directory=routing, timeout=5),
                            channels=frozenset({Channel.EMAIL}), public_url="https://lapor.example.id")
    return grpc_address("notify", notify_api.register(service))


@pytest.fixture
def app(make_app, intake_address, others_address, notify_address, routing_address):
    return make_app(intake_address, others_address, notify_address, routing=routing_address)


@pytest.fixture
def notify_stub(notify_address):
    with channels.connect(notify_address, identity.ServiceSigner("sla", IDENTITY_KEY)) as channel:
        yield notify_pb2_grpc.NotifyServiceStub(channel)


@pytest.fixture
def report(intake_stub, notify_stub) -> str:
    """A report forwarded to Dinas PUPR, its reporter told by e-mail and the agency in-app."""
    tracking_id = submit(intake_stub, "web-1")
    forward(intake_stub, tracking_id, agency_id=PUPR)
    for key, event, recipient in (("n-1", "received", "reporter"), ("n-2", "new_assignment", "agency")):
        notify_stub.SendNotification(notify_pb2.SendNotificationRequest(
            idempotency_key=key, tracking_id=tracking_id, event=event, recipient=recipient,
            agency_id=PUPR if recipient == "agency" else ""))
    return tracking_id


def give_up_on_the_reporters_email(database_url) -> None:
    """What notify's delivery worker does after the last failed attempt to e-mail the reporter."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE notify.notifications SET status = 'failed', attempts = 6, "
                     "last_error = 'smtp: 550 mailbox unavailable' WHERE channel = 'email' AND recipient = 'reporter'")


def test_the_inbox_and_the_report_page_show_what_notify_stored(report, staff, visitor):  # noqa: F811
    staff("petugas-pupr", LIAISON_OFFICER, PUPR)
    liaison = signed_in(visitor, "petugas-pupr")
    html = page(liaison.get("/staf/pemberitahuan"))
    [row] = html.xpath("//table[@id='inbox']/tbody/tr")
    assert row.xpath(".//a/@href") == [f"/staf/instansi/{report}"]
    assert "Laporan baru untuk instansi" in row.text_content()
    shown = page(liaison.get(f"/staf/instansi/{report}")).xpath("//table[@id='notifications']/tbody/tr/td[2]")
    assert shown and {td.text_content() for td in shown} == {"Instansi"}  # not what the reporter was sent


def test_a_dead_letter_is_resent_once_from_a_first_attempt(report, staff, visitor, database_url):  # noqa: F811
    give_up_on_the_reporters_email(database_url)
    staff("admin-nasional", NATIONAL_ADMIN)
    admin = signed_in(visitor, "admin-nasional")
    html = page(admin.get("/staf/notifikasi-gagal?kanal=email"))
    [row] = html.xpath("//table[@id='dead-letters']/tbody/tr")
    assert "smtp: 550 mailbox unavailable" in row.text_content()
    form = row.xpath(".//form")[0]
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    for _ in range(2):  # a double click
        response = admin.post(form.get("action"), data=fields)
        assert (response.status_code, response.headers["Location"]) == (303, "/staf/notifikasi-gagal?kanal=email")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT status, attempts, resends FROM notify.notifications WHERE channel = 'email' "
                            "AND recipient = 'reporter'").fetchall() == [("pending", 0, 1)]
    shown = page(admin.get("/staf/notifikasi-gagal?kanal=email"))
    assert shown.xpath("//*[@id='notice']/@role") == ["status"] and shown.xpath("//*[@id='empty']")
