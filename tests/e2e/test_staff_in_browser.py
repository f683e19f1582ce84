"""The staff side in headless Chromium, across the whole running system (six service processes, one
PostgreSQL): a reporter submits on the web form; a national administrator forwards the report from
the verification console to Dinas PUPR of Kabupaten Tanah Bumbu; that agency's liaison officer posts
a follow-up from the agency console; the reporter reads it on the tracking page. A liaison officer
of another agency is refused the report (the 403 page), the sign-in form is used with the keyboard
alone, and every staff page on the way has no accessibility violation of impact serious or critical
(axe-core), in Indonesian and in English.

The accounts are the demo ones the portal makes at start (services/portal/staff_demo.py), their
passwords derived from the identity key; the other agency's officer is made with the command line."""

import os
import subprocess
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from services.portal import staff_demo
from sp4n.intake.v1 import intake_pb2
from tests.e2e.conftest import eventually
from tests.portal.test_browser_accessibility import assert_accessible, fill_report
from tests.support import IDENTITY_KEY, ROOT, caller

pytestmark = pytest.mark.e2e

PUPR = staff_demo.TANAH_BUMBU_PUPR
PUPR_NAME = "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Tanah Bumbu"
ADMIN = "admin-nasional"
LIAISON = "petugas-pupr-tanbu"
OTHER_LIAISON, OTHER_AGENCY = "petugas-dinkes-tanbu", "kab-tanah-bumbu-dinas-kesehatan"
OTHER_PASSWORD = "kata-sandi-dinkes-1708"
TITLE = "Jembatan kayu lapuk di Desa Sungai Loban"
REPORTER_EMAIL = "warga@contoh.id"  # what fill_report gives
FOLLOW_UP = "Tim PUPR sudah memeriksa jembatan; penggantian papan dijadwalkan minggu depan."
ADMINISTRATOR = caller("national_admin", "admin-e2e")  # reads the whole report, to check what did not change


def demo_password(username: str) -> str:
    return staff_demo.password(IDENTITY_KEY, username)


@pytest.fixture(scope="module")
def other_liaison(running) -> str:
    """A liaison officer of Dinas Kesehatan Tanah Bumbu, made by the command line on the system's database."""
    made = subprocess.run(
        [sys.executable, "-m", "services.portal.staff", "create", "--username", OTHER_LIAISON, "--role",
         "liaison_officer", "--agency-id", OTHER_AGENCY, "--password-stdin"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, input=OTHER_PASSWORD + "\n",
        env={**os.environ, "DATABASE_URL": running.system.env["DATABASE_URL"]})
    assert made.returncode == 0, made.stderr
    return OTHER_LIAISON


@pytest.fixture
def page(open_page):
    return open_page(axe=True)


def in_language(url: str, language: str) -> str:
    """`url` asking for `language` (any other choice of language and the fragment dropped)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "lang"] + [("lang", language)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def assert_accessible_in_both_languages(page) -> None:
    """Checks the page as shown (in Indonesian), then loads it again in English and in Indonesian (which
    the cookie then keeps for the pages after it) and checks each. A page shown once (a notice) is
    checked with its notice only the first time."""
    assert page.locator("html").get_attribute("lang") == "id"
    assert_accessible(page)
    shown = page.url
    for language in ("en", "id"):
        page.goto(in_language(shown, language))
        assert page.locator("html").get_attribute("lang") == language
        assert_accessible(page)


def sign_in(page, portal: str, username: str, password: str, check: bool = False) -> None:
    """Signs in from the link at the foot of the home page, as a member of staff finds it; with `check`,
    the sign-in page is checked for accessibility first."""
    page.goto(portal + "/")
    page.get_by_role("link", name="Halaman petugas").click()
    page.wait_for_url(portal + "/staf/masuk")
    if check:
        assert_accessible_in_both_languages(page)
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.locator("main").get_by_role("button", name="Masuk").click()
    page.wait_for_url(portal + "/staf")
    assert page.locator("#username").inner_text() == username


def reloaded_until(page, selector: str, count: int, what: str, timeout: float = 30.0) -> None:
    """Reloads the page until `selector` matches `count` elements: the services move reports along
    asynchronously (outboxes, the process in sla)."""
    def check():
        page.reload()
        return page.locator(selector).count() == count
    eventually(check, timeout=timeout, interval=0.3, what=what)


def report(running, tracking_id: str) -> intake_pb2.Report:
    return running.intake.GetReport(intake_pb2.GetReportRequest(tracking_id=tracking_id), metadata=ADMINISTRATOR)


def submitted(page, portal: str) -> tuple[str, str]:
    """The tracking ID and access code a reporter keeps after sending the web form."""
    fill_report(page, portal, title=TITLE)
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url(portal + "/laporan/terkirim")
    return page.locator("#tracking-id").inner_text(), page.locator("#access-code").inner_text()


def test_a_forwarded_report_is_followed_up_by_the_agency_and_the_reporter_reads_it(running, other_liaison,
                                                                                  open_page, page):
    portal = running.portal
    tracking_id, code = submitted(open_page(), portal)

    # The national administrator finds it in the verification queue once the process has put it there.
    sign_in(page, portal, ADMIN, demo_password(ADMIN), check=True)
    assert_accessible_in_both_languages(page)
    page.get_by_role("link", name="Antrean verifikasi").click()
    page.wait_for_url(portal + "/staf/verifikasi")
    reloaded_until(page, f"#queue-{tracking_id}", 1, "the report reaching the verification queue")
    assert page.locator(f"#queue-{tracking_id}").inner_text().count(TITLE) == 1
    assert_accessible_in_both_languages(page)

    page.get_by_role("link", name=tracking_id).click()
    page.wait_for_url(f"{portal}/staf/verifikasi/{tracking_id}")
    assert page.locator("h1").inner_text() == TITLE
    assert_accessible_in_both_languages(page)
    page.get_by_label("Cari instansi menurut nama").fill("Tanah Bumbu")
    page.get_by_role("button", name="Cari", exact=True).click()
    page.wait_for_url(f"{portal}/staf/verifikasi/{tracking_id}?cari_instansi=Tanah+Bumbu#teruskan")
    assert_accessible(page)
    page.get_by_label("Instansi", exact=True).select_option(label=PUPR_NAME)
    page.get_by_role("button", name="Teruskan", exact=True).click()
    page.wait_for_url(portal + "/staf/verifikasi")
    assert page.locator("#notice").inner_text() == f"Keputusan untuk {tracking_id} disimpan: Diteruskan."
    assert page.locator(f"#queue-{tracking_id}").count() == 0
    assert_accessible_in_both_languages(page)

    # The agency's liaison officer finds it in the inbox once routing has assigned it.
    liaison = open_page(axe=True)
    sign_in(liaison, portal, LIAISON, demo_password(LIAISON))
    assert_accessible_in_both_languages(liaison)
    liaison.get_by_role("link", name="Kotak masuk instansi").click()
    liaison.wait_for_url(portal + "/staf/instansi")
    reloaded_until(liaison, f"#report-{tracking_id}", 1, "the report reaching the agency's inbox")
    assert_accessible_in_both_languages(liaison)
    liaison.get_by_role("link", name=tracking_id).click()
    liaison.wait_for_url(f"{portal}/staf/instansi/{tracking_id}")
    assert liaison.locator("#agency").inner_text() == PUPR_NAME
    assert liaison.locator("#status strong").inner_text() == "Diteruskan ke instansi"
    assert REPORTER_EMAIL not in liaison.content()  # an agency never sees who reported
    assert_accessible_in_both_languages(liaison)

    # An officer of another agency is refused it, and it stays as it was.
    before = report(running, tracking_id)
    other = open_page(axe=True)
    sign_in(other, portal, other_liaison, OTHER_PASSWORD)
    response = other.goto(f"{portal}/staf/instansi/{tracking_id}")
    assert response.status == 403
    assert other.locator("h1").inner_text() == "Akses ditolak"
    assert TITLE not in other.content()
    assert_accessible_in_both_languages(other)
    other.goto(f"{portal}/staf/instansi")
    assert other.locator("#empty").count() == 1
    assert report(running, tracking_id) == before

    # The follow-up: an empty one is refused beside the box, then the text is sent.
    liaison.get_by_role("button", name="Kirim tindak lanjut").click()
    assert liaison.locator("#body-error").inner_text().endswith("Tulis tindak lanjut instansi Anda.")
    assert_accessible(liaison)
    liaison.get_by_label("Tindak lanjut instansi").fill(FOLLOW_UP)
    liaison.get_by_role("button", name="Kirim tindak lanjut").click()
    liaison.wait_for_url(f"{portal}/staf/instansi/{tracking_id}#riwayat")
    assert liaison.locator("#notice").inner_text() == f"Tindak lanjut untuk laporan {tracking_id} terkirim."
    assert liaison.locator(".timeline .entry-body", has_text=FOLLOW_UP).count() == 1
    assert_accessible_in_both_languages(liaison)

    # The reporter, in a browser without the session of the submission, opens the report with the code.
    reporter = open_page(axe=True)
    reporter.goto(f"{portal}/lacak/{tracking_id}")
    reporter.get_by_label("Kode akses").fill(code)
    reporter.get_by_role("button", name="Buka laporan").click()
    reporter.wait_for_url(f"{portal}/lacak/{tracking_id}")
    assert reporter.locator(".timeline .entry-body", has_text=FOLLOW_UP).count() == 1
    assert reporter.locator("#status strong").inner_text() == "Sudah ditindaklanjuti"
    assert reporter.locator("#agency").inner_text() == PUPR_NAME
    # The process now waits for the reporter's answer to the follow-up: the tracking page offers the box.
    reloaded_until(reporter, "#answer-heading", 1, "the tracking page offering a reply")
    assert reporter.locator("#answer-heading").inner_text() == "Tanggapi tindak lanjut"
    assert_accessible(reporter)


def focused(page) -> dict:
    """The element that has the keyboard focus: its tag, id, class, and whether its outline shows."""
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), id: e.id, cls: e.className, text: e.textContent.trim(),
                outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2}; }""")


def test_the_sign_in_form_with_the_keyboard_alone(running, page):
    """Skip link, the fields in order, a visible focus, Enter to send; after a mistake the error summary
    leads back to the field. Nothing here uses the mouse."""
    portal = running.portal
    page.goto(portal + "/staf/masuk")
    page.keyboard.press("Tab")
    assert focused(page)["cls"] == "skip-link"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page) | {"text": ""} == {"tag": "input", "id": "username", "cls": "", "text": "",
                                            "outline": True}
    with page.expect_navigation():
        page.keyboard.press("Enter")  # sent empty
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)

    page.keyboard.press("Tab")
    assert focused(page)["cls"] == "skip-link"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page)["tag"] == "a" and focused(page)["outline"]  # the summary's first link
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "username"
    page.keyboard.type("analis")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password" and focused(page)["outline"]
    page.keyboard.type(demo_password("analis"))
    page.keyboard.press("Tab")
    button = focused(page)
    assert (button["tag"], button["text"], button["outline"]) == ("button", "Masuk", True)
    page.keyboard.press("Enter")
    page.wait_for_url(portal + "/staf")
    assert page.locator("#username").inner_text() == "analis"
