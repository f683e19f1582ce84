"""A staff member's own password, an administrator's reset of someone else's, and enabling a disabled
account again: through real HTTP against the portal served by waitress, on a real PostgreSQL. Whatever
is refused answers 403 (or 400 without the session's CSRF token) and leaves every row as it was."""

import psycopg
import pytest

from services.portal.staff_accounts import TEMPORARY_PASSWORD_BYTES
from tests.portal.test_pages import field_message, page, text_of
from tests.portal.test_staff_accounts import as_, cast, csrf, disable, refused, sent_to_sign_in  # noqa: F401
from tests.portal.test_staff_sign_in import PASSWORD, is_signed_in, sign_in, staff, staff_table  # noqa: F401

NEW_PASSWORD = "kata-sandi-ganti-1708"


def change(person, current: str = PASSWORD, new: str = NEW_PASSWORD, again: str | None = None, **fields):
    own_page = person.get("/staf/kata-sandi")  # open with a temporary password too
    token = page(own_page).xpath("string(//main//form//input[@name='csrf_token']/@value)") \
        if own_page.status_code == 200 else csrf(person)["csrf_token"]
    form = {"csrf_token": token, "current_password": current, "password": new,
            "password_again": new if again is None else again, **fields}
    return person.post("/staf/kata-sandi", data=form)


def reset(person, account_id: int, **fields):
    return person.post(f"/staf/akun/{account_id}/atur-ulang-sandi", data={**csrf(person), **fields})


def enable(person, account_id: int, **fields):
    return person.post(f"/staf/akun/{account_id}/aktifkan", data={**csrf(person), **fields})


def sessions_of(database_url, account_id: int) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM portal.sessions WHERE data -> 'staff' ->> 'id' = %s",
                            (str(account_id),)).fetchone()[0]


def temporary_of(response) -> str:
    return page(response).xpath("string(//*[@id='temporary-password'])")


# -- changing one's own password ------------------------------------------------------------------

def test_a_changed_password_rotates_the_session_and_ends_the_accounts_other_sessions(as_, cast, visitor,
                                                                                     database_url):
    person, elsewhere, someone_else = as_("petugas-pupr"), as_("petugas-pupr"), as_("admin-pupr")
    cookie = person.http.cookies["sp4n_sesi"]
    response = change(person)
    assert (response.status_code, response.headers["Location"]) == (303, "/staf")
    assert person.http.cookies["sp4n_sesi"] != cookie  # a new session id
    home = person.get("/staf")
    assert home.status_code == 200
    assert page(home).xpath("string(//*[@id='notice'])") == \
        "Kata sandi Anda diganti. Sesi lain akun ini telah diakhiri."
    assert not is_signed_in(elsewhere)  # the other session of the account ended
    assert is_signed_in(someone_else)  # another account's did not
    planted = visitor()
    planted.http.cookies.set("sp4n_sesi", cookie)
    assert not is_signed_in(planted)  # the id before the change is worth nothing
    assert sessions_of(database_url, cast["petugas-pupr"].id) == 1
    assert sign_in(as_(None), "petugas-pupr", PASSWORD).status_code == 400
    assert sign_in(as_(None), "petugas-pupr", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize("fields, field, message", [
    (dict(current="salah-sekali-1708"), "current_password", "Kata sandi saat ini salah."),
    (dict(current=""), "current_password", "Isi kata sandi Anda saat ini."),
    (dict(new="sebelas-kar"), "password", "Kata sandi harus terdiri dari 12 sampai 200 karakter."),
    (dict(new="x" * 201), "password", "Kata sandi harus terdiri dari 12 sampai 200 karakter."),
    (dict(again="kata-sandi-lain-1708"), "password_again", "Kedua kata sandi tidak sama."),
])
def test_a_password_that_cannot_be_changed_says_why_and_changes_nothing(as_, cast, database_url, fields, field,
                                                                      message):
    person, elsewhere = as_("analis"), as_("analis")
    before = staff_table(database_url)
    response = change(person, **fields)
    assert response.status_code == 400
    assert field_message(response, field) == message
    html = page(response)
    assert all(html.get_element_by_id(f).get("value") is None
               for f in ("current_password", "password", "password_again"))
    assert staff_table(database_url) == before
    assert is_signed_in(person) and is_signed_in(elsewhere)


def test_changing_a_password_needs_the_sessions_csrf_token_and_a_signed_in_member(as_, cast, database_url):
    person = as_("analis")
    before = staff_table(database_url)
    response = change(person, csrf_token="palsu")
    assert response.status_code == 400
    assert "Halaman ini sudah terlalu lama dibuka." in text_of(response)
    assert sent_to_sign_in(change(as_(None)))
    assert staff_table(database_url) == before


# -- resetting someone's password ------------------------------------------------------------------

# (who acts, whose account, allowed): the rights of disabling
RESETS = [
    ("admin-nasional", "petugas-dinkes", True),
    ("admin-nasional", "admin-pupr", True),
    ("admin-nasional", "analis", True),
    ("admin-nasional", "admin-nasional", False),  # one's own: changed, knowing it, not reset
    ("admin-pupr", "petugas-pupr", True),
    ("admin-pupr", "admin-pupr-2", True),
    ("admin-pupr", "admin-pupr", False),
    ("admin-pupr", "petugas-dinkes", False),
    ("admin-pupr", "admin-nasional", False),
    ("admin-pupr", "analis", False),
    ("petugas-pupr", "petugas-pupr", False),
    ("petugas-pupr", "admin-pupr-2", False),
    ("analis", "petugas-pupr", False),
    (None, "petugas-pupr", False),
]


@pytest.mark.parametrize("actor, target, allowed", RESETS)
def test_who_may_reset_which_password(as_, cast, database_url, actor, target, allowed):
    person = as_(actor)
    victim = as_(target) if target != actor else person
    before = staff_table(database_url)
    response = reset(person, cast[target].id)
    if allowed:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        temporary = temporary_of(response)
        assert len(temporary) >= 12 and len(temporary) == len("x" * (TEMPORARY_PASSWORD_BYTES * 4 // 3))
        assert temporary not in str(staff_table(database_url))
        assert not is_signed_in(victim)  # the account's sessions ended
        assert sign_in(as_(None), target, PASSWORD).status_code == 400  # the old password is gone
        assert sign_in(as_(None), target, temporary).status_code == 303
    else:
        assert sent_to_sign_in(response) if actor is None else refused(response)
        assert staff_table(database_url) == before
        assert is_signed_in(victim)


def test_a_temporary_password_must_be_replaced_before_any_other_page(as_, cast, visitor, database_url):
    temporary = temporary_of(reset(as_("admin-pupr"), cast["petugas-pupr"].id))
    assert is_temporary(database_url, cast)
    person = visitor()
    assert sign_in(person, "petugas-pupr", temporary).status_code == 303
    for path in ("/staf", "/staf/instansi", "/staf/akun"):
        response = person.get(path)
        assert (response.status_code, response.headers["Location"]) == (303, "/staf/kata-sandi"), path
    shown = page(person.get("/staf/kata-sandi"))
    assert shown.get_element_by_id("must-change") is not None
    assert change(person, current=temporary).status_code == 303
    assert person.get("/staf").status_code == 200
    assert not is_temporary(database_url, cast)
    assert not page(person.get("/staf/kata-sandi")).xpath("//*[@id='must-change']")


def is_temporary(database_url, cast) -> bool:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT must_change_password FROM portal.staff_accounts WHERE id = %s",
                            (cast["petugas-pupr"].id,)).fetchone()[0]


def test_a_temporary_password_is_replaced_only_with_a_good_one(as_, cast, visitor, database_url):
    temporary = temporary_of(reset(as_("admin-nasional"), cast["analis"].id))
    person = visitor()
    assert sign_in(person, "analis", temporary).status_code == 303
    before = staff_table(database_url)
    assert change(person, current=temporary, new="pendek").status_code == 400
    assert change(person, current=PASSWORD).status_code == 400  # the old one is no longer current
    assert staff_table(database_url) == before
    assert person.get("/staf").status_code == 303
    assert change(person, current=temporary).status_code == 303
    assert person.get("/staf").status_code == 200
    assert sign_in(as_(None), "analis", NEW_PASSWORD).status_code == 303


def test_a_reset_lifts_the_lock_of_failed_sign_ins(as_, cast):
    for _ in range(5):
        assert sign_in(as_(None), "petugas-dinkes", "salah-sekali-1708").status_code == 400
    assert sign_in(as_(None), "petugas-dinkes", PASSWORD).status_code == 400  # locked
    temporary = temporary_of(reset(as_("admin-dinkes"), cast["petugas-dinkes"].id))
    assert sign_in(as_(None), "petugas-dinkes", temporary).status_code == 303


def test_resetting_needs_the_sessions_csrf_token_and_an_existing_account(as_, cast, database_url):
    person, other = as_("admin-nasional"), as_("admin-pupr")
    before = staff_table(database_url)
    assert reset(person, cast["analis"].id, csrf_token="palsu").status_code == 400
    assert reset(person, cast["analis"].id, csrf_token=csrf(other)["csrf_token"]).status_code == 400
    assert reset(person, 999999).status_code == 404
    assert staff_table(database_url) == before


# -- enabling a disabled account again -------------------------------------------------------------

# (who acts, whose account, allowed)
ENABLINGS = [
    ("admin-nasional", "petugas-dinkes", True),
    ("admin-nasional", "admin-pupr", True),
    ("admin-pupr", "petugas-pupr", True),
    ("admin-pupr", "admin-pupr-2", True),
    ("admin-pupr", "petugas-dinkes", False),
    ("admin-pupr", "analis", False),
    ("admin-dinkes", "admin-pupr-2", False),
    ("petugas-dinkes", "petugas-pupr", False),
    ("analis", "petugas-pupr", False),
    (None, "petugas-pupr", False),
]


@pytest.mark.parametrize("actor, target, allowed", ENABLINGS)
def test_who_may_enable_which_account_again(as_, cast, database_url, actor, target, allowed):
    assert disable(as_("admin-nasional"), cast[target].id).status_code == 303
    person = as_(actor)
    before = staff_table(database_url)
    response = enable(person, cast[target].id)
    if allowed:
        assert (response.status_code, response.headers["Location"]) == (303, "/staf/akun")
        assert page(person.get("/staf/akun")).xpath("string(//*[@id='notice'])") == \
            f"Akun {target} diaktifkan kembali."
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT disabled_at, disabled_by, enabled_by FROM portal.staff_accounts "
                                "WHERE id = %s", (cast[target].id,)).fetchone() == (None, None, cast[actor].id)
        assert sign_in(as_(None), target).status_code == 303
    else:
        assert sent_to_sign_in(response) if actor is None else refused(response)
        assert staff_table(database_url) == before
        assert sign_in(as_(None), target).status_code == 400


def test_no_one_enables_their_own_account(as_, cast, database_url):
    person = as_("admin-pupr-2")
    assert disable(as_("admin-pupr"), cast["admin-pupr-2"].id).status_code == 303
    assert not is_signed_in(person)  # and so cannot post anything as themselves
    before = staff_table(database_url)
    assert sent_to_sign_in(enable(person, cast["admin-pupr-2"].id))
    assert staff_table(database_url) == before


def test_a_session_from_before_a_disabling_stays_ended_after_enabling(as_, cast, database_url):
    person = as_("petugas-pupr")
    admin = as_("admin-pupr")
    assert disable(admin, cast["petugas-pupr"].id).status_code == 303
    assert enable(admin, cast["petugas-pupr"].id).status_code == 303
    assert not is_signed_in(person)
    assert sessions_of(database_url, cast["petugas-pupr"].id) == 0


def test_enabling_needs_the_sessions_csrf_token_and_changes_nothing_on_an_active_account(as_, cast, database_url):
    person = as_("admin-nasional")
    assert disable(person, cast["analis"].id).status_code == 303
    before = staff_table(database_url)
    assert enable(person, cast["analis"].id, csrf_token="palsu").status_code == 400
    assert enable(person, 999999).status_code == 404
    assert staff_table(database_url) == before
    assert enable(person, cast["analis"].id).status_code == 303
    after = staff_table(database_url)
    assert enable(person, cast["analis"].id).status_code == 303
    assert staff_table(database_url) == after


def test_the_password_pages_in_english(as_, cast):
    person = as_("analis")
    html = page(person.get("/staf/kata-sandi?lang=en"))
    assert html.xpath("string(//h1)") == "Change password"


def test_wrong_current_passwords_are_tried_a_few_times_only(as_, cast, database_url):
    person = as_("analis")
    before = staff_table(database_url)
    for _ in range(5):
        assert change(person, current="salah-sekali-1708").status_code == 400
    assert change(person).status_code == 429  # the right one too, until the window ends
    assert staff_table(database_url) == before
    assert change(as_("petugas-pupr")).status_code == 303  # another account's attempts are its own
