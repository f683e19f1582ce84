"""Reporter accounts: optional, for following one's reports in one place. Types and rules only.

Passwords are kept as scrypt hashes (services/plumbing/passwords.py, as staff passwords are). Failed
sign-ins are counted: the fifth within 15 minutes locks the account for 15 minutes, whatever password
comes next.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from services.intake.domain import text
from services.intake.submission import MAX_NAME, check_email, check_phone
from services.plumbing.errors import InvalidArgument
# The hashing and the lockout rule are shared with staff accounts; these names are the accounts' own.
from services.plumbing.passwords import (FAILURE_WINDOW, LOCK_TIME, MAX_FAILURES, MAX_LENGTH, SignInState,  # noqa: F401
                                         after_failure, decoy_hash, hash_password, is_locked, password_matches)

PASSWORD_LENGTH = (10, MAX_LENGTH)


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


