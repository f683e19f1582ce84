"""The rules of staff accounts, without a database: who manages whom, what a new account must be, the
lock after failed sign-ins, and the password hashes."""

from datetime import datetime, timedelta, timezone

import pytest

from services.plumbing import passwords
from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST
from services.portal import staff_accounts as rules
from services.portal.staff_accounts import Invalid, NewStaffAccount, SignInState, StaffAccount
from services.portal.staff_session import safe_next

T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)
PUPR, DINKES = "kab-tanah-bumbu-dinas-pupr", "kab-tanah-bumbu-dinas-kesehatan"


def account(n: int, role: str, agency_id: str = "") -> StaffAccount:
    return StaffAccount(id=n, username=f"staf-{n}", role=role, agency_id=agency_id, created_at=T0)


NATIONAL = account(1, NATIONAL_ADMIN)
PUPR_ADMIN = account(2, AGENCY_ADMIN, PUPR)


def test_an_agency_administrator_makes_only_agency_accounts_of_their_agency():
    assert rules.roles_made_by(PUPR_ADMIN) == (AGENCY_ADMIN, LIAISON_OFFICER)
    assert rules.may_make(PUPR_ADMIN, LIAISON_OFFICER, PUPR)
    assert not rules.may_make(PUPR_ADMIN, LIAISON_OFFICER, DINKES)
    assert not rules.may_make(PUPR_ADMIN, PROCESS_ANALYST, "")
    assert all(rules.may_make(NATIONAL, role, "") for role in rules.ROLES)
    assert rules.roles_made_by(account(3, LIAISON_OFFICER, PUPR)) == ()
    assert not rules.may_make(account(4, PROCESS_ANALYST), PROCESS_ANALYST, "")


def test_no_one_disables_their_own_account():
    assert not rules.may_disable(NATIONAL, NATIONAL)
    assert not rules.may_disable(PUPR_ADMIN, PUPR_ADMIN)
    assert rules.may_disable(PUPR_ADMIN, account(5, AGENCY_ADMIN, PUPR))
    assert rules.may_disable(NATIONAL, PUPR_ADMIN)


def test_a_new_account_is_kept_in_lowercase_and_every_problem_is_named():
    made = rules.check_new_account(NewStaffAccount(" Petugas.PUPR ", "x" * 12, LIAISON_OFFICER, " Kab-Tanah-Bumbu "))
    assert (made.username, made.agency_id) == ("petugas.pupr", "kab-tanah-bumbu")
    with pytest.raises(Invalid) as refused:
        rules.check_new_account(NewStaffAccount("ab", "x" * 11, AGENCY_ADMIN, ""))
    assert sorted(refused.value.problems) == ["agency_id", "password", "username"]
    with pytest.raises(Invalid) as refused:
        rules.check_new_account(NewStaffAccount("analis", "x" * 201, PROCESS_ANALYST, PUPR))
    assert sorted(refused.value.problems) == ["agency_id", "password"]


def test_the_fifth_failure_within_the_window_locks_for_the_lock_time():
    state = SignInState()
    for minute in range(rules.MAX_FAILURES - 1):
        state = rules.after_failure(state, T0 + timedelta(minutes=minute))
        assert not rules.is_locked(state, T0 + timedelta(minutes=minute))
    locked_at = T0 + timedelta(minutes=14)
    state = rules.after_failure(state, locked_at)
    assert rules.is_locked(state, locked_at + rules.LOCK_TIME - timedelta(seconds=1))
    assert not rules.is_locked(state, locked_at + rules.LOCK_TIME)
    assert rules.after_failure(state, locked_at + rules.LOCK_TIME).failures == 1  # a fresh count


def test_a_failure_after_the_window_starts_a_fresh_count():
    state = SignInState()
    for _ in range(rules.MAX_FAILURES - 1):
        state = rules.after_failure(state, T0)
    state = rules.after_failure(state, T0 + rules.FAILURE_WINDOW)
    assert (state.failures, state.failing_since, state.locked_until) == (1, T0 + rules.FAILURE_WINDOW, None)


def test_a_password_hash_keeps_its_parameters_and_a_salt_of_its_own():
    first, second = passwords.hash_password("rahasia-petugas"), passwords.hash_password("rahasia-petugas")
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert passwords.password_matches("rahasia-petugas", first)
    assert not passwords.password_matches("rahasia-petugaS", first)
    assert not passwords.password_matches("x" * (passwords.MAX_LENGTH + 1), first)


@pytest.mark.parametrize("value, safe", [
    ("/staf", "/staf"), ("/staf/akun?setelah=analis", "/staf/akun?setelah=analis"), ("/staf?lang=en", "/staf?lang=en"),
    ("", ""), (None, ""), ("/stafx", ""), ("//contoh.id/staf", ""), ("https://contoh.id/staf", ""),
    ("/akun/laporan", ""), ("/staf/\\contoh.id", ""), ("/staf/\r\nSet-Cookie: x", ""), ("/staf/" + "a" * 600, ""),
])
def test_sign_in_leads_on_only_to_a_staff_page(value, safe):
    assert safe_next(value) == safe
