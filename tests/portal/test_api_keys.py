"""API keys: made, listed and revoked from the command line, kept only as hashes, checked on every
request that needs one, and of the kind the request needs."""

import logging
import os
import subprocess
import sys

import psycopg
import pytest

from services.portal import api_keys
from tests.portal.api_support import (ApiClient, problem, report_body, agency_api, app_api, clients,  # noqa: F401
                                      keys, public_api, root, serve_api)
from tests.support import IDENTITY_KEY, ROOT


def cli(database_url, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.portal.api_keys", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "DATABASE_URL": database_url})


def test_the_command_line_makes_lists_and_revokes_keys_showing_a_key_only_once(database_url, root):
    made = cli(database_url, "create", "--name", "kabupaten-app", "--kind", "app")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith(api_keys.KEY_TAG) and len(key) > 50 and "not shown again" in made.stderr
    agency = cli(database_url, "create", "--name", "pupr-system", "--kind", "agency", "--agency-id", "tanah-bumbu-pupr")
    assert agency.returncode == 0, agency.stderr

    listed = cli(database_url, "list")
    assert listed.returncode == 0 and key not in listed.stdout
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["kabupaten-app", "app", "-"], ["pupr-system", "agency", "tanah-bumbu-pupr"]]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT * FROM portal.api_keys").fetchall()
    assert not any(key in str(value) or key.split(".")[1] in str(value) for row in rows for value in row)

    client = ApiClient(root, key)
    assert client.get("/reports/LAP-7K3QX9MA").status_code != 401  # accepted as a key
    assert cli(database_url, "revoke", "kabupaten-app").returncode == 0
    assert "revoked" in cli(database_url, "list").stdout.splitlines()[0]
    assert problem(client.get("/reports/LAP-7K3QX9MA"), 401)
    client.close()


@pytest.mark.parametrize("args, message", [
    (["create", "--name", "x", "--kind", "app"], "name"),
    (["create", "--name", "pupr", "--kind", "agency"], "--agency-id"),
    (["create", "--name", "app", "--kind", "app", "--agency-id", "pupr"], "--agency-id"),
    (["revoke", "no-such-key"], "no active key"),
])
def test_the_command_line_refuses_what_it_cannot_do(database_url, args, message):
    done = cli(database_url, *args)
    assert done.returncode == 1 and message in done.stderr and not done.stdout


def test_a_name_is_taken_once(database_url):
    assert cli(database_url, "create", "--name", "app-x", "--kind", "app").returncode == 0
    again = cli(database_url, "create", "--name", "app-x", "--kind", "app")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_key_comes_as_a_bearer_token_or_in_x_api_key(root, keys):
    _, secret = keys["pupr"]
    for client in (ApiClient(root, secret), ApiClient(root, secret, header="x-api-key")):
        assert client.get("/agency/reports").status_code != 401
        client.close()


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-API-Key": "sp4n_00000000.not-a-key-of-this-portal"},
    {"Authorization": "Bearer sp4n_00000000.not-a-key-of-this-portal"},
    {"X-API-Key": "no-prefix-at-all"},
    {"X-API-Key": "x" * 5000},
])
def test_a_request_without_a_valid_key_is_unauthorised(public_api, headers):
    refused = problem(public_api.post("/reports", json=report_body(), headers={"Idempotency-Key": "k", **headers}),
                      401)
    assert refused["title"] == "Unauthorized"
    response = public_api.get("/agency/reports", headers=headers)
    assert problem(response, 401) and response.headers["WWW-Authenticate"].startswith('Bearer realm="sp4n-api"')


def test_a_present_but_unknown_key_is_named_an_invalid_token(public_api):
    response = public_api.get("/agency/reports", headers={"X-API-Key": "sp4n_00000000.nope"})
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "error" not in public_api.get("/agency/reports").headers["WWW-Authenticate"]


def test_a_revoked_key_is_unauthorised(pool, app_api):
    assert app_api.get("/reports/LAP-7K3QX9MA").status_code != 401
    with pool.connection() as conn:
        assert api_keys.revoke(conn, "app-1")
        assert not api_keys.revoke(conn, "app-1")
    assert problem(app_api.get("/reports/LAP-7K3QX9MA"), 401)


def test_a_key_of_the_wrong_kind_is_forbidden(app_api, agency_api):
    assert "app key" in problem(agency_api.post("/reports", json=report_body(), headers={"Idempotency-Key": "k"}),
                                403)["detail"]
    assert problem(agency_api.post("/public/reports/LAP-7K3QX9MA/support", json={"supporter": "s"}), 403)
    assert problem(agency_api.post("/reports/LAP-7K3QX9MA/replies", json={"body": "Terima kasih."}), 403)
    assert problem(app_api.post("/reports/LAP-7K3QX9MA/follow-ups", json={"body": "Sudah diperbaiki."}), 403)
    assert "agency key" in problem(app_api.get("/agency/reports"), 403)["detail"]


def test_the_demo_key_is_made_once_and_logged(pool, caplog, root):
    with caplog.at_level(logging.INFO, logger="services.portal.api_keys"):
        api_keys.ensure_demo_key(pool, IDENTITY_KEY)
        api_keys.ensure_demo_key(pool, IDENTITY_KEY)
    key = api_keys.demo_key(IDENTITY_KEY)
    assert [r.getMessage() for r in caplog.records] == [f"demo API key (demo-app, app): {key}"] * 2
    with pool.connection() as conn:
        assert [(k.name, k.kind) for k in api_keys.list_keys(conn)] == [("demo-app", "app")]
    client = ApiClient(root, key)
    assert client.get("/reports/LAP-7K3QX9MA").status_code != 401
    client.close()


def test_a_start_with_another_identity_key_makes_its_own_demo_key_the_one_that_works(pool, root):
    earlier, later = "an-earlier-start-identity-key-0123456789", "a-later-start-identity-key-9876543210"
    api_keys.ensure_demo_key(pool, earlier)
    with pool.connection() as conn:
        api_keys.revoke(conn, api_keys.DEMO_NAME)
    api_keys.ensure_demo_key(pool, later)
    with pool.connection() as conn:
        assert [k.name for k in api_keys.list_keys(conn)] == ["demo-app"]
    for identity_key, works in ((earlier, False), (later, True)):
        client = ApiClient(root, api_keys.demo_key(identity_key))
        assert (client.get("/reports/LAP-7K3QX9MA").status_code != 401) is works
        client.close()
