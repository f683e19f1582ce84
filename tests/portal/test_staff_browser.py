"""The staff pages in headless Chromium: a national administrator signs in, makes an agency account,
which signs in and makes a liaison officer, then disables it; every page on the way, and the 403 page,
has no accessibility violation of impact serious or critical (axe-core)."""

import pytest

from services.plumbing import identity
from tests.portal.test_browser_accessibility import assert_accessible
from tests.portal.test_staff_sign_in import PASSWORD, PUPR, staff  # noqa: F401

NEW_PASSWORD = "kata-sandi-baru-1708"


@pytest.fixture
def page(open_page):
    return open_page(axe=True)


def sign_in(page, portal_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(portal_url + "/")
    page.get_by_role("link", name="Halaman petugas").click()
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").last.click()


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_sign_in_page_empty_and_with_errors(page, portal_url, language):
    page.goto(f"{portal_url}/staf/masuk?lang={language}")
    assert_accessible(page)
    page.locator("main button[type=submit]").click()
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)
    page.locator("#username").fill("tidak-ada")
    page.locator("#password").fill("bukan-kata-sandinya")
    page.locator("main button[type=submit]").click()
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)


def test_administrators_make_and_disable_accounts(page, open_page, portal_url, staff):
    staff("admin-nasional", identity.NATIONAL_ADMIN)
    sign_in(page, portal_url, "admin-nasional")
    page.wait_for_url(f"{portal_url}/staf")
    assert page.locator("#username").inner_text() == "admin-nasional"
    assert_accessible(page)
    page.get_by_role("link", name="Akun staf").click()
    assert_accessible(page)
    page.get_by_role("link", name="Buat akun").click()
    assert_accessible(page)
    page.get_by_role("button", name="Buat akun").click()  # empty: every problem listed
    assert page.locator(".error-summary").count() == 1
    assert_accessible(page)
    page.get_by_label("Nama pengguna").fill("admin-pupr")
    page.get_by_label("Kata sandi", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Ulangi kata sandi").fill(NEW_PASSWORD)
    page.get_by_label("Peran").select_option(label="Administrator instansi")
    page.get_by_label("Kode instansi").fill(PUPR)
    page.get_by_role("button", name="Buat akun").click()
    page.wait_for_url(f"{portal_url}/staf/akun")
    assert page.locator("#notice").inner_text() == "Akun admin-pupr dibuat."
    assert_accessible(page)
    page.get_by_role("button", name="Keluar").click()

    agency = open_page(axe=True)
    sign_in(agency, portal_url, "admin-pupr", NEW_PASSWORD)
    agency.wait_for_url(f"{portal_url}/staf")
    agency.get_by_role("link", name="Akun staf").click()
    agency.get_by_role("link", name="Buat akun").click()
    agency.get_by_label("Nama pengguna").fill("petugas-pupr")
    agency.get_by_label("Kata sandi", exact=True).fill(NEW_PASSWORD)
    agency.get_by_label("Ulangi kata sandi").fill(NEW_PASSWORD)
    agency.get_by_label("Peran").select_option(label="Petugas penghubung")
    agency.get_by_role("button", name="Buat akun").click()
    agency.wait_for_url(f"{portal_url}/staf/akun")
    agency.get_by_role("button", name="Nonaktifkan akun petugas-pupr").click()
    assert agency.locator("#notice").inner_text() == "Akun petugas-pupr dinonaktifkan."
    assert_accessible(agency)


def test_a_liaison_officers_home_and_the_refusal_of_a_page_not_theirs(page, portal_url, staff):
    staff("petugas-pupr", identity.LIAISON_OFFICER, PUPR)
    sign_in(page, portal_url, "petugas-pupr")
    page.wait_for_url(f"{portal_url}/staf")
    assert_accessible(page)
    response = page.goto(f"{portal_url}/staf/akun")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Akses ditolak"
    assert_accessible(page)


def test_a_reset_password_is_replaced_at_sign_in_and_a_disabled_account_enabled_again(page, open_page, portal_url,
                                                                                      staff):
    staff("admin-pupr", identity.AGENCY_ADMIN, PUPR)
    staff("petugas-pupr", identity.LIAISON_OFFICER, PUPR)
    sign_in(page, portal_url, "admin-pupr")
    page.wait_for_url(f"{portal_url}/staf")
    page.get_by_role("link", name="Akun staf").click()
    page.get_by_role("button", name="Atur ulang kata sandi akun petugas-pupr").click()
    temporary = page.locator("#temporary-password").inner_text()
    assert len(temporary) >= 12
    assert_accessible(page)

    officer = open_page(axe=True)
    sign_in(officer, portal_url, "petugas-pupr", temporary)
    officer.wait_for_url(f"{portal_url}/staf/kata-sandi")  # before any other page
    assert officer.locator("#must-change").count() == 1
    assert_accessible(officer)
    officer.get_by_role("button", name="Ganti kata sandi").click()  # empty: every problem listed
    assert officer.locator(".error-summary").count() == 1
    assert_accessible(officer)
    officer.get_by_label("Kata sandi saat ini").fill(temporary)
    officer.get_by_label("Kata sandi baru", exact=True).fill(NEW_PASSWORD)
    officer.get_by_label("Ulangi kata sandi baru").fill(NEW_PASSWORD)
    officer.get_by_role("button", name="Ganti kata sandi").click()
    officer.wait_for_url(f"{portal_url}/staf")
    assert officer.locator("#notice").inner_text() == "Kata sandi Anda diganti. Sesi lain akun ini telah diakhiri."
    assert_accessible(officer)

    page.goto(f"{portal_url}/staf/akun")
    page.get_by_role("button", name="Nonaktifkan akun petugas-pupr").click()
    page.get_by_role("button", name="Aktifkan kembali akun petugas-pupr").click()
    assert page.locator("#notice").inner_text() == "Akun petugas-pupr diaktifkan kembali."
    assert_accessible(page)
