"""Script injection in every text field of a report, rendered as text on every page that shows it: the
reporter's tracking page, the public report page and feed, and the staff pages (the verification
console, the agency console). Through real HTTP to the portal over real intake, verification and routing.

And SQL metacharacters in every text field, stored and read back verbatim through the REST API."""

from datetime import timedelta

import grpc
import lxml.html
import psycopg
import pytest

from services.plumbing import identity
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.routing.v1 import routing_pb2, routing_pb2_grpc
from sp4n.verification.v1 import verification_pb2 as vpb
from sp4n.verification.v1 import verification_pb2_grpc
from tests.intake.reports import SLA, T0, report_request, reporter
from tests.portal.api_support import report_body
from tests.portal.test_pages import enter_code
from tests.portal.test_staff_sign_in import PUPR, signed_in, staff  # noqa: F401 (staff: a fixture)
from tests.portal.test_verification_console import app, verification_address  # noqa: F401 (fixtures)
from tests.support import caller, service_caller

PUPR_NAME = "Dinas PUPR Kabupaten Tanah Bumbu"


def script(field: str) -> str:
    """A script element, and an attribute that breaks out of its quotes, naming the field they were typed in."""
    return f"<script>alert('{field}')</script> \"><img src=x onerror=alert('{field}')> {field}"


FIELDS = {"title": script("title"), "description": "Laporan warga: " + script("description"),
          "location_text": script("location"), "name": script("name"),
          "follow_up": script("follow-up"), "reply": script("reply")}


@pytest.fixture
def hostile_report(intake_stub, verification_address, routing_address, fake_sla, fake_notify):
    """A report with a script in every text field, queued for verification, then forwarded (so published)
    and assigned to Dinas PUPR, with a follow-up and the reporter's reply: (tracking ID, access code)."""
    answer = intake_stub.SubmitReport(report_request(
        "web-hostile", title=FIELDS["title"], description=FIELDS["description"],
        location_text=FIELDS["location_text"], reporter=pb.Reporter(name=FIELDS["name"], phone="081234567890")),
        metadata=service_caller("portal"))
    tracking_id = answer.tracking_id
    with grpc.insecure_channel(verification_address) as channel:
        queued = vpb.EnqueueReportRequest(idempotency_key="enq", tracking_id=tracking_id)
        queued.submitted_at.FromDatetime(T0)
        queued.due_at.FromDatetime(T0 + timedelta(days=3))
        verification_pb2_grpc.VerificationServiceStub(channel).EnqueueReport(queued, metadata=SLA)
    intake_stub.ForwardReport(pb.ForwardReportRequest(idempotency_key="fwd", tracking_id=tracking_id,
                                                      agency_id=PUPR, agency_name=PUPR_NAME), metadata=SLA)
    with grpc.insecure_channel(routing_address) as channel:
        routing_pb2_grpc.RoutingServiceStub(channel).AssignReport(routing_pb2.AssignReportRequest(
            idempotency_key="assign", tracking_id=tracking_id, category="infrastruktur", region_code="6310",
            preferred_agency_id=PUPR), metadata=SLA)
    fake_sla.agencies[tracking_id] = fake_notify.agencies[tracking_id] = PUPR
    intake_stub.PostFollowUp(pb.PostFollowUpRequest(idempotency_key="fu", tracking_id=tracking_id,
                                                    body=FIELDS["follow_up"]),
                             metadata=caller(identity.LIAISON_OFFICER, "lo-pupr", PUPR))
    intake_stub.PostReply(pb.PostReplyRequest(idempotency_key="re", tracking_id=tracking_id, body=FIELDS["reply"]),
                          metadata=reporter(tracking_id))
    return tracking_id, answer.access_code


def shown_as_text(response) -> str:
    """The page's text, after checking that nothing typed became markup: no script of ours ran and no
    attribute broke out of its quotes."""
    assert response.status_code == 200, response.status_code
    html = response.text
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(" in html  # it is there, escaped
    document = lxml.html.fromstring(html)
    assert document.xpath("//*[@onerror]") == []
    assert [s.text for s in document.xpath("//script") if s.text and "alert(" in s.text] == []
    return " ".join(document.text_content().split())


def test_every_text_field_is_shown_escaped_wherever_it_is_shown(hostile_report, visitor, staff):  # noqa: F811
    tracking_id, code = hostile_report
    reporter_browser = visitor()
    tracking_page = enter_code(reporter_browser, tracking_id, code)
    if tracking_page.status_code in (302, 303):
        tracking_page = reporter_browser.get(tracking_page.headers["Location"])
    staff("admin-nasional", identity.NATIONAL_ADMIN)
    staff("lo-pupr", identity.LIAISON_OFFICER, PUPR)
    admin, liaison, public = signed_in(visitor, "admin-nasional"), signed_in(visitor, "lo-pupr"), visitor()
    pages = {
        "tracking page": tracking_page,
        "public report": public.get(f"/publik/{tracking_id}"),
        "public feed": public.get("/publik"),
        "verification queue": admin.get("/staf/verifikasi"),
        "verification report": admin.get(f"/staf/verifikasi/{tracking_id}"),
        "agency inbox": liaison.get("/staf/instansi"),
        "agency report": liaison.get(f"/staf/instansi/{tracking_id}"),
    }
    texts = {name: shown_as_text(response) for name, response in pages.items()}
    # Where each field is shown, it is shown whole, as typed.
    expected = {
        "tracking page": ["title", "description", "location_text", "follow_up", "reply"],
        "public report": ["title", "location_text", "follow_up"],
        "public feed": ["title"],
        "verification report": ["title", "description", "location_text", "name"],
        "agency report": ["title", "description", "location_text", "follow_up", "reply"],
        "agency inbox": ["title"],
        "verification queue": ["title"],
    }
    missing = {(page, field) for page, fields in expected.items() for field in fields
               if " ".join(FIELDS[field].split()) not in texts[page]}
    assert missing == set()


METACHARACTERS = ("'; DROP TABLE intake.reports; -- \" OR 1=1 /* %s %(title)s $1 \\ \\\\ ? ; ` $$ E'\\x00' "
                  "%' AND '%'=' _ [a-z]* ~ {0} ${x}")


def test_sql_metacharacters_in_every_text_field_are_stored_and_read_back_verbatim(clients, database_url):
    app_api = clients["app-1"]
    body = report_body(title="Judul " + METACHARACTERS[:120], description="Uraian " + METACHARACTERS,
                       location_text="Lokasi " + METACHARACTERS,
                       reporter={"name": "Nama " + METACHARACTERS[:100], "phone": "081234567890"})
    answer = app_api.post("/reports", json=body, headers={"Idempotency-Key": "sql-1"})
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    report = app_api.get(f"/reports/{receipt['tracking_id']}", headers={"X-Access-Code": receipt["access_code"]})
    assert report.status_code == 200
    read = report.json()
    assert {k: read[k] for k in ("title", "description", "location_text")} == \
        {k: body[k] for k in ("title", "description", "location_text")}
    reply = app_api.post(f"/reports/{receipt['tracking_id']}/replies", json={"body": "Balasan " + METACHARACTERS},
                         headers={"X-Access-Code": receipt["access_code"]})
    assert reply.status_code in (201, 409), reply.text  # a reply waits for a follow-up; either way nothing breaks
    with psycopg.connect(database_url) as conn:
        [(name,)] = conn.execute("SELECT name FROM intake.reporters WHERE tracking_id = %s",
                                 (receipt["tracking_id"],)).fetchall()
        assert name == body["reporter"]["name"]
        assert conn.execute("SELECT count(*) FROM intake.reports").fetchone()[0] == 1
