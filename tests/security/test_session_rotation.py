"""Sessions rotate at every door that grants something, through real HTTP (session fixation).

Whoever knows a session id from before (planted in the victim's browser, or read over their shoulder)
must get nothing from the victim signing in or proving access afterwards: each door answers with a new
session id, the old one is gone from the store, and a browser holding the old id is a stranger. An id the
portal never issued is never adopted either.

Doors: staff sign-in, reporter sign-in, reporter registration (which signs in), the access code on the
tracking page, and sending a report (the session may then follow it). A staff member's changed password
rotates too: tests/portal/test_staff_passwords.py.
"""

import hashlib
import urllib.parse

import psycopg
import pytest

from services.plumbing import identity
from services.portal.sessions import COOKIE
from tests.portal import test_reporter_accounts as reporter_accounts
from tests.portal import test_staff_sign_in as staff_sign_in
from tests.portal.test_pages import enter_code, page, submitted, submitted_with_code


def plant(person, session_id: str) -> None:
    """Puts a session id in the browser as the portal's own cookie would be (so a new one replaces it)."""
    person.http.cookies.set(COOKIE, session_id, domain=urllib.parse.urlsplit(person.root).hostname, path="/")


def holds(database_url, session_id: str) -> bool:
    """Whether the session store has a session with this id."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT EXISTS (SELECT FROM portal.sessions WHERE id_hash = %s)",
                            (hashlib.sha256(session_id.encode()).digest(),)).fetchone()[0]


def follows(person, tracking_id: str) -> bool:
    """Whether the browser's session opens the whole report (its status), not the access-code form."""
    return page(person.get(f"/lacak/{tracking_id}")).xpath("//*[@id='status']") != []


def in_my_reports(person) -> bool:
    return person.get("/akun/laporan").status_code == 200


# Each door: (what to do first, once, as someone else; the visit that makes a session; passing the door;
# whether a browser has what the door grants).
def staff_door(visitor, staff):
    staff("admin-nasional", identity.NATIONAL_ADMIN, password=staff_sign_in.PASSWORD)
    return ("/staf/masuk", lambda person: staff_sign_in.sign_in(person, "admin-nasional"),
            staff_sign_in.is_signed_in)


def reporter_sign_in_door(visitor, staff):
    member = visitor()
    assert reporter_accounts.register(member).status_code == 303
    assert reporter_accounts.sign_out(member).status_code == 303
    return "/akun/masuk", reporter_accounts.sign_in, in_my_reports


def registration_door(visitor, staff):
    return "/akun/daftar", reporter_accounts.register, in_my_reports


def access_code_door(visitor, staff):
    tracking_id, code = submitted_with_code(visitor())
    return (f"/lacak/{tracking_id}", lambda person: enter_code(person, tracking_id, code),
            lambda person: follows(person, tracking_id))


def submission_door(visitor, staff):
    sent = []

    def send(person):
        sent.append(submitted(person))
        return None

    return "/", send, lambda person: follows(person, sent[0])


DOORS = {"staff sign-in": staff_door, "reporter sign-in": reporter_sign_in_door,
         "reporter registration": registration_door, "access code": access_code_door,
         "sending a report": submission_door}


@pytest.mark.parametrize("door", DOORS)
def test_passing_a_door_gives_a_new_session_id_and_the_old_one_gets_nothing(visitor, staff, database_url, door):
    path, pass_door, granted = DOORS[door](visitor, staff)
    person = visitor()
    person.get(path)
    before = person.http.cookies[COOKIE]
    assert holds(database_url, before)
    answer = pass_door(person)
    assert answer is None or answer.status_code == 303, answer.text
    after = person.http.cookies[COOKIE]

    assert after != before
    assert not holds(database_url, before) and holds(database_url, after)
    assert granted(person)
    planted = visitor()  # whoever knew the id before
    plant(planted, before)
    assert not granted(planted)
    assert planted.http.cookies.get(COOKIE) != after


@pytest.mark.parametrize("door", DOORS)
def test_an_id_the_portal_never_issued_is_not_adopted(visitor, staff, database_url, door):
    """A browser arriving with a made-up session id is given one of the portal's own before the door."""
    path, pass_door, granted = DOORS[door](visitor, staff)
    made_up = "penyerang-memilih-id-ini-" + "x" * 20
    person = visitor()
    plant(person, made_up)
    person.get(path)
    assert person.http.cookies[COOKIE] != made_up
    pass_door(person)
    assert granted(person) and not holds(database_url, made_up)
    planted = visitor()
    plant(planted, made_up)
    assert not granted(planted)


def test_staff_sign_in_also_gives_a_new_csrf_token(visitor, staff):
    """The page before sign-in showed its CSRF token; a form built with it is refused afterwards."""
    staff("admin-nasional", identity.NATIONAL_ADMIN, password=staff_sign_in.PASSWORD)
    person = visitor()
    old_token = staff_sign_in.hidden(person, "/staf/masuk", action="/staf/masuk")["csrf_token"]
    assert staff_sign_in.sign_in(person, "admin-nasional").status_code == 303
    assert staff_sign_in.sign_out(person, csrf_token=old_token).status_code == 400
    assert staff_sign_in.is_signed_in(person)
