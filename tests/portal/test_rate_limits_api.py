"""The REST API's limits through real HTTP, with small limits: each key's budget of requests and of
reports a minute, and keys that are not valid per address; each a 429 problem with Retry-After that
stores nothing and leaves other keys and addresses alone."""

from datetime import timedelta

import pytest

from services.portal import api
from tests.portal.api_support import (ApiClient, problem, report_body, stored, submit,  # noqa: F401 (fixtures)
                                      app_api, clients, keys, public_api, root, serve_api)
from tests.portal.test_rate_limits import from_address


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    """Limits small enough to reach in a test, set before the API is made."""
    monkeypatch.setattr(api, "REQUESTS_PER_KEY", 4)
    monkeypatch.setattr(api, "SUBMISSIONS_PER_KEY", 2)
    monkeypatch.setattr(api, "FAILED_KEYS_PER_ADDRESS", 3)


def too_many(response, within: timedelta) -> dict:
    """The problem of a request over a limit, after checking its wait."""
    refusal = problem(response, 429)
    assert 0 < int(response.headers["Retry-After"]) <= within.total_seconds()
    assert refusal["title"] == "Too Many Requests"
    return refusal


def test_a_keys_reports_past_its_budget_are_refused_and_stored_nowhere(clients, database_url, clock):
    app_1, app_2 = clients["app-1"], clients["app-2"]
    submit(app_1, "k-1")
    submit(app_1, "k-2")
    before = stored(database_url)
    refused = app_1.post("/reports", json=report_body(), headers={"Idempotency-Key": "k-3"})
    assert "reports of the minute" in too_many(refused, api.KEY_WINDOW)["detail"]
    assert stored(database_url) == before
    submit(app_2, "k-3")  # another app's key has its own budget
    clock.advance(api.KEY_WINDOW)
    submit(app_1, "k-3")
    assert stored(database_url)["reports"] == 4


def test_a_keys_requests_past_its_budget_are_refused_whatever_they_ask(clients, database_url, clock):
    agency, other_agency, app_1 = clients["pupr"], clients["banjarmasin"], clients["app-1"]
    for _ in range(4):
        assert agency.get("/agency/reports").status_code == 200
    assert "requests of the minute" in too_many(agency.get("/agency/reports"), api.KEY_WINDOW)["detail"]
    assert other_agency.get("/agency/reports").status_code == 200
    for n in range(4):  # refused by intake, counted all the same
        assert app_1.get("/reports/LAP-AAAA0001", headers={"X-Access-Code": f"salah-{n}"}).status_code == 403
    before = stored(database_url)
    too_many(app_1.post("/reports", json=report_body(), headers={"Idempotency-Key": "k-1"}), api.KEY_WINDOW)
    assert stored(database_url) == before
    clock.advance(api.KEY_WINDOW)
    assert agency.get("/agency/reports").status_code == 200
    submit(app_1, "k-1")


def test_an_address_that_keeps_presenting_bad_keys_is_refused_even_a_good_one(root, keys, app_api, database_url,
                                                                            clock):
    for n in range(3):
        wrong = ApiClient(root, f"sp4n_00000000.bukan-kunci-{n}")
        assert problem(wrong.post("/reports", json=report_body(), headers={"Idempotency-Key": "k-1"}), 401)
        wrong.close()
    refused = app_api.post("/reports", json=report_body(), headers={"Idempotency-Key": "k-1"})
    assert "not valid" in too_many(refused, api.FAILED_KEY_WINDOW)["detail"]
    assert stored(database_url)["reports"] == 0
    assert app_api.get("/public/reports").status_code == 200  # what needs no key is served still
    elsewhere = ApiClient(root, keys["app-1"][1])
    from_address(elsewhere.session)
    submit(elsewhere, "k-1")  # the same key from another address
    elsewhere.close()
    clock.advance(api.FAILED_KEY_WINDOW)
    submit(app_api, "k-2")
    assert stored(database_url)["reports"] == 2


def test_a_request_without_a_key_is_not_a_failed_key(public_api, app_api):
    for _ in range(4):
        assert problem(public_api.post("/reports", json=report_body(), headers={"Idempotency-Key": "k-1"}), 401)
    submit(app_api, "k-1")
