"""Reporter accounts: optional, for following one's reports in one place. Types and rules only.

Passwords are kept as scrypt hashes (services/plumbing/passwords.py, as staff passwords are). Failed
sign-ins are counted: the fifth within 15 minutes locks the account for 15 minutes, whatever password
comes next.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.intake.domain import text
from services.intake.submission import MAX_NAME, check_email, check_phone
from services.plumbing.errors import InvalidArgument
# hash_password and password_matches are the accounts' own words for the shared hashing.
from services.plumbing.passwords import MAX_LENGTH, decoy_hash, hash_password, password_matches  # noqa: F401

PASSWORD_LENGTH = (10, MAX_LENGTH)

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ReporterAccount:
    id: str  # "account:<n>", the subject of the reporter identity that acts for it
    email: str
    name: str
    phone: str
    created_at: datetime


@dataclass(frozen=True)
class SignInState:
    """An account's recent failed sign-ins."""
    failures: int = 0
    failing_since: datetime | None = None  # the first failure of those counted
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Credentials:
    """What signing in to an account checks."""
    account: ReporterAccount
    password_hash: str
    sign_in: SignInState


def check_password(value: str) -> str:
    low, high = PASSWORD_LENGTH
    if not low <= len(value) <= high:
        raise InvalidArgument("password", f"must be {low} to {high} characters")
    return value


def check_new_account(account: NewAccount) -> NewAccount:
    email = check_email(account.email, "email")
    if not email:
        raise InvalidArgument("email", "is required")
    return replace(account, email=email, password=check_password(account.password),
                   name=text(account.name, "name", max_length=MAX_NAME), phone=check_phone(account.phone, "phone"))


# Hashed against when no account has the e-mail address, so that a sign-in takes as long either way.
DECOY_HASH = decoy_hash()


def is_locked(state: SignInState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: SignInState, now: datetime) -> SignInState:
    """The state after one more failed sign-in: counted from the first failure within the window, and
    the one that makes MAX_FAILURES locks the account (a fresh count starts when the lock ends)."""
    if state.failing_since is None or now - state.failing_since >= FAILURE_WINDOW:
        state = SignInState(failing_since=now)
    if state.failures + 1 >= MAX_FAILURES:
        return SignInState(locked_until=now + LOCK_TIME)
    return replace(state, failures=state.failures + 1)
