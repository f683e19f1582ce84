"""Every reporter page, in each state a person meets it, has no accessibility violation of impact
serious or critical as axe-core (tests/portal/axe_core.py) finds them in headless Chromium."""

import pytest

from tests.intake.reports import LIAISON, follow_up, forward
from tests.portal.axe_core import serious_violations
from tests.portal.conftest import png


@pytest.fixture
def page(open_page):
    return open_page(axe=True)


def assert_accessible(page) -> None:
    assert serious_violations(page) == [], page.url


def fill_report(page, portal_url: str, title: str = "Jembatan kayu lapuk di Desa Sungai Loban") -> None:
    page.goto(portal_url + "/")
    page.get_by_label("Pengaduan").check()
    page.get_by_label("Judul laporan").fill(title)
    page.get_by_label("Isi laporan").fill("Papan jembatan banyak yang patah, anak sekolah harus memutar jauh.")
    page.get_by_label("Kategori").select_option(label="Infrastruktur")
    page.get_by_label("Alamat e-mail").fill("warga@contoh.id")


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_form_empty_and_with_errors(page, portal_url, language):
    page.goto(f"{portal_url}/?lang={language}")
    assert_accessible(page)
    page.locator("button[type=submit]").last.click()
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)


def test_the_confirmation_and_the_tracking_page_with_a_reply_box_and_attachments(page, portal_url, intake_stub,
                                                                                 tmp_path):
    photo = tmp_path / "jembatan.png"
    photo.write_bytes(png())
    fill_report(page, portal_url)
    page.get_by_label("Lampiran (tidak wajib)").set_input_files(photo)
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url(f"{portal_url}/laporan/terkirim")
    assert page.locator("#access-code").count() == 1
    assert_accessible(page)
    tracking_id = page.locator("#tracking-id").inner_text()
    forward(intake_stub, tracking_id)
    follow_up(intake_stub, tracking_id, body="Perbaikan dijadwalkan bulan depan.", metadata=LIAISON)
    page.goto(f"{portal_url}/lacak/{tracking_id}")
    assert page.locator("#body").count() == 1 and page.locator(".attachments a").count() == 1
    assert_accessible(page)
    page.get_by_role("button", name="Kirim tanggapan").click()  # empty: an error next to the box
    assert page.locator("#body-error").count() == 1
    assert_accessible(page)


def test_the_access_code_page_and_a_wrong_code(page, open_page, portal_url):
    sender = open_page()
    fill_report(sender, portal_url)
    sender.get_by_role("button", name="Kirim laporan").click()
    sender.wait_for_url(f"{portal_url}/laporan/terkirim")
    tracking_id = sender.locator("#tracking-id").inner_text()
    page.goto(f"{portal_url}/lacak/{tracking_id}")
    assert_accessible(page)
    page.get_by_label("Kode akses").fill("AAAA-BBBB-CCCC-DDDD")
    page.get_by_role("button", name="Buka laporan").click()
    assert page.locator("#access_code-error").count() == 1
    assert_accessible(page)


def test_registration_sign_in_and_my_reports(page, portal_url):
    page.goto(portal_url + "/akun/daftar")
    assert_accessible(page)
    page.get_by_role("button", name="Daftar").click()
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)
    page.get_by_label("Nama", exact=True).fill("Siti Rahmah")
    page.get_by_label("Alamat e-mail").fill("siti@contoh.id")
    page.get_by_label("Kata sandi", exact=True).fill("rahasia-sekali-123")
    page.get_by_label("Ulangi kata sandi").fill("rahasia-sekali-123")
    page.get_by_role("button", name="Daftar").click()
    page.wait_for_url(f"{portal_url}/akun/laporan")
    fill_report(page, portal_url)
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url(f"{portal_url}/laporan/terkirim")
    assert_accessible(page)
    page.get_by_role("link", name="Laporan saya").first.click()
    assert page.locator(".my-reports li").count() == 1
    assert_accessible(page)
    page.get_by_role("button", name="Keluar").click()
    page.get_by_role("link", name="Masuk").click()
    assert_accessible(page)
    page.get_by_label("Alamat e-mail").fill("siti@contoh.id")
    page.get_by_label("Kata sandi").fill("bukan-kata-sandinya")
    page.get_by_role("button", name="Masuk").last.click()
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)


def test_the_check_catches_an_unlabelled_field(page, portal_url):
    page.goto(portal_url + "/")
    page.evaluate("document.querySelector('main form').append(document.createElement('input'))")
    assert [v["id"] for v in serious_violations(page)] == ["label"]


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_public_pages_and_the_error_pages(page, portal_url, intake_stub, language):
    fill_report(page, portal_url, title="Lampu jalan mati di Jl. Raya Batulicin")
    page.get_by_role("button", name="Kirim laporan").click()
    page.wait_for_url(f"{portal_url}/laporan/terkirim")
    tracking_id = page.locator("#tracking-id").inner_text()
    forward(intake_stub, tracking_id)
    for path in ("/publik", "/publik?q=lampu", "/publik?q=tidak-ada-yang-cocok", f"/publik/{tracking_id}",
                 "/lacak", "/lacak?id=bukan-nomor", "/halaman-yang-tidak-ada"):
        page.goto(f"{portal_url}{path}{'&' if '?' in path else '?'}lang={language}")
        assert page.locator("html").get_attribute("lang") == language
        assert_accessible(page)
    page.goto(f"{portal_url}/publik?lang={language}")
    page.locator("a.agency").first.click()  # the agency filter, reached from a report
    assert page.locator("#chosen-agency").count() == 1
    assert_accessible(page)
