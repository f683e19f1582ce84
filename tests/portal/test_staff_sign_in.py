"""Staff sign-in and sign-out, the staff home page, and the signed caller identity a staff session acts
with: through real HTTP against the portal served by waitress, on a real PostgreSQL.

The helpers at the top are shared by the other staff tests."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest

from services.plumbing import identity, passwords
from services.plumbing.errors import Unauthenticated
from services.portal import staff_pages, staff_service, staff_session, web
from services.portal.staff_accounts import FAILURE_WINDOW, LOCK_TIME, MAX_FAILURES, NewStaffAccount
from services.portal.staff_service import StaffService
from tests.portal.test_pages import hidden, page, text_of
from tests.support import IDENTITY_KEY

PASSWORD = "kata-sandi-petugas-1708"
PUPR = "kab-tanah-bumbu-dinas-pupr"
DINKES = "kab-tanah-bumbu-dinas-kesehatan"
ANALYSTS_PAGES = ["/staf/proses", "/staf/proses/kokpit", "/staf/statistik"]  # national administrators read them too
WRONG = "Nama pengguna atau kata sandi salah. Setelah 5 kali gagal, akun dikunci selama 15 menit."


@pytest.fixture
def staff(pool, clock):
    """Makes a staff account (as the command line does) and returns it."""
    service = StaffService(pool=pool, clock=clock)

    def make(username: str, role: str, agency_id: str = "", password: str = PASSWORD):
        return service.create(None, NewStaffAccount(username=username, password=password, role=role,
                                                    agency_id=agency_id))

    return make


@pytest.fixture
def accounts(staff):
    """A staff account of each role, by role (PUPR Tanah Bumbu's for agency staff)."""
    return {identity.NATIONAL_ADMIN: staff("admin-nasional", identity.NATIONAL_ADMIN),
            identity.AGENCY_ADMIN: staff("admin-pupr", identity.AGENCY_ADMIN, PUPR),
            identity.LIAISON_OFFICER: staff("petugas-pupr", identity.LIAISON_OFFICER, PUPR),
            identity.PROCESS_ANALYST: staff("analis", identity.PROCESS_ANALYST)}


@pytest.fixture
def people(accounts, visitor):
    """Browsers signed in as each role, by role."""
    return lambda role: signed_in(visitor, accounts[role].username)


def sign_in(person, username: str, password: str = PASSWORD, path: str = "/staf/masuk", **fields):
    return person.post("/staf/masuk", data={**hidden(person, path, action="/staf/masuk"), "username": username,
                                            "password": password, **fields})


def sign_out(person, **fields):
    return person.post("/staf/keluar", data={**hidden(person, "/staf", action="/staf/keluar"), **fields})


def signed_in(visitor, username: str, password: str = PASSWORD):
    person = visitor()
    response = sign_in(person, username, password)
    assert (response.status_code, response.headers["Location"]) == (303, "/staf"), response.text
    return person


def menu(person) -> list[str]:
    return [" ".join(e.text_content().split()) for e in page(person.get("/")).xpath("//nav//li")]


def staff_table(database_url) -> list[tuple]:
    """Every staff account row, in full: what must stay the same when something is refused."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT * FROM portal.staff_accounts ORDER BY id").fetchall()


def is_signed_in(person) -> bool:
    response = person.get("/staf")
    assert response.status_code in (200, 303)
    return response.status_code == 200


@pytest.fixture
def admin(staff):
    return staff("admin-nasional", identity.NATIONAL_ADMIN)


def test_signing_in_leads_to_the_staff_home_showing_who_is_signed_in(admin, visitor):
    person = visitor()
    response = sign_in(person, "admin-nasional")
    assert (response.status_code, response.headers["Location"]) == (303, "/staf")
    home = page(person.get("/staf"))
    assert home.xpath("string(//h1)") == "Beranda petugas"
    assert home.get_element_by_id("username").text_content() == "admin-nasional"
    assert home.get_element_by_id("role").text_content() == "Administrator nasional"
    assert home.xpath("//main//ul[@class='work-pages']//a/@href") == [
        "/staf/akun", "/staf/verifikasi", "/staf/direktori", "/staf/aturan", "/staf/pemberitahuan",
        "/staf/notifikasi-gagal", *ANALYSTS_PAGES]
    assert menu(person)[-3:-1] == ["Beranda petugas", "Keluar"]
    assert "Halaman petugas" not in text_of(person.get("/"))


@pytest.mark.parametrize("role, agency_id, links", [
    (identity.NATIONAL_ADMIN, "", ["/staf/akun", "/staf/verifikasi", "/staf/direktori", "/staf/aturan",
                                   "/staf/pemberitahuan", "/staf/notifikasi-gagal", *ANALYSTS_PAGES]),
    (identity.AGENCY_ADMIN, PUPR, ["/staf/akun", "/staf/instansi", "/staf/pemberitahuan"]),
    (identity.LIAISON_OFFICER, PUPR, ["/staf/instansi", "/staf/pemberitahuan"]),
    (identity.PROCESS_ANALYST, "", ANALYSTS_PAGES),
])
def test_the_staff_home_links_only_to_pages_the_role_works_in(staff, visitor, role, agency_id, links):
    staff("petugas", role, agency_id)
    home = page(signed_in(visitor, "petugas").get("/staf"))
    assert home.xpath("//main//ul[@class='work-pages']//a/@href") == links
    assert home.get_element_by_id("role").text_content() == staff_pages.ROLE_NAMES[role]
    assert home.xpath("string(//*[@id='agency'])") == agency_id
    if not links:
        assert "Belum ada halaman kerja untuk peran Anda." in home.text_content()


def test_the_footer_offers_staff_sign_in_to_a_visitor(visitor):
    footer_links = page(visitor().get("/")).xpath("//footer//a/@href")
    assert footer_links == ["/staf/masuk"]


def test_a_username_is_read_in_any_case_and_without_surrounding_spaces(admin, visitor):
    assert sign_in(visitor(), "  Admin-Nasional ").status_code == 303


def test_signing_in_gives_the_session_a_new_id_and_the_old_one_is_worth_nothing(admin, visitor):
    person = visitor()
    person.get("/staf/masuk")
    before = person.http.cookies["sp4n_sesi"]
    assert sign_in(person, "admin-nasional").status_code == 303
    after = person.http.cookies["sp4n_sesi"]
    assert after != before
    planted = visitor()  # whoever knew the id before sign-in
    planted.http.cookies.set("sp4n_sesi", before)
    assert not is_signed_in(planted)
    assert is_signed_in(person)


def test_staff_sign_in_leaves_what_the_session_held_for_a_reporter_behind(admin, visitor, database_url):
    person = visitor()
    person.get("/staf/masuk")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE portal.sessions SET data = '{\"reports\": [\"LAP-7K3QX9MA\"]}'")
    assert sign_in(person, "admin-nasional").status_code == 303
    with psycopg.connect(database_url) as conn:
        [(data,)] = conn.execute("SELECT data FROM portal.sessions").fetchall()
    assert data == {"staff": {"id": admin.id}}


def test_signing_out_ends_the_session_and_needs_its_token(admin, visitor):
    person = signed_in(visitor, "admin-nasional")
    cookie = person.http.cookies["sp4n_sesi"]
    assert sign_out(person, csrf_token="palsu").status_code == 400
    assert is_signed_in(person)
    response = sign_out(person)
    assert (response.status_code, response.headers["Location"]) == (303, "/staf/masuk")
    assert not is_signed_in(person)
    again = visitor()
    again.http.cookies.set("sp4n_sesi", cookie)
    assert not is_signed_in(again)


def test_a_sign_in_without_the_sessions_csrf_token_is_refused(admin, visitor, database_url):
    person = visitor()
    response = sign_in(person, "admin-nasional", csrf_token="palsu")
    assert response.status_code == 400
    assert "Halaman ini sudah terlalu lama dibuka." in text_of(response)
    assert not is_signed_in(person)
    other = visitor()  # a token of another session is no better
    assert sign_in(other, "admin-nasional", csrf_token=hidden(person, "/staf/masuk")["csrf_token"]).status_code == 400
    assert not is_signed_in(other)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT failed_sign_ins FROM portal.staff_accounts").fetchone()[0] == 0


def test_empty_fields_are_said_next_to_them(visitor):
    response = sign_in(visitor(), "", "")
    assert response.status_code == 400
    html = page(response)
    assert html.xpath("string(//*[@id='username-error'])").endswith("Isi nama pengguna Anda.")
    assert html.xpath("string(//*[@id='password-error'])").endswith("Isi kata sandi Anda.")


def test_an_unknown_username_a_wrong_password_and_a_disabled_account_get_the_same_answer(admin, staff, visitor,
                                                                                         pool, clock):
    gone = staff("petugas-lama", identity.PROCESS_ANALYST)
    StaffService(pool=pool, clock=clock).disable(admin, gone.id)
    person = visitor()
    answers = [sign_in(person, "admin-nasional", "kata-sandi-yang-salah"), sign_in(person, "tidak-ada"),
               sign_in(person, "petugas-lama"), sign_in(person, "x" * 1000)]
    for response in answers:
        assert response.status_code == 400
        assert page(response).xpath("string(//*[@class='error-summary']//li)") == WRONG
        assert page(response).get_element_by_id("password").get("value") is None  # never sent back
        assert page(response).get_element_by_id("username").get("value") is not None
    assert not is_signed_in(person)


def test_every_sign_in_hashes_one_password_with_the_same_cost_whatever_its_outcome(admin, staff, pool, clock,
                                                                                   monkeypatch):
    """Timing: an unknown username, a disabled or locked account and a wrong password cost what a right one does."""
    service = StaffService(pool=pool, clock=clock)
    service.disable(admin, staff("petugas-lama", identity.PROCESS_ANALYST).id)
    staff("terkunci", identity.PROCESS_ANALYST)
    for _ in range(MAX_FAILURES):
        service.sign_in("terkunci", "kata-sandi-yang-salah")
    checked = []

    def counted(password, stored):
        checked.append(stored.rsplit("$", 2)[0])  # the parameters, without salt and key
        return real(password, stored)

    real = passwords.password_matches
    monkeypatch.setattr(staff_service.passwords, "password_matches", counted)
    outcomes = [service.sign_in(username, password) for username, password in [
        ("admin-nasional", PASSWORD), ("admin-nasional", "kata-sandi-yang-salah"), ("tidak-ada", PASSWORD),
        ("petugas-lama", PASSWORD), ("terkunci", PASSWORD), ("Bukan Nama!", PASSWORD)]]
    assert [o is not None for o in outcomes] == [True, False, False, False, False, False]
    assert checked == [f"scrypt${passwords.SCRYPT_N}${passwords.SCRYPT_R}${passwords.SCRYPT_P}"] * 6


def test_the_fifth_failure_within_the_window_locks_the_account_for_a_while(admin, visitor, clock, database_url):
    person = visitor()
    for _ in range(MAX_FAILURES):
        assert sign_in(person, "admin-nasional", "kata-sandi-yang-salah").status_code == 400
    refused = sign_in(person, "admin-nasional")  # the right password, while locked
    assert refused.status_code == 400
    assert page(refused).xpath("string(//*[@class='error-summary']//li)") == WRONG
    clock.advance(LOCK_TIME - timedelta(seconds=30))
    assert sign_in(visitor(), "admin-nasional").status_code == 400  # from anywhere
    clock.advance(timedelta(seconds=31))
    assert sign_in(person, "admin-nasional").status_code == 303
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT failed_sign_ins, failing_since, locked_until, last_signed_in_at "
                           "FROM portal.staff_accounts").fetchone()
    assert row[:3] == (0, None, None) and row[3] is not None


def test_concurrent_failures_are_each_counted(admin, pool, clock, database_url):
    service = StaffService(pool=pool, clock=clock)
    with ThreadPoolExecutor(max_workers=3) as threads:
        outcomes = list(threads.map(lambda _: service.sign_in("admin-nasional", "kata-sandi-yang-salah"),
                                    range(MAX_FAILURES + 2)))
    assert outcomes == [None] * (MAX_FAILURES + 2)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT locked_until IS NOT NULL FROM portal.staff_accounts").fetchone() == (True,)
    assert service.sign_in("admin-nasional", PASSWORD) is None


def test_failures_further_apart_than_the_window_do_not_lock(admin, visitor, clock):
    person = visitor()
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(person, "admin-nasional", "kata-sandi-yang-salah").status_code == 400
    clock.advance(FAILURE_WINDOW)
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(person, "admin-nasional", "kata-sandi-yang-salah").status_code == 400
    assert sign_in(person, "admin-nasional").status_code == 303


def test_a_success_clears_the_count(admin, visitor):
    person = visitor()
    for _ in range(2):
        for _ in range(MAX_FAILURES - 1):
            assert sign_in(person, "admin-nasional", "kata-sandi-yang-salah").status_code == 400
        assert sign_in(person, "admin-nasional").status_code == 303
        assert sign_out(person).status_code == 303


def test_one_address_failing_with_many_usernames_is_refused_for_a_while(admin, visitor, clock):
    person = visitor()
    for n in range(staff_pages.FAILED_SIGN_INS_PER_ADDRESS):
        assert sign_in(person, f"tebakan-{n}").status_code == 400
    refused = sign_in(visitor(), "admin-nasional")  # the same address, even with the right password
    assert refused.status_code == 429
    assert page(refused).xpath("string(//h1)") == "Terlalu banyak percobaan"
    clock.advance(staff_pages.SIGN_IN_WINDOW)
    assert sign_in(person, "admin-nasional").status_code == 303


@pytest.mark.parametrize("path", ["/staf", "/staf/akun", "/staf/akun/baru"])
def test_staff_pages_send_a_visitor_to_sign_in_and_back(admin, visitor, path):
    person = visitor()
    response = person.get(path)
    assert (response.status_code, response.headers["Location"]) == (303, f"/staf/masuk?lanjut={path}")
    response = sign_in(person, "admin-nasional", path=response.headers["Location"])
    assert (response.status_code, response.headers["Location"]) == (303, path)


@pytest.mark.parametrize("elsewhere", ["https://contoh.id/staf", "//contoh.id/staf", "/akun/laporan", "/staf\\..",
                                       "/stafx"])
def test_sign_in_leads_only_to_staff_pages(admin, visitor, elsewhere):
    response = sign_in(visitor(), "admin-nasional", lanjut=elsewhere)
    assert (response.status_code, response.headers["Location"]) == (303, "/staf")


def test_the_sign_in_page_sends_a_signed_in_member_home(admin, visitor):
    response = signed_in(visitor, "admin-nasional").get("/staf/masuk")
    assert (response.status_code, response.headers["Location"]) == (303, "/staf")


def test_an_idle_staff_session_ends(admin, visitor, clock):
    person = signed_in(visitor, "admin-nasional")
    clock.advance(web.SESSION_IDLE / 2)
    assert is_signed_in(person)  # a request moves the idle expiry on
    clock.advance(web.SESSION_IDLE * 3 / 4)
    assert is_signed_in(person)
    clock.advance(web.SESSION_IDLE + timedelta(minutes=1))
    assert not is_signed_in(person)


def test_a_staff_session_ends_at_its_absolute_expiry_however_busy(admin, visitor, clock):
    person = signed_in(visitor, "admin-nasional")
    for _ in range(int(web.SESSION_ABSOLUTE / (web.SESSION_IDLE / 2)) - 1):
        clock.advance(web.SESSION_IDLE / 2)
        assert is_signed_in(person)
    clock.advance(web.SESSION_IDLE / 2)
    assert not is_signed_in(person)


def test_a_disabled_accounts_session_ends_at_its_next_request(admin, staff, visitor, pool, clock):
    officer = staff("petugas-pupr", identity.LIAISON_OFFICER, PUPR)
    person = signed_in(visitor, "petugas-pupr")
    StaffService(pool=pool, clock=clock).disable(admin, officer.id)
    assert not is_signed_in(person)


def test_a_staff_session_acts_with_a_signed_caller_identity_of_its_account(app, staff, visitor):
    officer = staff("admin-pupr", identity.AGENCY_ADMIN, PUPR)
    person = signed_in(visitor, "admin-pupr")
    cookie = f"sp4n_sesi={person.http.cookies['sp4n_sesi']}"
    with app.test_request_context("/staf", headers={"Cookie": cookie}):
        expected = identity.Caller(subject=f"staff:{officer.id}", role=identity.AGENCY_ADMIN, agency_id=PUPR)
        assert staff_session.caller() == expected
        [(key, token)] = staff_session.call_metadata()
        assert key == identity.METADATA_KEY
        signed = identity.verify(token, IDENTITY_KEY)
        assert (signed.subject, signed.role, signed.agency_id) == (expected.subject, expected.role, PUPR)
        with pytest.raises(Unauthenticated):
            identity.verify(token, "another-key-of-at-least-thirty-two-chars")
    with app.test_request_context("/staf"):  # no session: no identity to act with
        with pytest.raises(Unauthenticated):
            staff_session.caller()
