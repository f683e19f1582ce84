"""The process diagrams in headless Chromium, over the stand-in for sla: the cockpit draws the model with
bpmn-js and puts on each element an overlay with the figures sla gives for it (waiting, overdue, median
time), which leads to the element's reports; a report's path is marked on its diagram. bpmn-js is made by a
make target and not kept in the repository: without it the diagram tests are skipped, saying so, and the
pages are checked to stand on their tables alone. No page breaks the Content Security Policy (open_page)."""

import pytest

from services.plumbing import identity
from services.portal import process_pages
from tests.portal.test_process_pages import NEW_HASH, PATH, WAITING_ELEMENT, process  # noqa: F401 (fixture)
from tests.portal.test_staff_pages_accessibility import sign_in
from tests.portal.test_staff_sign_in import staff  # noqa: F401 (fixture)

NEEDS_BPMN_JS = pytest.mark.skipif(
    not process_pages.viewer_available(),
    reason=f"bpmn-js is not installed at {process_pages.VIEWER} (made by a make target, not committed): "
           "the diagram is not drawn")


@pytest.fixture
def analyst(staff):
    return staff("analis", identity.PROCESS_ANALYST)


@NEEDS_BPMN_JS
def test_the_cockpit_draws_an_overlay_per_element_with_slas_figures(browser_page, portal_url, analyst, process):
    sign_in(browser_page, portal_url, "analis")
    browser_page.goto(f"{portal_url}/staf/proses/kokpit")
    browser_page.wait_for_selector("#diagram[data-rendered]")
    assert browser_page.locator("#diagram").get_attribute("data-rendered") == "true"
    drawn = browser_page.eval_on_selector_all(".djs-overlay .figures-overlay", """overlays => overlays.map(o => [
        o.getAttribute("data-element"), o.querySelector(".waiting").textContent,
        o.querySelector(".overdue").textContent, o.querySelector(".median").textContent])""")
    expected = [[e.element_id, str(e.waiting), str(e.overdue), process_pages.median(e.median_seconds, e.visits)]
                for e in process.cockpits[NEW_HASH]]
    assert sorted(drawn) == sorted(expected)
    assert [WAITING_ELEMENT, "120", "7", "2 hari 3 jam"] in drawn

    with browser_page.expect_navigation():
        browser_page.locator(f".figures-overlay[data-element='{WAITING_ELEMENT}']").click()
    assert browser_page.url == f"{portal_url}/staf/proses/kokpit/{WAITING_ELEMENT}"
    assert browser_page.locator("#cases tbody tr").count() == 50


@NEEDS_BPMN_JS
def test_a_reports_path_is_marked_on_its_diagram(browser_page, portal_url, analyst, process):
    sign_in(browser_page, portal_url, "analis")
    browser_page.goto(f"{portal_url}/staf/proses/laporan/LAP-7K3QX9MA")
    browser_page.wait_for_selector("#diagram[data-rendered]")
    marked = browser_page.eval_on_selector_all(".djs-element.path-taken", "es => es.map(e => e.dataset.elementId)")
    assert sorted(marked) == sorted(PATH)


def test_without_bpmn_js_the_cockpit_is_its_table(browser_page, portal_url, analyst, process, monkeypatch, tmp_path):
    monkeypatch.setattr(process_pages, "VIEWER", tmp_path / "absent.js")
    sign_in(browser_page, portal_url, "analis")
    browser_page.goto(f"{portal_url}/staf/proses/kokpit")
    assert browser_page.locator("#no-diagram").count() == 1
    assert browser_page.locator("#cockpit tbody tr").count() == len(process.cockpits[NEW_HASH])

