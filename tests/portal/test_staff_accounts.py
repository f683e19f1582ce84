"""Staff account management at /staf/akun: who may list, make and disable which accounts, through real
HTTP. Whatever is refused answers 403 (or, signed out, sends to sign in) and leaves every row as it was."""

import lxml.html
import psycopg
import pytest

from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST
from tests.portal.test_pages import field_message, hidden, page, text_of
from tests.portal.test_staff_sign_in import (DINKES, PUPR, sign_in, signed_in, staff,  # noqa: F401
                                             staff_table)

NEW_PASSWORD = "kata-sandi-baru-1708"
# (username, role, agency) of the people of these tests
CAST = (
    ("admin-nasional", NATIONAL_ADMIN, ""),
    ("admin-pupr", AGENCY_ADMIN, PUPR),
    ("admin-pupr-2", AGENCY_ADMIN, PUPR),
    ("petugas-pupr", LIAISON_OFFICER, PUPR),
    ("admin-dinkes", AGENCY_ADMIN, DINKES),
    ("petugas-dinkes", LIAISON_OFFICER, DINKES),
    ("analis", PROCESS_ANALYST, ""),
)


@pytest.fixture
def cast(staff):
    """Every account of CAST, by username."""
    return {username: staff(username, role, agency_id) for username, role, agency_id in CAST}


@pytest.fixture
def as_(cast, visitor):
    """A browser signed in as one of the cast; `None` for a visitor who is not signed in."""
    def person(username: str | None):
        return signed_in(visitor, username) if username else visitor()
    return person


def csrf(person) -> dict[str, str]:
    """A form token of the person's session (a visitor who is not signed in gets one from the sign-in page)."""
    return {"csrf_token": hidden(person, "/staf/masuk")["csrf_token"]} if person.get("/staf").status_code == 303 \
        else {"csrf_token": page(person.get("/staf")).xpath("string(//nav//input[@name='csrf_token']/@value)")}


def create(person, **fields):
    form = {**csrf(person), "username": "petugas-baru", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
            **fields}
    return person.post("/staf/akun", data=form)


def disable(person, account_id: int, **fields):
    return person.post(f"/staf/akun/{account_id}/nonaktifkan", data={**csrf(person), **fields})


def refused(response) -> bool:
    return response.status_code == 403 and page(response).xpath("string(//h1)") == "Akses ditolak"


def sent_to_sign_in(response) -> bool:
    return response.status_code == 303 and response.headers["Location"].startswith("/staf/masuk")


def listed(response) -> list[str]:
    return page(response).xpath("//table[@id='accounts']/tbody/tr/td[1]/text()")


# (who acts, role made, agency made, allowed)
CREATIONS = [
    ("admin-nasional", NATIONAL_ADMIN, "", True),
    ("admin-nasional", AGENCY_ADMIN, DINKES, True),
    ("admin-nasional", LIAISON_OFFICER, PUPR, True),
    ("admin-nasional", PROCESS_ANALYST, "", True),
    ("admin-pupr", LIAISON_OFFICER, PUPR, True),
    ("admin-pupr", AGENCY_ADMIN, PUPR, True),
    ("admin-pupr", LIAISON_OFFICER, DINKES, False),
    ("admin-pupr", AGENCY_ADMIN, DINKES, False),
    ("admin-pupr", NATIONAL_ADMIN, "", False),
    ("admin-pupr", PROCESS_ANALYST, "", False),
    ("petugas-pupr", LIAISON_OFFICER, PUPR, False),
    ("analis", PROCESS_ANALYST, "", False),
    ("analis", LIAISON_OFFICER, PUPR, False),
    (None, LIAISON_OFFICER, PUPR, False),
]


@pytest.mark.parametrize("actor, role, agency_id, allowed", CREATIONS)
def test_who_may_make_which_account(as_, database_url, actor, role, agency_id, allowed):
    person = as_(actor)
    before = staff_table(database_url)
    response = create(person, role=role, agency_id=agency_id)
    if allowed:
        assert (response.status_code, response.headers["Location"]) == (303, "/staf/akun"), response.text
        assert len(staff_table(database_url)) == len(before) + 1
        with psycopg.connect(database_url) as conn:
            made = conn.execute("SELECT role, agency_id, created_by FROM portal.staff_accounts "
                                "WHERE username = 'petugas-baru'").fetchone()
        assert made[:2] == (role, agency_id)
        assert sign_in(as_(None), "petugas-baru", NEW_PASSWORD).status_code == 303
    else:
        assert sent_to_sign_in(response) if actor is None else refused(response)
        assert staff_table(database_url) == before


def test_an_agency_administrators_account_is_of_their_agency_without_asking(as_, database_url):
    person = as_("admin-pupr")
    form = page(person.get("/staf/akun/baru"))
    assert form.xpath("//select[@id='role']/option/@value") == ["", AGENCY_ADMIN, LIAISON_OFFICER]
    assert not form.xpath("//*[@id='agency_id']")
    assert "Akun baru menjadi akun instansi kab-tanah-bumbu-dinas-pupr." in form.text_content()
    assert create(person, role=LIAISON_OFFICER).status_code == 303
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT agency_id FROM portal.staff_accounts WHERE username = 'petugas-baru'"
                            ).fetchone() == (PUPR,)


def test_a_national_administrator_is_offered_every_role_and_an_agency(as_):
    form = page(as_("admin-nasional").get("/staf/akun/baru"))
    assert form.xpath("//select[@id='role']/option/@value") == ["", NATIONAL_ADMIN, AGENCY_ADMIN, LIAISON_OFFICER,
                                                                PROCESS_ANALYST]
    assert form.xpath("//input[@id='agency_id']")


# (who acts, whose account, allowed)
DISABLINGS = [
    ("admin-nasional", "petugas-dinkes", True),
    ("admin-nasional", "admin-pupr", True),
    ("admin-nasional", "analis", True),
    ("admin-nasional", "admin-nasional", False),  # no one disables their own account
    ("admin-pupr", "petugas-pupr", True),
    ("admin-pupr", "admin-pupr-2", True),
    ("admin-pupr", "admin-pupr", False),
    ("admin-pupr", "petugas-dinkes", False),
    ("admin-pupr", "admin-dinkes", False),
    ("admin-pupr", "admin-nasional", False),
    ("admin-pupr", "analis", False),
    ("petugas-pupr", "petugas-pupr", False),
    ("petugas-pupr", "admin-pupr-2", False),
    ("analis", "petugas-pupr", False),
    (None, "petugas-pupr", False),
]


@pytest.mark.parametrize("actor, target, allowed", DISABLINGS)
def test_who_may_disable_which_account(as_, cast, database_url, actor, target, allowed):
    person = as_(actor)
    victim = as_(target) if target != actor else person
    before = staff_table(database_url)
    response = disable(person, cast[target].id)
    if allowed:
        assert (response.status_code, response.headers["Location"]) == (303, "/staf/akun")
        with psycopg.connect(database_url) as conn:
            disabled = conn.execute("SELECT id FROM portal.staff_accounts WHERE disabled_at IS NOT NULL").fetchall()
        assert disabled == [(cast[target].id,)]
        assert victim.get("/staf").status_code == 303  # signed out at once
        assert sign_in(as_(None), target).status_code == 400
    else:
        assert sent_to_sign_in(response) if actor is None else refused(response)
        assert staff_table(database_url) == before
        assert victim.get("/staf").status_code == 200


# (who asks, what they see, or None when refused)
LISTS = [
    ("admin-nasional", sorted(username for username, _, _ in CAST)),
    ("admin-pupr", ["admin-pupr", "admin-pupr-2", "petugas-pupr"]),
    ("admin-dinkes", ["admin-dinkes", "petugas-dinkes"]),
    ("petugas-pupr", None),
    ("analis", None),
]


@pytest.mark.parametrize("actor, seen", LISTS)
def test_who_sees_which_accounts(as_, actor, seen):
    response = as_(actor).get("/staf/akun")
    if seen is None:
        assert refused(response)
        assert refused(as_(actor).get("/staf/akun/baru"))
    else:
        assert response.status_code == 200
        assert listed(response) == seen


def test_the_list_offers_to_disable_and_reset_only_what_its_reader_may(as_, cast):
    html = page(as_("admin-pupr").get("/staf/akun"))
    actions = html.xpath("//table[@id='accounts']//form/@action")
    assert actions == [f"/staf/akun/{cast[u].id}/{action}" for u in ("admin-pupr-2", "petugas-pupr")
                       for action in ("nonaktifkan", "atur-ulang-sandi")]


def test_the_list_is_shown_a_page_at_a_time(as_, staff, monkeypatch):
    from services.portal import staff_account_pages
    monkeypatch.setattr(staff_account_pages, "PAGE_SIZE", 3)
    person = as_("admin-nasional")
    first = person.get("/staf/akun")
    assert listed(first) == ["admin-dinkes", "admin-nasional", "admin-pupr"]
    [next_link] = page(first).xpath("//a[@rel='next']/@href")
    second = person.get(next_link)
    assert listed(second) == ["admin-pupr-2", "analis", "petugas-dinkes"]
    third = person.get(page(second).xpath("//a[@rel='next']/@href")[0])
    assert listed(third) == ["petugas-pupr"] and not page(third).xpath("//a[@rel='next']")


def test_making_and_disabling_are_told_once_and_shown_in_the_list(as_, cast):
    person = as_("admin-nasional")
    assert create(person, role=PROCESS_ANALYST, agency_id="").status_code == 303
    shown = person.get("/staf/akun")
    assert page(shown).xpath("string(//*[@id='notice'])") == "Akun petugas-baru dibuat."
    assert "petugas-baru" in listed(shown)
    assert not page(person.get("/staf/akun")).xpath("//*[@id='notice']")
    assert disable(person, cast["analis"].id).status_code == 303
    shown = page(person.get("/staf/akun"))
    assert shown.xpath("string(//*[@id='notice'])") == "Akun analis dinonaktifkan."
    row = shown.get_element_by_id(f"account-{cast['analis'].id}")
    assert "Nonaktif sejak" in row.text_content()
    assert row.xpath(".//form/@action") == [f"/staf/akun/{cast['analis'].id}/aktifkan"]


def test_disabling_a_disabled_account_changes_nothing(as_, cast, database_url):
    person = as_("admin-nasional")
    assert disable(person, cast["analis"].id).status_code == 303
    before = staff_table(database_url)
    assert disable(person, cast["analis"].id).status_code == 303
    assert staff_table(database_url) == before


def test_disabling_an_unknown_account_is_not_found(as_, database_url):
    person = as_("admin-nasional")
    before = staff_table(database_url)
    assert disable(person, 999999).status_code == 404
    assert staff_table(database_url) == before


def test_forms_without_the_sessions_csrf_token_change_nothing(as_, cast, database_url):
    person, other = as_("admin-nasional"), as_("admin-pupr")
    before = staff_table(database_url)
    response = create(person, role=PROCESS_ANALYST, csrf_token="palsu")
    assert response.status_code == 400
    assert "Halaman ini sudah terlalu lama dibuka." in text_of(response)
    assert disable(person, cast["analis"].id, csrf_token="palsu").status_code == 400
    # a token of another staff member's session is no better
    assert disable(person, cast["analis"].id, csrf_token=csrf(other)["csrf_token"]).status_code == 400
    assert staff_table(database_url) == before


@pytest.mark.parametrize("fields, field, message", [
    (dict(username="ab"), "username", "Nama pengguna terdiri dari 3 sampai 64 karakter"),
    (dict(username="x" * 65), "username", "Nama pengguna terdiri dari 3 sampai 64 karakter"),
    (dict(username="petugas baru"), "username", "Nama pengguna terdiri dari 3 sampai 64 karakter"),
    (dict(username="-petugas"), "username", "Nama pengguna terdiri dari 3 sampai 64 karakter"),
    (dict(username="ANALIS"), "username", "Nama pengguna ini sudah dipakai."),
    (dict(password="pendek-sekali", password_again="pendek-sekali"[:11]), "password_again",
     "Kedua kata sandi tidak sama."),
    (dict(password="sebelas-kar", password_again="sebelas-kar"), "password",
     "Kata sandi harus terdiri dari 12 sampai 200 karakter."),
    (dict(role=""), "role", "Pilih peran akun."),
    (dict(role=LIAISON_OFFICER, agency_id=""), "agency_id", "Isi kode instansi"),
    (dict(role=LIAISON_OFFICER, agency_id="Dinas PUPR!"), "agency_id", "Isi kode instansi"),
    (dict(role=PROCESS_ANALYST, agency_id=PUPR), "agency_id", "Isi kode instansi"),
])
def test_an_account_that_cannot_be_made_says_why_next_to_the_field(as_, cast, database_url, fields, field, message):
    person = as_("admin-nasional")
    before = staff_table(database_url)
    response = create(person, **{"role": PROCESS_ANALYST, "agency_id": "", **fields})
    assert response.status_code == 400
    assert field_message(response, field).startswith(message)
    html = page(response)
    assert html.get_element_by_id("password").get("value") is None  # never sent back
    assert html.get_element_by_id("password_again").get("value") is None
    assert staff_table(database_url) == before


def test_every_problem_of_a_new_account_is_listed_at_once(as_, cast, database_url):
    response = create(as_("admin-nasional"), username="a", password="pendek", password_again="lain", role="",
                      agency_id="")
    assert response.status_code == 400
    summary = page(response).xpath("//*[@class='error-summary']//a/@href")
    assert summary == ["#username", "#password", "#role"]


def test_a_username_is_kept_in_lowercase(as_, database_url):
    assert create(as_("admin-nasional"), username="  Petugas-Baru ", role=PROCESS_ANALYST,
                  agency_id="").status_code == 303
    assert sign_in(as_(None), "petugas-baru", NEW_PASSWORD).status_code == 303


def test_a_role_that_is_no_role_is_a_mistake_in_the_form(as_, database_url):
    person = as_("admin-pupr")
    before = staff_table(database_url)
    response = create(person, role="superuser")
    assert response.status_code == 400
    assert field_message(response, "role") == "Pilih peran akun."
    assert staff_table(database_url) == before


def test_the_account_pages_in_english(as_):
    person = as_("admin-nasional")
    html = lxml.html.fromstring(person.get("/staf/akun?lang=en").text)
    assert html.xpath("string(//h1)") == "Staff accounts"
    assert "National administrator" in html.text_content()
