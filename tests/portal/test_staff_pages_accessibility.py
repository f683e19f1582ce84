"""The newest staff pages in headless Chromium, over a real routing server with the demo directory: the
agency directory (the list, an agency's page, the CSV import and its dry run), the routing rules (the
list, adding and editing a rule), the password pages (changing one's own, the result of a reset), and
the notifications (the inbox, a report's notifications on both consoles' report pages, the dead letters
and their resending), and the process analysts' pages (the versions with a refused and an accepted upload,
the cockpit with its diagram when bpmn-js is installed, an element's reports, a report's path, the
statistics with a refused period). Each, in Indonesian and in English, and each form refused, has no accessibility
violation of impact serious or critical as axe-core finds them; the add-rule form is used with the
keyboard alone."""

from datetime import timedelta

import grpc
import psycopg
import pytest

from services.plumbing import identity
from services.verification import grpc_api as verification_api
from services.verification.service import VerificationService
from sp4n.notify.v1 import notify_pb2
from sp4n.verification.v1 import verification_pb2 as vpb
from sp4n.verification.v1 import verification_pb2_grpc
from tests.intake.reports import SLA, T0, at, forward
from tests.intake.reports import submit as submit_report
from tests.portal.test_browser_accessibility import assert_accessible
from tests.portal.test_process_pages import MODEL, WAITING_ELEMENT, process  # noqa: F401 (fixture)
from tests.portal.test_staff_sign_in import PASSWORD, PUPR, staff  # noqa: F401 (fixture)

NEW_PASSWORD = "kata-sandi-baru-1708"
LANGUAGES = ["id", "en"]


@pytest.fixture
def verification_address(grpc_address, pool, clock):
    return grpc_address("verification", verification_api.register(VerificationService(pool=pool, clock=clock)))


@pytest.fixture
def app(make_app, intake_address, others_address, routing_address, verification_address):
    """The portal over a real routing server with the demo directory and rules, and a real verification."""
    return make_app(intake_address, others_address, others_address, routing=routing_address,
                    verification=verification_address)


@pytest.fixture
def page(open_page):
    return open_page(axe=True)


@pytest.fixture
def accounts(staff):
    staff("admin-nasional", identity.NATIONAL_ADMIN)
    staff("admin-pupr", identity.AGENCY_ADMIN, PUPR)
    staff("petugas-pupr", identity.LIAISON_OFFICER, PUPR)
    staff("analis", identity.PROCESS_ANALYST)


def sign_in(page, root: str, username: str, password: str = PASSWORD, language: str = "id") -> None:
    """Signs in through the form (by its fields' ids, so in either language) and chooses the language."""
    page.goto(f"{root}/staf/masuk?lang={language}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()
    assert not page.url.startswith(f"{root}/staf/masuk"), "not signed in"


def opened(page, url: str, language: str, status: int = 200) -> None:
    """Opens the page, checks its answer, its language and what axe finds on it."""
    response = page.goto(url)
    assert response.status == status, url
    checked(page, language)


def checked(page, language: str) -> None:
    """The page is in the language chosen at sign-in (kept in a cookie) and axe finds nothing serious."""
    assert page.locator("html").get_attribute("lang") == language, page.url
    assert_accessible(page)


def submit(page, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"#{form} button[type=submit]").click()


# ---- the agency directory ----

@pytest.mark.parametrize("language", LANGUAGES)
def test_the_directory_its_agencies_and_the_import(page, portal_url, accounts, language):
    root = portal_url
    sign_in(page, root, "admin-nasional", language=language)
    opened(page, f"{root}/staf/direktori", language)
    assert page.locator("#agencies tbody tr").count() > 1
    opened(page, f"{root}/staf/direktori?tingkat=ministry&cari=kementerian", language)
    opened(page, f"{root}/staf/direktori?status=nonaktif", language)
    assert page.locator("#no-agencies").count() == 1
    opened(page, f"{root}/staf/direktori?status=mungkin", language, status=400)  # said on the page
    assert page.locator("#page-message").count() == 1

    opened(page, f"{root}/staf/direktori/instansi/kab-tanah-bumbu", language)
    assert page.locator("#ancestors a").count() == 3 and page.locator("#units li").count() == 5
    opened(page, f"{root}/staf/direktori/instansi/{PUPR}", language)
    assert page.locator("#liaison-officers tbody tr").count() == 2
    opened(page, f"{root}/staf/direktori/instansi/kab-atlantis", language, status=404)

    page.goto(f"{root}/staf/direktori")
    submit(page, "import-form")  # no file chosen
    assert page.locator("#agencies_csv-error").count() == 1
    checked(page, language)
    exported = page.request.get(f"{root}/staf/direktori/ekspor/instansi.csv").text()
    bad = exported + "kab-baru,KAB BARU,,prov-kalimantan-selatan,regency,6399,,\n"
    page.locator("#agencies_csv").set_input_files(
        {"name": "instansi.csv", "mimeType": "text/csv", "buffer": bad.encode()})
    submit(page, "import-form")  # refused, with its lines beside the field
    assert page.locator("#agencies_csv-error").count() == 1 and page.locator("#import-problems li").count() >= 1
    checked(page, language)

    renamed = exported.replace("Badan Pengawas Obat dan Makanan", "Badan POM RI")
    page.locator("#agencies_csv").set_input_files(
        {"name": "instansi.csv", "mimeType": "text/csv", "buffer": renamed.encode()})
    submit(page, "import-form")
    assert page.url == f"{root}/staf/direktori/impor"
    assert page.locator("#dry-run").count() == 1 and page.locator("#changed li").count() == 1
    checked(page, language)
    submit(page, "apply-form")
    assert page.url == f"{root}/staf/direktori" and page.locator("#notice").count() == 1
    checked(page, language)


# ---- the routing rules ----

def choose_rule(page, category: str, region: str, agency: str) -> None:
    page.locator("#category").select_option(category)
    page.locator("#region_code").select_option(region)
    page.locator("#agency_id").fill(agency)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rules_adding_and_editing_one_and_their_refusals(page, portal_url, accounts, language):
    root = portal_url
    sign_in(page, root, "admin-nasional", language=language)
    opened(page, f"{root}/staf/aturan", language)
    assert page.locator("#rules tbody tr").count() > 1
    opened(page, f"{root}/staf/aturan?kategori=kesehatan&wilayah=63", language)
    opened(page, f"{root}/staf/aturan?kategori=banjir", language, status=400)
    assert page.locator("#page-message").count() == 1

    page.goto(f"{root}/staf/aturan")
    submit(page, "create-form")  # empty: refused beside the category
    assert page.locator(".error-summary a[href='#category']").count() == 1
    assert page.locator("#category-error").count() == 1
    checked(page, language)
    choose_rule(page, "kesehatan", "6310", "badan-pom")  # the place of another rule
    submit(page, "create-form")
    assert page.locator("#region_code-error").count() == 1
    checked(page, language)
    choose_rule(page, "lingkungan", "", "kab-atlantis")  # no such agency
    submit(page, "create-form")
    assert page.locator("#agency_id-error").count() == 1
    checked(page, language)
    page.evaluate("document.querySelector('#create-form input[name=nonce]').value = 'forged.nonce'")
    choose_rule(page, "lingkungan", "63", "prov-kalimantan-selatan-dinas-pupr")
    submit(page, "create-form")  # a stale form: refused as a whole, said at the top and above the fields
    assert page.locator(".error-summary li").count() == 1 and page.locator("#rule-form-error").count() == 1
    checked(page, language)
    choose_rule(page, "lingkungan", "63", "prov-kalimantan-selatan-dinas-pupr")
    submit(page, "create-form")
    assert page.url == f"{root}/staf/aturan" and page.locator("#notice").count() == 1
    checked(page, language)

    page.goto(f"{root}/staf/aturan?kategori=lingkungan")
    with page.expect_navigation():
        page.locator("#rules tbody tr a[href^='/staf/aturan/']").click()
    checked(page, language)
    choose_rule(page, "kesehatan", "6310", "kab-tanah-bumbu")  # into another rule's place
    submit(page, "edit-form")
    assert page.locator("#region_code-error").count() == 1
    checked(page, language)
    choose_rule(page, "lingkungan", "6310", "kab-tanah-bumbu")
    submit(page, "edit-form")
    assert page.url == f"{root}/staf/aturan" and page.locator("#notice").count() == 1
    checked(page, language)


def focused(page) -> dict:
    """The element with the keyboard focus: its id, tag, form, and whether its focus outline shows."""
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        return {id: e.id, tag: e.tagName.toLowerCase(), form: e.form ? e.form.id : "", href: e.getAttribute("href"),
                outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2}; }""")


def tab_through_the_add_form(page) -> list[dict]:
    """From the top of the page, Tab until the add-rule form's button has the focus: what had it, in order."""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    seen = []
    for _ in range(300):
        page.keyboard.press("Tab")
        seen.append(focused(page))
        if seen[-1]["form"] == "create-form" and seen[-1]["tag"] == "button":
            return seen
    raise AssertionError(f"Tab never reached the button of the add-rule form: {seen[-5:]}")


def follow_summary_link(page, message: str) -> str:
    """Tabs from the top of the page to the error summary's link saying `message` and presses Enter:
    the id of what then has the focus."""
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.error-summary') !== null"):
            break
    else:
        raise AssertionError("Tab never reached the error summary")
    link = focused(page)
    assert (link["tag"], page.evaluate("document.activeElement.textContent"), link["outline"]) == ("a", message, True)
    page.keyboard.press("Enter")
    return focused(page)["id"]


def test_the_add_rule_form_with_the_keyboard_alone(page, portal_url, accounts, database_url):
    """Tab reaches every field of the form, then its button, each with its focus visible; a refusal is
    announced in an error summary near the top of the page, whose link takes the focus to the field;
    the rule is then added without the mouse."""
    root = portal_url
    sign_in(page, root, "admin-nasional")
    page.goto(f"{root}/staf/aturan")
    in_form = [(f["tag"], f["id"], f["outline"]) for f in tab_through_the_add_form(page) if f["form"] == "create-form"]
    assert in_form == [("select", "category", True), ("select", "region_code", True), ("input", "agency_id", True),
                       ("button", "", True)]

    with page.expect_navigation():
        page.keyboard.press("Enter")  # sent empty
    summary = page.get_by_role("alert").filter(has=page.locator("#error-summary-title"))
    assert summary.locator("a").all_inner_texts() == ["Pilih kategori dari daftar."]
    assert page.locator("#category-error").text_content() == "Kesalahan: Pilih kategori dari daftar."
    assert page.locator("#category").get_attribute("aria-invalid") == "true"
    assert "category-error" in page.locator("#category").get_attribute("aria-describedby").split()
    checked(page, "id")
    assert follow_summary_link(page, "Pilih kategori dari daftar.") == "category"
    page.keyboard.type("Kesehatan")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "region_code"
    page.keyboard.type("Kabupaten Tanah Bumbu")  # where a health rule already is
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "agency_id"
    page.keyboard.type("badan-pom")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    already = "Sudah ada aturan untuk kategori dan wilayah ini. Ubah atau hapus aturan itu."
    summary = page.get_by_role("alert").filter(has=page.locator("#error-summary-title"))
    assert summary.locator("a").all_inner_texts() == [already]
    checked(page, "id")
    assert follow_summary_link(page, already) == "region_code"
    page.keyboard.type("Provinsi Kalimantan Selatan")
    page.keyboard.press("Shift+Tab")
    assert focused(page)["id"] == "category"
    page.keyboard.type("Lingkungan")  # a category without rules: the province's is free
    reached = []
    for _ in range(3):
        page.keyboard.press("Tab")
        reached.append(focused(page)["id"] or focused(page)["tag"])
    assert reached == ["region_code", "agency_id", "button"]
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{root}/staf/aturan"
    assert page.locator("#notice").inner_text() == "Aturan ditambahkan."
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT category, region_prefix, agency_id FROM routing.rules WHERE category = "
                            "'lingkungan'").fetchall() == [("lingkungan", "63", "badan-pom")]


# ---- the password pages ----

def change_password(page, current: str, new: str, again: str) -> None:
    page.locator("#current_password").fill(current)
    page.locator("#password").fill(new)
    page.locator("#password_again").fill(again)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_password_pages_and_their_refusals(page, open_page, portal_url, accounts, language):
    root = portal_url
    sign_in(page, root, "petugas-pupr", language=language)
    opened(page, f"{root}/staf/kata-sandi", language)
    assert page.locator("#must-change").count() == 0
    change_password(page, "", "", "")  # every problem listed
    assert page.locator(".error-summary li").count() == 2
    checked(page, language)
    change_password(page, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "-lain")
    assert page.locator("#password_again-error").count() == 1
    checked(page, language)
    change_password(page, "bukan-kata-sandinya", NEW_PASSWORD, NEW_PASSWORD)
    assert page.locator("#current_password-error").count() == 1
    checked(page, language)

    admin = open_page(axe=True)
    sign_in(admin, root, "admin-pupr", language=language)
    admin.goto(f"{root}/staf/akun")
    with admin.expect_navigation():
        admin.locator("tr", has_text="petugas-pupr").locator("form[action$='/atur-ulang-sandi'] button").click()
    assert admin.url.endswith("/atur-ulang-sandi")
    temporary = admin.locator("#temporary-password").inner_text()
    checked(admin, language)

    officer = open_page(axe=True)
    sign_in(officer, root, "petugas-pupr", temporary, language=language)
    assert officer.url == f"{root}/staf/kata-sandi"
    assert officer.locator("#must-change").count() == 1
    checked(officer, language)
    change_password(officer, temporary, "pendek", "pendek")  # too short
    assert officer.locator("#password-error").count() == 1 and officer.locator("#must-change").count() == 1
    checked(officer, language)
    change_password(officer, temporary, NEW_PASSWORD, NEW_PASSWORD)
    assert officer.url == f"{root}/staf" and officer.locator("#notice").count() == 1
    checked(officer, language)


# ---- the notifications ----

def notification(tracking_id: str, id_: str, minutes: int = 0, **fields) -> notify_pb2.Notification:
    """An in-app notification of a new report for Dinas PUPR, sent, unless `fields` say otherwise."""
    return notify_pb2.Notification(**{
        "id": id_, "tracking_id": tracking_id, "event": "new_assignment", "recipient": "agency", "agency_id": PUPR,
        "channel": "in_app", "status": "sent", "subject": "Laporan baru untuk instansi Anda",
        "body": f"Laporan {tracking_id} diteruskan ke instansi Anda.",
        "created_at": at(T0 + timedelta(minutes=minutes)), "sent_at": at(T0 + timedelta(minutes=minutes)), **fields})


@pytest.fixture
def told(intake_stub, verification_address, fake_notify) -> str:
    """A report in the verification queue, forwarded to Dinas PUPR, with notifications of every kind (one
    failed, one for the national administrators); its tracking ID."""
    tracking_id = submit_report(intake_stub, "web-1")
    with grpc.insecure_channel(verification_address) as channel:
        enqueue = vpb.EnqueueReportRequest(idempotency_key="enq-1", tracking_id=tracking_id, submitted_at=at(T0),
                                           due_at=at(T0 + timedelta(days=3)))
        verification_pb2_grpc.VerificationServiceStub(channel).EnqueueReport(enqueue, metadata=SLA)
    forward(intake_stub, tracking_id, agency_id=PUPR)
    fake_notify.agencies[tracking_id] = PUPR
    fake_notify.notifications[tracking_id] = [
        notification(tracking_id, "1", event="received", recipient="reporter", agency_id="", channel="email"),
        notification(tracking_id, "2", minutes=1),
        notification(tracking_id, "3", minutes=2, channel="email", status="failed", attempts=6, sent_at=None,
                     last_error="smtp: 550 mailbox unavailable"),
        notification(tracking_id, "4", minutes=3, event="deadline_approaching", recipient="national_admins",
                     agency_id=""),
    ]
    return tracking_id


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_inbox_and_a_reports_notifications_on_both_consoles(page, open_page, portal_url, accounts, told,
                                                                language):
    root = portal_url
    sign_in(page, root, "petugas-pupr", language=language)
    opened(page, f"{root}/staf/pemberitahuan", language)
    assert page.locator("#inbox tbody tr").count() == 1
    with page.expect_navigation():
        page.locator(f"#inbox a[href='/staf/instansi/{told}']").click()
    assert page.locator("#notifications tbody tr").count() == 2  # the agency's
    checked(page, language)

    admin = open_page(axe=True)
    sign_in(admin, root, "admin-nasional", language=language)
    opened(admin, f"{root}/staf/pemberitahuan", language)
    assert admin.locator("#inbox tbody tr").count() == 1
    opened(admin, f"{root}/staf/verifikasi/{told}", language)
    assert admin.locator("#notifications tbody tr").count() == 4
    assert admin.locator("#notifications .last-error").count() == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dead_letters_their_filter_and_resending(page, portal_url, accounts, told, fake_notify, language):
    root = portal_url
    sign_in(page, root, "admin-nasional", language=language)
    opened(page, f"{root}/staf/notifikasi-gagal", language)
    assert page.locator("#dead-letters tbody tr").count() == 1
    page.locator("#kanal").select_option("sms")
    submit(page, "filters")
    assert page.locator("#empty").count() == 1
    checked(page, language)
    opened(page, f"{root}/staf/notifikasi-gagal?kanal=merpati", language, status=400)
    assert page.locator("#page-message").count() == 1

    page.goto(f"{root}/staf/notifikasi-gagal?kanal=email")
    failed = fake_notify.notifications[told][2]
    failed.status = "sent"  # delivered meanwhile: notify refuses to resend it
    submit(page, f"resend-{failed.id}")
    assert page.url == f"{root}/staf/notifikasi-gagal?kanal=email"
    assert page.locator("#notice[role=alert]").count() == 1
    checked(page, language)

    failed.status = "failed"
    page.goto(f"{root}/staf/notifikasi-gagal")
    submit(page, f"resend-{failed.id}")
    assert page.locator("#notice[role=status]").count() == 1 and page.locator("#empty").count() == 1
    checked(page, language)


# ---- the process analysts' pages ----

def upload_model(page, content: bytes) -> None:
    page.locator("#bpmn_file").set_input_files({"name": "siklus.bpmn", "mimeType": "application/xml",
                                                 "buffer": content})
    submit(page, "deploy-form")


def drawn(page) -> None:
    """Waits for the diagram to be drawn, when bpmn-js is installed (axe then checks it too)."""
    if page.locator("#diagram").count():
        page.wait_for_selector("#diagram[data-rendered=true]")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_process_versions_and_a_refused_and_an_accepted_upload(page, portal_url, accounts, process, language):
    root = portal_url
    sign_in(page, root, "analis", language=language)
    opened(page, f"{root}/staf/proses", language)
    assert page.locator("#versions tbody tr").count() == 2
    page.locator("#version-2 details summary").click()
    checked(page, language)
    submit(page, "deploy-form")  # no file chosen
    assert page.locator("#bpmn_file-error").count() == 1 and page.locator(".error-summary a[href='#bpmn_file']").count()
    checked(page, language)
    process.refusal = "element notify_received (Beri tahu pelapor: diterima): unknown service operator 'x'"
    upload_model(page, MODEL.encode())
    assert page.locator("#model-refusal").count() == 1
    checked(page, language)
    process.refusal = ""
    upload_model(page, MODEL.replace("Tutup laporan", "Tutup laporan otomatis").encode())
    assert page.url == f"{root}/staf/proses" and page.locator("#notice").count() == 1
    checked(page, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_cockpit_an_elements_reports_a_path_and_the_statistics(page, portal_url, accounts, process, language):
    root = portal_url
    sign_in(page, root, "admin-nasional", language=language)
    opened(page, f"{root}/staf/proses", language)
    assert page.locator("#deploy-form").count() == 0
    page.goto(f"{root}/staf/proses/kokpit")
    drawn(page)
    checked(page, language)
    with page.expect_navigation():
        page.locator(f"#element-{WAITING_ELEMENT} a").click()
    assert page.locator("#cases tbody tr").count() == 50
    checked(page, language)
    with page.expect_navigation():
        page.locator("#next-page").click()
    checked(page, language)
    page.goto(f"{root}/staf/proses/laporan/LAP-7K3QX9MA")
    drawn(page)
    assert page.locator("#path li").count() == 3
    checked(page, language)
    opened(page, f"{root}/staf/statistik", language)
    assert page.locator("#by-agency tbody tr").count() == 2
    opened(page, f"{root}/staf/statistik?dari=2026-03-10&sampai=2026-03-01", language, status=400)
    assert page.locator("#page-message").count() == 1
