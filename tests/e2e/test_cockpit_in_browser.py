"""The process analyst's cockpit in headless Chromium, across the whole running system: reports submitted
on the web form wait for verification, one is forwarded to an agency, days pass; the diagram's overlays
show for each element what sla's tables hold (reports waiting there, how many overdue). An edited model
that names an operation sla does not know is refused at upload with the element named, and nothing is
deployed."""

from datetime import timedelta

import psycopg
import pytest

from services.portal import staff_demo
from sp4n.sla.v1 import sla_pb2
from sp4n.verification.v1 import verification_pb2
from tests.e2e.conftest import eventually
from tests.e2e.test_report_lifecycle import submit_through_the_portal
from tests.support import IDENTITY_KEY, ROOT, caller

pytestmark = pytest.mark.e2e

ADMIN = caller("national_admin", "admin-e2e")
ANALYST = caller("process_analyst", "analis")
MODEL = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
VIEWER = ROOT / "services" / "portal" / "static" / "vendor" / "bpmn-js" / "bpmn-navigated-viewer.production.min.js"


def stage_of(running, tracking_id: str) -> str:
    return running.sla.GetCase(sla_pb2.GetCaseRequest(tracking_id=tracking_id), metadata=ANALYST).stage


def in_the_database(running) -> dict[str, tuple[int, int]]:
    """Per element: (reports waiting there, of which overdue), read from sla's tables directly."""
    with psycopg.connect(running.system.env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT element, count(*) AS waiting, count(*) FILTER (WHERE EXISTS ("
            "  SELECT 1 FROM sla.deadlines d WHERE d.tracking_id = i.tracking_id AND d.met_at IS NULL"
            "  AND d.due_at < %s)) AS overdue "
            "FROM sla.instances i CROSS JOIN LATERAL unnest(string_to_array(i.stage, '+')) AS element "
            "JOIN sla.process_versions v ON v.id = i.version_id "
            "WHERE i.status <> 'completed' AND v.content_hash = ("
            "  SELECT content_hash FROM sla.process_versions ORDER BY version DESC LIMIT 1) GROUP BY element",
            (running.clock.now(),)).fetchall()
    return {element: (waiting, overdue) for element, waiting, overdue in rows}


def sign_in_as_analyst(page, portal: str) -> None:
    page.goto(portal + "/staf/masuk")
    page.get_by_label("Nama pengguna").fill("analis")
    page.get_by_label("Kata sandi").fill(staff_demo.password(IDENTITY_KEY, "analis"))
    page.locator("main").get_by_role("button", name="Masuk").click()
    page.wait_for_url(portal + "/staf")


@pytest.mark.skipif(not VIEWER.is_file(), reason="bpmn-js is not in the portal's static folder: run `make vendor`")
def test_the_cockpit_overlays_show_what_sla_holds_and_a_broken_model_is_refused_by_element(running, open_page):
    reports = [submit_through_the_portal(running.portal) for _ in range(3)]
    for tracking_id in reports:
        eventually(lambda: stage_of(running, tracking_id) == "await_decision", what=f"{tracking_id} in verification")
    running.verification.DecideReport(verification_pb2.DecideReportRequest(
        idempotency_key=f"cockpit-{reports[0]}", tracking_id=reports[0], outcome=verification_pb2.OUTCOME_FORWARD,
        category="infrastruktur"), metadata=ADMIN)
    eventually(lambda: stage_of(running, reports[0]) == "await_follow_up", what="the forwarded report at the agency")
    running.clock.advance(timedelta(days=6))  # past the 3 working days of verification
    expected = eventually(lambda: (db := in_the_database(running)).get("await_decision", (0, 0))[1] >= 2 and db,
                          what="the reports waiting for a decision being overdue")

    page = open_page()
    sign_in_as_analyst(page, running.portal)
    page.goto(running.portal + "/staf/proses/kokpit")
    page.wait_for_selector("#diagram[data-rendered='true']")
    expected = in_the_database(running)  # read again as the page was made
    assert expected["await_decision"][0] >= 2 and expected["await_follow_up"][0] >= 1
    for element, (waiting, overdue) in expected.items():
        overlay = page.locator(f".djs-overlays a.figures-overlay[data-element='{element}']")
        assert overlay.count() == 1, element
        assert (overlay.locator(".waiting").inner_text(), overlay.locator(".overdue").inner_text()) == (
            str(waiting), str(overdue)), element
        row = page.locator(f"tr[data-element='{element}']")
        assert (row.get_attribute("data-waiting"), row.get_attribute("data-overdue")) == (str(waiting), str(overdue))
    # An element nobody waits at shows no one.
    assert page.locator(".djs-overlays a.figures-overlay[data-element='archive_report'] .waiting").inner_text() == "0"

    # Clicking the element in the diagram lists its reports.
    page.locator(".djs-element[data-element-id='await_decision'] .djs-hit").first.click()
    page.wait_for_url(f"{running.portal}/staf/proses/kokpit/await_decision")
    listed = page.locator("main").inner_text()
    assert all(tracking_id in listed for tracking_id in reports[1:]) and reports[0] not in listed

    # The statistics, as JSON for the same session: the backlog is every running case, the national
    # desk's verification deadlines of the two waiting reports are past and unmet.
    with psycopg.connect(running.system.env["DATABASE_URL"]) as conn:
        running_cases = conn.execute("SELECT count(*) FROM sla.instances WHERE status <> 'completed'").fetchone()[0]
    figures = page.request.get(running.portal + "/staf/statistik.json").json()
    assert figures["overall"]["backlog"] == running_cases >= 3
    assert figures["overall"]["deadlines"] >= 2 and figures["overall"]["met_on_time"] < figures["overall"]["deadlines"]
    assert {f["key"] for f in figures["by_category"]} >= {"infrastruktur"}
    page.goto(running.portal + "/staf/statistik")
    assert page.locator("main table").count() >= 2

    # A model whose task calls an operation sla does not know is refused, the element named.
    versions = running.sla.ListProcessVersions(sla_pb2.ListProcessVersionsRequest(), metadata=ANALYST).versions
    broken = MODEL.replace('id="notify/SendNotification" resultVariable="notification">',
                           'id="notify/SendNotifikasi" resultVariable="notification">', 1)
    page.goto(running.portal + "/staf/proses")
    page.set_input_files("#bpmn_file", files=[{"name": "lifecycle.bpmn", "mimeType": "application/xml",
                                               "buffer": broken.encode()}])
    page.locator("main").get_by_role("button", name="Pasang").click()
    refusal = page.locator("#model-refusal").inner_text()
    assert "notify_received" in refusal and "notify/SendNotifikasi" in refusal, refusal
    after = running.sla.ListProcessVersions(sla_pb2.ListProcessVersionsRequest(), metadata=ANALYST).versions
    assert len(after) == len(versions)
