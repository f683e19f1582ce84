"""The first national administrator from the command line, and the demo staff accounts of `make run`."""

import logging
import os
import subprocess
import sys

import psycopg
import pytest

from services.plumbing import identity
from services.portal import staff, staff_demo
from services.portal.staff_accounts import NewStaffAccount
from services.portal.staff_service import StaffService
from tests.portal.test_staff_sign_in import sign_in, staff_table
from tests.support import IDENTITY_KEY, ROOT

PASSWORD = "kata-sandi-pertama-1708"


def cli(database_url, *args, password: str = PASSWORD) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.portal.staff", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, input=password + "\n",
                          env={**os.environ, "DATABASE_URL": database_url})


def test_the_command_line_makes_the_first_national_administrator_who_can_sign_in(database_url, visitor):
    made = cli(database_url, "create", "--username", "Admin-Pusat", "--role", "national_admin", "--password-stdin")
    assert made.returncode == 0, made.stderr
    assert made.stderr.strip() == "created national_admin account admin-pusat"
    [row] = staff_table(database_url)
    assert PASSWORD not in str(row)
    person = visitor()
    assert sign_in(person, "admin-pusat", PASSWORD).status_code == 303
    assert person.get("/staf/akun").status_code == 200


def test_the_command_line_makes_an_agency_account(database_url):
    made = cli(database_url, "create", "--username", "admin-pupr", "--role", "agency_admin", "--agency-id",
               "kab-tanah-bumbu-dinas-pupr", "--password-stdin")
    assert made.returncode == 0, made.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT role, agency_id, created_by FROM portal.staff_accounts").fetchall() == [
            ("agency_admin", "kab-tanah-bumbu-dinas-pupr", None)]


@pytest.mark.parametrize("args, password, said", [
    (["--username", "admin-pusat", "--role", "national_admin"], "pendek", "password: must be 12 to 200 characters"),
    (["--username", "a", "--role", "national_admin"], PASSWORD, "username: 3 to 64 characters"),
    (["--username", "petugas", "--role", "liaison_officer"], PASSWORD, "agency_id: an agency account needs"),
    (["--username", "analis", "--role", "process_analyst", "--agency-id", "kab-tanah-bumbu"], PASSWORD,
     "agency_id: a national account belongs to no agency"),
])
def test_the_command_line_refuses_an_account_that_cannot_be_made(database_url, args, password, said):
    made = cli(database_url, "create", *args, "--password-stdin", password=password)
    assert made.returncode == 1
    assert said in made.stderr
    assert staff_table(database_url) == []


def test_the_command_line_refuses_a_username_that_is_taken(database_url):
    assert cli(database_url, "create", "--username", "admin-pusat", "--role", "national_admin",
               "--password-stdin").returncode == 0
    before = staff_table(database_url)
    again = cli(database_url, "create", "--username", "ADMIN-PUSAT", "--role", "process_analyst", "--password-stdin")
    assert again.returncode == 1
    assert "an account named admin-pusat already exists" in again.stderr
    assert staff_table(database_url) == before


def test_the_command_line_refuses_an_unknown_role(database_url):
    made = cli(database_url, "create", "--username", "admin-pusat", "--role", "superuser", "--password-stdin")
    assert made.returncode == 2 and "invalid choice" in made.stderr


def test_without_password_stdin_the_password_is_asked_for_twice(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    typed = iter([PASSWORD, "sesuatu-yang-lain-1708", PASSWORD, PASSWORD])
    monkeypatch.setattr(staff.getpass, "getpass", lambda prompt: next(typed))
    args = ["create", "--username", "admin-pusat", "--role", "national_admin"]
    assert staff.main(args) == 1
    assert "the two passwords are not the same" in capsys.readouterr().err
    assert staff_table(database_url) == []
    assert staff.main(args) == 0
    assert len(staff_table(database_url)) == 1


def test_the_demo_accounts_are_made_once_logged_and_can_sign_in(pool, clock, database_url, visitor, caplog):
    service = StaffService(pool=pool, clock=clock)
    with caplog.at_level(logging.INFO, logger="services.portal.staff_demo"):
        first = staff_demo.ensure(service, IDENTITY_KEY)
        made = staff_table(database_url)
        again = staff_demo.ensure(service, IDENTITY_KEY)
    assert staff_table(database_url) == made  # nothing changed, not even a password hash
    assert [(a.username, a.role, a.agency_id) for a, _ in first] == [
        ("admin-nasional", identity.NATIONAL_ADMIN, ""),
        ("admin-pupr-tanbu", identity.AGENCY_ADMIN, "kab-tanah-bumbu-dinas-pupr"),
        ("petugas-pupr-tanbu", identity.LIAISON_OFFICER, "kab-tanah-bumbu-dinas-pupr"),
        ("analis", identity.PROCESS_ANALYST, ""),
        ("admin-tanbu", identity.AGENCY_ADMIN, "kab-tanah-bumbu"),
    ]
    assert [(a.id, p) for a, p in again] == [(a.id, p) for a, p in first]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:5] == lines[5:]
    assert lines[0] == f"demo staff account admin-nasional / {first[0][1]} (national_admin)"
    assert lines[1] == f"demo staff account admin-pupr-tanbu / {first[1][1]} (agency_admin, kab-tanah-bumbu-dinas-pupr)"
    for account, password in first:
        assert len(password) >= 12 and password not in str(made)
        assert sign_in(visitor(), account.username, password).status_code == 303


def test_demo_passwords_follow_the_identity_key(pool, clock, visitor):
    service = StaffService(pool=pool, clock=clock)
    [(_, old), *_] = staff_demo.ensure(service, IDENTITY_KEY)
    other_key = "another-identity-key-of-the-next-run-0123"
    [(account, new), *_] = staff_demo.ensure(service, other_key)
    assert new != old
    assert sign_in(visitor(), account.username, old).status_code == 400
    assert sign_in(visitor(), account.username, new).status_code == 303


def test_a_username_of_another_role_is_not_made_a_demo_account(pool, clock, database_url, caplog):
    service = StaffService(pool=pool, clock=clock)
    service.create(None, NewStaffAccount(username="analis", password=PASSWORD, role=identity.NATIONAL_ADMIN))
    with caplog.at_level(logging.WARNING, logger="services.portal.staff_demo"):
        made = staff_demo.ensure(service, IDENTITY_KEY)
    assert [a.username for a, _ in made] == ["admin-nasional", "admin-pupr-tanbu", "petugas-pupr-tanbu", "admin-tanbu"]
    assert "analis exists with another role or agency" in caplog.text
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT role FROM portal.staff_accounts WHERE username = 'analis'").fetchone() == (
            identity.NATIONAL_ADMIN,)


def test_the_command_line_resets_a_password_that_must_be_changed_at_sign_in(database_url, visitor):
    assert cli(database_url, "create", "--username", "admin-pusat", "--role", "national_admin",
               "--password-stdin").returncode == 0
    signed_in_before = visitor()
    assert sign_in(signed_in_before, "admin-pusat", PASSWORD).status_code == 303
    reset = cli(database_url, "reset-password", "--username", "Admin-Pusat", password="")
    assert reset.returncode == 0, reset.stderr
    temporary = reset.stdout.strip()
    assert "must be changed at the next sign-in" in reset.stderr and temporary not in reset.stderr
    assert temporary not in str(staff_table(database_url))
    assert signed_in_before.get("/staf").status_code == 303  # its sessions ended
    assert sign_in(visitor(), "admin-pusat", PASSWORD).status_code == 400
    person = visitor()
    assert sign_in(person, "admin-pusat", temporary).status_code == 303
    assert person.get("/staf").headers["Location"] == "/staf/kata-sandi"


def test_the_command_line_enables_a_disabled_account(database_url, visitor):
    assert cli(database_url, "create", "--username", "admin-pusat", "--role", "national_admin",
               "--password-stdin").returncode == 0
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE portal.staff_accounts SET disabled_at = now()")
    assert sign_in(visitor(), "admin-pusat", PASSWORD).status_code == 400
    enabled = cli(database_url, "enable", "--username", "admin-pusat", password="")
    assert (enabled.returncode, enabled.stderr.strip()) == (0, "enabled admin-pusat")
    assert sign_in(visitor(), "admin-pusat", PASSWORD).status_code == 303
    again = cli(database_url, "enable", "--username", "admin-pusat", password="")
    assert (again.returncode, again.stderr.strip()) == (0, "admin-pusat is active already")


@pytest.mark.parametrize("command", ["reset-password", "enable"])
def test_the_command_line_names_an_unknown_account(database_url, command):
    done = cli(database_url, command, "--username", "tidak-ada", password="")
    assert (done.returncode, done.stderr.strip()) == (1, "error: there is no account named tidak-ada")
    assert staff_table(database_url) == []
