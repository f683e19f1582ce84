"""Reporter accounts: registration, sign-in and the lock after repeated failures. The rules alone, then
through a real gRPC server and PostgreSQL with the service's clock moved by the tests."""

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone

import grpc
import psycopg
import pytest

from services.intake import accounts
from services.intake.accounts import SignInState
from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (ADMIN, PASSWORD, SLA, T0, create_account, field_violation, refused, reporter,
                                  sign_in)

MINUTE = timedelta(minutes=1)


def test_a_password_hash_carries_its_parameters_and_salt():
    stored = accounts.hash_password(PASSWORD)
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert stored != accounts.hash_password(PASSWORD)  # another salt
    assert accounts.password_matches(PASSWORD, stored)
    assert not accounts.password_matches(PASSWORD + "!", stored)


def test_a_hash_made_with_other_parameters_still_verifies():
    """So the cost can be raised for new hashes without locking anyone out."""
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=1024, r=4, p=2, dklen=32)
    stored = f"scrypt$1024$4$2${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    assert accounts.password_matches(PASSWORD, stored)
    assert not accounts.password_matches("another password", stored)


def test_the_fifth_failure_within_fifteen_minutes_locks_the_account_for_fifteen_minutes():
    state = SignInState()
    for minute in range(4):
        state = accounts.after_failure(state, T0 + minute * MINUTE)
        assert not accounts.is_locked(state, T0 + minute * MINUTE)
    state = accounts.after_failure(state, T0 + 14 * MINUTE)
    assert accounts.is_locked(state, T0 + 28 * MINUTE) and not accounts.is_locked(state, T0 + 29 * MINUTE)


def test_failures_further_apart_than_the_window_start_the_count_again():
    state = SignInState()
    for minute in (0, 1, 2, 3, 15, 16, 17, 18):
        state = accounts.after_failure(state, T0 + minute * MINUTE)
    assert not accounts.is_locked(state, T0 + 18 * MINUTE)
    assert state.failures == 4


def test_an_account_is_created_with_its_password_hashed(stub, database_url):
    account = create_account(stub, email=" Siti@Contoh.id ", name=" Siti Rahmah ", phone="0812-3456-7890")
    assert (account.id, account.email, account.name, account.phone) == (
        "account:1", "Siti@Contoh.id", "Siti Rahmah", "6281234567890")
    assert T0 <= account.created_at.ToDatetime(tzinfo=timezone.utc) < T0 + MINUTE  # the service's clock
    with psycopg.connect(database_url) as conn:
        [stored] = conn.execute("SELECT password_hash FROM intake.reporter_accounts").fetchone()
    assert stored.startswith("scrypt$") and PASSWORD not in stored


def account_rows(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.reporter_accounts").fetchone()[0]


def test_a_repeated_key_returns_the_same_account(stub, database_url):
    first = create_account(stub, "acc-1")
    assert create_account(stub, "acc-1", email="lain@contoh.id", password="kata-sandi-lain") == first
    assert account_rows(database_url) == 1


def test_an_address_registered_already_in_any_case_is_refused(stub, database_url):
    create_account(stub, "acc-1", "siti@contoh.id")
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, create_account, stub, "acc-2", "SITI@contoh.ID")
    assert field_violation(error) == "email"
    assert account_rows(database_url) == 1


@pytest.mark.parametrize("fields, field", [
    (dict(password="x" * 9), "password"), (dict(password="x" * 201), "password"), (dict(password=""), "password"),
    (dict(email=""), "email"), (dict(email="siti.contoh.id"), "email"), (dict(email="x" * 250 + "@a.id"), "email"),
    (dict(phone="0212345678"), "phone"), (dict(name="n" * 121), "name"), (dict(name="Siti\nRahmah"), "name"),
    (dict(key=""), "idempotency_key"),
])
def test_a_bad_registration_names_the_field_and_stores_nothing(stub, database_url, fields, field):
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, create_account, stub, **fields)
    assert field_violation(error) == field
    assert account_rows(database_url) == 0


def test_passwords_of_ten_to_two_hundred_characters_are_taken(stub):
    create_account(stub, "acc-1", "a@contoh.id", password="x" * 10)
    create_account(stub, "acc-2", "b@contoh.id", password="ü" * 200)
    assert sign_in(stub, "b@contoh.id", "ü" * 200).id == "account:2"


def test_only_the_portal_registers_and_signs_in(stub, database_url):
    create_account(stub)
    for metadata in (SLA, ADMIN, reporter("LAP-AAAA0001")):
        refused(grpc.StatusCode.PERMISSION_DENIED, stub.CreateReporterAccount, pb.CreateReporterAccountRequest(
            idempotency_key="acc-9", email="budi@contoh.id", password=PASSWORD), metadata=metadata)
        refused(grpc.StatusCode.PERMISSION_DENIED, sign_in, stub, metadata=metadata)
    assert account_rows(database_url) == 1


def test_signing_in_finds_the_account_by_its_address_in_any_case(stub):
    account = create_account(stub)
    assert sign_in(stub, "  SITI@contoh.id ") == account


def test_a_wrong_password_and_an_unknown_address_are_told_apart_by_nothing(stub, monkeypatch):
    create_account(stub)
    hashed_against = []
    matches = accounts.password_matches
    monkeypatch.setattr(accounts, "password_matches",
                        lambda password, stored: hashed_against.append(stored) or matches(password, stored))
    wrong = refused(grpc.StatusCode.UNAUTHENTICATED, sign_in, stub, password="bukan-kata-sandinya")
    unknown = refused(grpc.StatusCode.UNAUTHENTICATED, sign_in, stub, email="budi@contoh.id")
    assert wrong.details() == unknown.details()
    assert hashed_against[1] == accounts.DECOY_HASH != hashed_against[0]


def fail(stub, times: int, email: str = "siti@contoh.id") -> None:
    for _ in range(times):
        refused(grpc.StatusCode.UNAUTHENTICATED, sign_in, stub, email, "bukan-kata-sandinya")


def test_five_failures_lock_the_account_for_fifteen_minutes_even_for_the_right_password(stub, clock):
    create_account(stub)
    fail(stub, 5)
    refused(grpc.StatusCode.RESOURCE_EXHAUSTED, sign_in, stub)
    clock.advance(14 * MINUTE)
    refused(grpc.StatusCode.RESOURCE_EXHAUSTED, sign_in, stub)
    clock.advance(MINUTE + timedelta(seconds=1))
    assert sign_in(stub).id == "account:1"


def test_a_lock_ends_with_a_fresh_count(stub, clock):
    create_account(stub)
    fail(stub, 5)
    clock.advance(16 * MINUTE)
    fail(stub, 4)
    assert sign_in(stub).id == "account:1"


def test_failures_spread_wider_than_fifteen_minutes_do_not_lock(stub, clock):
    create_account(stub)
    fail(stub, 4)
    clock.advance(15 * MINUTE)
    fail(stub, 4)
    assert sign_in(stub).id == "account:1"


def test_a_success_clears_the_count(stub):
    create_account(stub)
    fail(stub, 4)
    sign_in(stub)
    fail(stub, 4)
    assert sign_in(stub).id == "account:1"


def test_a_lock_is_the_accounts_own(stub):
    create_account(stub, "acc-1", "siti@contoh.id")
    create_account(stub, "acc-2", "budi@contoh.id")
    fail(stub, 5, "siti@contoh.id")
    assert sign_in(stub, "budi@contoh.id").id == "account:2"
    fail(stub, 7, "nobody@contoh.id")  # no account, nothing to lock: always the same answer


def test_concurrent_failures_are_each_counted_once(stub):
    create_account(stub)

    def attempt(_):
        try:
            sign_in(stub, password="bukan-kata-sandinya")
        except grpc.RpcError as e:
            return e.code()

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(8)))
    assert sorted(codes, key=str) == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3 + [grpc.StatusCode.UNAUTHENTICATED] * 5
    refused(grpc.StatusCode.RESOURCE_EXHAUSTED, sign_in, stub)


def test_a_password_longer_than_any_can_be_is_simply_wrong(stub):
    create_account(stub)
    refused(grpc.StatusCode.UNAUTHENTICATED, sign_in, stub, password=PASSWORD + "x" * 1_000_000)
