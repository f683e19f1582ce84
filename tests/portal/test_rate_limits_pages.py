"""The limits of the reporter pages and of Open311 through real HTTP, with small limits: failed sign-ins,
registrations and reports sent from the web form per address (the "too many attempts" page), Open311
posts per api_key (GeoReport's error 429). What is refused stores nothing and holds back no other address or key."""

import json
from xml.etree import ElementTree

import pytest
import requests

from services.portal import accounts, open311, web
from services.portal.http_server import HttpServer
from tests.intake.reports import row_counts
from tests.portal.test_open311_fakes import OTHER_KEY, V2, make_open311_app, post_fields  # noqa: F401 (fixtures)
from tests.portal.test_pages import page, report_form, submitted
from tests.portal.test_rate_limits import from_address
from tests.portal.test_reporter_accounts import accounts as account_rows, register, sign_in

TOO_MANY = "Terlalu banyak percobaan"


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    """Limits small enough to reach in a test, set before the portal is made."""
    monkeypatch.setattr(accounts, "FAILED_SIGN_INS_PER_ADDRESS", 3)
    monkeypatch.setattr(accounts, "REGISTRATIONS_PER_ADDRESS", 2)
    monkeypatch.setattr(open311, "POSTS_PER_KEY", 2)
    monkeypatch.setattr(web, "REPORTS_PER_ADDRESS", 2)


def refused_as_too_many(response) -> None:
    assert response.status_code == 429
    assert page(response).xpath("string(//h1)") == TOO_MANY


def signed_in(person) -> bool:
    return person.get("/akun/laporan").status_code == 200


# Sign-in and registration.

def test_an_address_with_too_many_failed_sign_ins_is_refused_even_the_right_password(visitor, clock):
    assert register(visitor()).status_code == 303
    person = visitor()
    for n in range(3):
        assert sign_in(person, password=f"bukan-sandinya-{n}").status_code == 400
    refused_as_too_many(sign_in(person))
    assert not signed_in(person)
    refused_as_too_many(sign_in(visitor()))  # a new session at the same address changes nothing
    elsewhere = visitor()
    from_address(elsewhere.http)
    assert sign_in(elsewhere).status_code == 303 and signed_in(elsewhere)
    clock.advance(accounts.SIGN_IN_WINDOW)
    assert sign_in(person).status_code == 303 and signed_in(person)


def test_an_address_registering_too_often_is_refused_and_no_account_made(visitor, database_url, clock):
    for n in range(2):
        assert register(visitor(), email=f"warga{n}@contoh.id").status_code == 303
    person = visitor()
    refused_as_too_many(register(person, email="warga2@contoh.id"))
    assert account_rows(database_url) == 2 and not signed_in(person)
    elsewhere = visitor()
    from_address(elsewhere.http)
    assert register(elsewhere, email="warga2@contoh.id").status_code == 303
    assert account_rows(database_url) == 3
    clock.advance(accounts.REGISTRATION_WINDOW)
    assert register(visitor(), email="warga3@contoh.id").status_code == 303


def test_an_address_sending_too_many_reports_from_the_form_is_refused_and_nothing_stored(visitor, database_url,
                                                                                          clock):
    """A script fetching a fresh form (and nonce) for each report is held back like one resending one form."""
    for _ in range(2):
        submitted(visitor())
    person = visitor()
    refused_as_too_many(person.post("/laporan", data=report_form(person)))
    assert row_counts(database_url)["reports"] == 2
    elsewhere = visitor()
    from_address(elsewhere.http)
    assert submitted(elsewhere)
    clock.advance(web.REPORT_WINDOW)
    assert submitted(visitor())
    assert row_counts(database_url)["reports"] == 4


def test_reports_refused_for_their_form_do_not_count(visitor, database_url):
    person = visitor()
    for _ in range(3):
        assert person.post("/laporan", data=report_form(person, title="")).status_code == 400
    assert submitted(person) and row_counts(database_url)["reports"] == 1


def test_registrations_refused_for_their_form_do_not_count(visitor, database_url):
    person = visitor()
    for _ in range(3):
        assert register(person, password_again="tidak-sama-123").status_code == 400
    assert register(person).status_code == 303 and account_rows(database_url) == 1


# Open311.

@pytest.fixture
def open311_root(make_open311_app, intake_address, others_address):
    """The portal with Open311 over the real intake, served over HTTP; its Open311 root."""
    server = HttpServer(make_open311_app(intake_address, others_address), host="127.0.0.1", port=0)
    server.start()
    yield server.url + V2
    server.stop()


def post(root: str, n: int, fmt: str = "json", **fields) -> requests.Response:
    description = f"Lubang besar di Jalan Raya Batulicin dekat pasar nomor {n}, sudah dua minggu."
    return requests.post(f"{root}/requests.{fmt}", data=post_fields(description=description, **fields), timeout=30)


def test_an_api_keys_posts_past_its_limit_are_refused_and_not_recorded(open311_root, database_url, clock):
    for n in range(2):
        assert post(open311_root, n).status_code == 200
    refused = post(open311_root, 2)
    assert refused.status_code == 429
    [error] = json.loads(refused.text)
    assert error["code"] == 429 and "api_key" in error["description"]
    assert 0 < int(refused.headers["Retry-After"]) <= open311.POST_WINDOW.total_seconds()
    as_xml = post(open311_root, 3, fmt="xml")
    assert as_xml.status_code == 429
    assert ElementTree.fromstring(as_xml.content).findtext("error/code") == "429"
    assert row_counts(database_url)["reports"] == 2
    assert post(open311_root, 4, api_key=OTHER_KEY).status_code == 200  # another key has its own limit
    clock.advance(open311.POST_WINDOW)
    assert post(open311_root, 5).status_code == 200
    assert row_counts(database_url)["reports"] == 4

