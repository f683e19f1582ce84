"""Optional reporter accounts: registering, signing in and out, and "Laporan saya", through real
HTTP against the portal and a real intake."""

import psycopg
import pytest

from tests.intake.reports import row_counts
from tests.portal.test_pages import (confirmed, enter_code, field_message, hidden, page, report_form, submitted,
                                     submitted_with_code, text_of)

PASSWORD = "rahasia-sekali-123"
ACCOUNT = {"name": "Siti Rahmah", "email": "siti@contoh.id", "phone": "0812-3456-7890"}


def register(person, **fields):
    form = {**hidden(person, "/akun/daftar"), **ACCOUNT, "password": PASSWORD, "password_again": PASSWORD, **fields}
    return person.post("/akun/daftar", data=form)


def sign_in(person, email: str = ACCOUNT["email"], password: str = PASSWORD, **fields):
    return person.post("/akun/masuk", data={**hidden(person, "/akun/masuk"), "email": email, "password": password,
                                            **fields})


def sign_out(person, **fields):
    return person.post("/akun/keluar", data={**hidden(person, "/", action="/akun/keluar"), **fields})


def menu(person) -> list[str]:
    return [" ".join(e.text_content().split()) for e in page(person.get("/")).xpath("//nav//li")]


def accounts(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.reporter_accounts").fetchone()[0]


@pytest.fixture
def person(visitor):
    return visitor()


@pytest.fixture
def member(visitor):
    """A person who has registered (and so is signed in)."""
    person = visitor()
    assert register(person).status_code == 303
    return person


def test_registering_signs_in_and_shows_my_reports(person):
    person.get("/")
    before = person.http.cookies["sp4n_sesi"]
    response = register(person)
    assert (response.status_code, response.headers["Location"]) == (303, "/akun/laporan")
    assert person.http.cookies["sp4n_sesi"] != before  # a new session id for the signed-in session
    mine = person.get("/akun/laporan")
    assert page(mine).xpath("string(//h1)") == "Laporan saya"
    assert "Masuk sebagai Siti Rahmah (siti@contoh.id)." in text_of(mine)
    assert "Anda belum mengirim laporan dengan akun ini." in text_of(mine)
    assert "Laporan saya" in menu(person) and "Keluar" in menu(person) and "Masuk" not in menu(person)


def test_the_menu_offers_sign_in_to_a_visitor(person):
    assert "Masuk" in menu(person) and "Laporan saya" not in menu(person)


@pytest.mark.parametrize("fields, field, message", [
    (dict(name=""), "name", "Nama wajib diisi."),
    (dict(email="siti@contoh"), "email", "Alamat e-mail tidak valid. Contoh: nama@contoh.id."),
    (dict(password="pendek", password_again="pendek"), "password",
     "Kata sandi harus terdiri dari 10 sampai 200 karakter."),
    (dict(password_again="rahasia-sekali-124"), "password_again", "Kedua kata sandi tidak sama."),
    (dict(phone="021-5551234"), "phone", "Nomor ponsel tidak valid. Contoh: 081234567890 atau +6281234567890."),
])
def test_a_registration_that_cannot_be_taken_says_why_next_to_the_field(person, database_url, fields, field, message):
    response = register(person, **fields)
    assert response.status_code == 400
    assert field_message(response, field) == message
    html = page(response)
    assert html.get_element_by_id("password").get("value") is None  # a password is never sent back
    assert accounts(database_url) == 0


def test_an_address_registered_already_is_told_so(member, visitor, database_url):
    response = register(visitor(), email="SITI@contoh.id")
    assert response.status_code == 400
    assert field_message(response, "email").startswith("Alamat e-mail ini sudah terdaftar.")
    assert accounts(database_url) == 1


def test_a_registration_without_the_sessions_csrf_token_is_refused(person, database_url):
    response = register(person, csrf_token="palsu")
    assert response.status_code == 400
    assert accounts(database_url) == 0


def test_signing_in_with_a_wrong_password_or_unknown_address_says_only_that_one_is_wrong(member, visitor):
    person = visitor()
    for response in (sign_in(person, password="kata-sandi-salah"), sign_in(person, email="budi@contoh.id")):
        assert response.status_code == 400
        assert "Alamat e-mail atau kata sandi salah." in text_of(response)
        assert page(response).get_element_by_id("password").get("value") is None
    assert "Laporan saya" not in menu(person)


def test_repeated_failed_sign_ins_are_refused_for_a_while(member, visitor):
    person = visitor()
    statuses = [sign_in(person, password="kata-sandi-salah").status_code for _ in range(6)]
    assert statuses[0] == 400 and statuses[-1] == 429
    refused = sign_in(person)  # even the right password, while the account is locked
    assert refused.status_code == 429
    assert page(refused).xpath("string(//h1)") == "Terlalu banyak percobaan"


def test_signing_in_renews_the_session_and_a_csrf_less_sign_in_is_refused(member, visitor):
    person = visitor()
    assert sign_in(person, csrf_token="palsu").status_code == 400
    person.get("/")
    before = person.http.cookies["sp4n_sesi"]
    response = sign_in(person)
    assert (response.status_code, response.headers["Location"]) == (303, "/akun/laporan")
    assert person.http.cookies["sp4n_sesi"] != before


def test_signing_out_ends_the_session_and_needs_its_token(member):
    assert sign_out(member, csrf_token="palsu").status_code == 400
    assert "Laporan saya" in menu(member)
    response = sign_out(member)
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    assert "Masuk" in menu(member)
    assert member.get("/akun/laporan").headers["Location"] == "/akun/masuk"


def test_my_reports_needs_a_signed_in_account(person):
    response = person.get("/akun/laporan")
    assert (response.status_code, response.headers["Location"]) == (303, "/akun/masuk")


def test_a_signed_in_reporters_report_is_kept_in_the_account(member, visitor, database_url):
    form = page(member.get("/"))
    assert form.get_element_by_id("name").get("value") == "Siti Rahmah"
    assert form.get_element_by_id("phone").get("value") == "6281234567890"
    assert form.get_element_by_id("email").get("value") == "siti@contoh.id"
    response = member.post("/laporan", data=report_form(member, name="Siti Rahmah", phone="6281234567890",
                                                        email="siti@contoh.id"))
    tracking_id, code = confirmed(member, response)
    assert code == ""  # the account follows it: no code to keep
    assert "Laporan ini tersimpan di akun Anda." in text_of(member.get("/laporan/terkirim"))
    mine = page(member.get("/akun/laporan"))
    assert mine.xpath("//ol[contains(@class, 'my-reports')]//a/@href") == [f"/lacak/{tracking_id}"]
    assert row_counts(database_url)["reports"] == 1

    elsewhere = visitor()  # the same account signed in from another browser
    assert sign_in(elsewhere).status_code == 303
    assert page(elsewhere.get(f"/lacak/{tracking_id}")).xpath("//*[@id='status']")


def test_an_account_sees_only_its_own_reports(member, visitor):
    theirs, _code = submitted_with_code(visitor())
    other = visitor()
    assert register(other, email="budi@contoh.id").status_code == 303
    own = submitted(other)
    assert "access_code" in member.get(f"/lacak/{own}").text
    assert "access_code" in member.get(f"/lacak/{theirs}").text
    assert [a.get("href") for a in page(member.get("/akun/laporan")).xpath("//main//li//a")] == []


def test_a_signed_in_reporter_may_still_open_a_report_by_its_code(member, visitor):
    tracking_id, code = submitted_with_code(visitor())
    assert enter_code(member, tracking_id, code).status_code == 303
    assert page(member.get(f"/lacak/{tracking_id}")).xpath("//*[@id='status']")
    assert "Laporan saya" in menu(member)  # still signed in after the session was renewed
