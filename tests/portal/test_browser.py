"""People using the reporter's pages in a real browser: headless Chromium, driven by Playwright,
against the portal served by waitress as in production, with a real intake server and PostgreSQL."""

import re

from tests.intake.reports import LIAISON, follow_up, forward, row_counts
from tests.portal.conftest import png

TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")


def test_a_reporter_sends_a_report_with_an_attachment_follows_it_by_code_and_replies(
        open_page, portal_url, intake_stub, tmp_path):
    photo = tmp_path / "lampu-padam.png"
    photo.write_bytes(png())
    page = open_page()
    page.goto(portal_url + "/")
    page.get_by_label("Pengaduan").check()
    page.get_by_label("Judul laporan").fill("Lampu jalan padam di Jalan Pangeran Antasari")
    page.get_by_label("Isi laporan").fill("Sudah dua minggu lampu jalan padam, rawan kecelakaan dan kejahatan.")
    page.get_by_label("Kategori").select_option(label="Infrastruktur")
    page.get_by_label("Wilayah").select_option(label="Kota Banjarmasin")
    page.get_by_label("Tanggal kejadian (tidak wajib)").fill("2026-03-02")
    page.get_by_label("Lampiran (tidak wajib)").set_input_files(photo)
    page.get_by_label("Anonim").check()
    page.get_by_label("Nomor ponsel").fill("0812 3456 7890")
    page.get_by_role("button", name="Kirim laporan").click()

    page.wait_for_url(f"{portal_url}/laporan/terkirim")
    tracking_id = page.locator("#tracking-id").inner_text()
    code = page.locator("#access-code").inner_text()
    assert TRACKING_ID.fullmatch(tracking_id) and len(code) == 19
    assert "Catat atau simpan kode ini sekarang." in page.locator("main").inner_text()
    page.get_by_role("link", name="Lihat perkembangan laporan").click()
    page.wait_for_url(f"{portal_url}/lacak/{tracking_id}")
    assert page.locator("#status").inner_text() == "Status: Menunggu verifikasi"
    assert page.locator("#status").evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"  # CSS loaded
    with page.expect_download() as download:
        page.get_by_role("link", name="lampu-padam.png").click()
    assert download.value.suggested_filename == "lampu-padam.png"

    # Later, on another device: the tracking number and the code open the report.
    elsewhere = open_page()
    elsewhere.goto(portal_url + "/")
    elsewhere.get_by_role("link", name="Lacak laporan").click()
    elsewhere.get_by_label("Nomor pelacakan").fill(tracking_id.lower())
    elsewhere.get_by_role("button", name="Lacak").click()
    elsewhere.wait_for_url(f"{portal_url}/lacak/{tracking_id}")
    assert elsewhere.locator("#status").count() == 0
    elsewhere.get_by_label("Kode akses").fill("AAAA-BBBB-CCCC-DDDD")
    elsewhere.get_by_role("button", name="Buka laporan").click()
    assert "Kode akses salah." in elsewhere.locator("#access_code-error").inner_text()
    elsewhere.get_by_label("Kode akses").fill(code)
    elsewhere.get_by_role("button", name="Buka laporan").click()
    assert elsewhere.locator("#status").inner_text() == "Status: Menunggu verifikasi"

    # The agency follows it up (as sla and the agency would), and the reporter replies.
    forward(intake_stub, tracking_id)
    follow_up(intake_stub, tracking_id, body="Lampu sudah diganti.", metadata=LIAISON)
    elsewhere.reload()
    elsewhere.get_by_label("Tanggapan Anda").fill("Terima kasih, lampu sudah menyala lagi.")
    elsewhere.get_by_role("button", name="Kirim tanggapan").click()
    elsewhere.wait_for_url(f"{portal_url}/lacak/{tracking_id}#riwayat")
    timeline = elsewhere.locator("ol.timeline").inner_text()
    assert "Tindak lanjut dari" in timeline and "Lampu sudah diganti." in timeline
    assert "Tanggapan pelapor\n\nTerima kasih, lampu sudah menyala lagi." in timeline


def test_a_form_without_a_title_says_so_next_to_the_title(browser_page, portal_url, database_url):
    page = browser_page
    page.goto(portal_url + "/")
    page.get_by_label("Aspirasi").check()
    page.get_by_label("Isi laporan").fill("Mohon ditambah jadwal bus kota pada malam hari.")
    page.get_by_label("Kategori").select_option(label="Perhubungan")
    page.get_by_label("Alamat e-mail").fill("warga@contoh.id")
    page.get_by_role("button", name="Kirim laporan").click()

    title = page.get_by_label("Judul laporan")
    assert title.get_attribute("aria-invalid") == "true"
    assert " ".join(page.locator("#title-error").text_content().split()) == "Kesalahan: Judul wajib diisi."
    assert page.get_by_role("alert").get_by_role("link", name="Judul wajib diisi.").is_visible()
    assert page.get_by_label("Isi laporan").input_value() == "Mohon ditambah jadwal bus kota pada malam hari."
    assert row_counts(database_url)["reports"] == 0

    title.fill("Tambah jadwal bus malam")
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url(f"{portal_url}/laporan/terkirim")
    assert row_counts(database_url)["reports"] == 1


def test_a_person_switches_to_english_and_sends_the_form_in_english(browser_page, portal_url):
    page = browser_page
    page.goto(portal_url + "/")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Submit your report"
    page.get_by_label("Complaint").check()
    page.get_by_label("Title of the report").fill("Broken street light")
    page.get_by_label("Description").fill("The street light on Jalan Ahmad Yani has been off for a week.")
    page.get_by_label("Category").select_option(label="Infrastructure")
    page.get_by_label("E-mail address").fill("resident@example.id")
    page.get_by_role("button", name="Send report").click()
    page.wait_for_url(f"{portal_url}/laporan/terkirim")
    assert "Write down or save this code now." in page.locator("main").inner_text()
    page.get_by_role("link", name="Follow the report").click()
    assert page.locator("#status").inner_text() == "Status: Awaiting verification"


def tab_to(page, *, id: str = "", text: str = "", presses: int = 60) -> None:
    """Presses Tab until the element with this id (or this text) has the focus, as a person without
    a mouse does."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate("({id: document.activeElement.id, text: document.activeElement.textContent.trim()})")
        if (id and focused["id"] == id) or (text and focused["text"] == text):
            return
    raise AssertionError(f"Tab never reached {id or text}")


def test_the_form_is_filled_and_sent_with_the_keyboard_alone(browser_page, portal_url, database_url):
    page = browser_page
    page.goto(portal_url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")  # skips the menu
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "type-pengaduan"
    page.keyboard.press("Space")
    tab_to(page, id="title")
    page.keyboard.type("Sampah menumpuk di pasar")
    tab_to(page, id="description")
    page.keyboard.type("Sampah belum diangkut selama seminggu di Pasar Batulicin.")
    tab_to(page, id="category")
    page.keyboard.type("Lingkungan")
    tab_to(page, id="phone")
    page.keyboard.type("081234567890")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{portal_url}/laporan/terkirim")
    assert row_counts(database_url)["reports"] == 1
    tracking_id = page.locator("#tracking-id").inner_text()
    tab_to(page, text="Lihat perkembangan laporan")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{portal_url}/lacak/{tracking_id}")
    assert "Lingkungan hidup" in page.locator("main").inner_text()
