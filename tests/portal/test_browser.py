"""A person sending a report in a real browser: headless Chromium, driven by Playwright, against
the portal served by waitress as in production, with a real intake server and PostgreSQL."""

import re
import shutil

import pytest
from playwright import sync_api

from services.portal.http_server import HttpServer
from tests.intake.reports import row_counts

# make test installs Debian's chromium (make system-deps): its absence is a failure, not a skip.
CHROMIUM = shutil.which("chromium")

# Chromium on a machine without network or display, as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def portal_url(app):
    server = HttpServer(app, host="127.0.0.1", port=0, grace=2.0)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def browser_page():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(locale="id-ID")
        page.set_default_timeout(15_000)
        problems: list[str] = []  # what a person would not see but should not happen
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document" else None)
        yield page
        browser.close()
        assert problems == []


def test_a_reporter_sends_a_report_and_follows_it_with_the_tracking_id(browser_page, portal_url):
    page = browser_page
    page.goto(portal_url + "/")
    page.get_by_label("Pengaduan").check()
    page.get_by_label("Judul laporan").fill("Lampu jalan padam di Jalan Pangeran Antasari")
    page.get_by_label("Isi laporan").fill("Sudah dua minggu lampu jalan padam, rawan kecelakaan dan kejahatan.")
    page.get_by_label("Kategori").select_option(label="Infrastruktur")
    page.get_by_label("Wilayah").select_option(label="Kota Banjarmasin")
    page.get_by_label("Anonim").check()
    page.get_by_label("Nomor ponsel").fill("0812 3456 7890")
    page.get_by_role("button", name="Kirim laporan").click()

    page.wait_for_url(re.compile(r".*/lacak/LAP-[0-9A-HJKMNP-TV-Z]{8}$"))
    tracking_id = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text() == tracking_id
    assert page.locator("#status").inner_text() == "Status: Menunggu verifikasi"
    assert "Laporan dikirim" in page.locator("ol.timeline").inner_text()
    assert page.locator("#status").evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"  # CSS loaded

    page.get_by_role("link", name="Lacak laporan").click()
    page.get_by_label("Nomor pelacakan").fill(tracking_id.lower())
    page.get_by_role("button", name="Lacak").click()
    page.wait_for_url(f"{portal_url}/lacak/{tracking_id}")


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
    page.wait_for_url(re.compile(r".*/lacak/LAP-[0-9A-HJKMNP-TV-Z]{8}$"))
    assert row_counts(database_url)["reports"] == 1
