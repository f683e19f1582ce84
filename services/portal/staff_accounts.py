"""Staff accounts of the portal: national administrators, agency administrators, liaison officers and
process analysts. Types and rules only (no SQL, no Flask).

Who manages whom: a national administrator makes accounts of every role and disables, enables again and
resets the password of any account; an agency administrator does so for the agency administrators and
liaison officers of their own agency only. No one disables, enables or resets their own account, so that
the last administrator cannot lock everyone out and no one lifts a disabling decided by someone else
(a staff member changes their own password, knowing the current one).

Passwords: 12 to 200 characters, whoever sets them. A reset gives a temporary password, shown once to
the administrator, which its account must replace at its next sign-in before any other page.

Signing in: the fifth failed attempt within 15 minutes locks the account for 15 minutes, whatever
password comes next; a success clears the count.
"""

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from services.plumbing import passwords
from services.plumbing.passwords import (FAILURE_WINDOW, LOCK_TIME, MAX_FAILURES, SignInState,  # noqa: F401
                                         after_failure, is_locked)  # the lockout rule of reporter accounts too
from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST

ROLES = (NATIONAL_ADMIN, AGENCY_ADMIN, LIAISON_OFFICER, PROCESS_ANALYST)
AGENCY_ROLES = (AGENCY_ADMIN, LIAISON_OFFICER)  # they belong to an agency; the others to none
MANAGERS = (NATIONAL_ADMIN, AGENCY_ADMIN)

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
AGENCY_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")  # as routing names agencies, e.g. kab-tanah-bumbu
PASSWORD_LENGTH = (12, passwords.MAX_LENGTH)


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str
    role: str
    agency_id: str
    created_at: datetime
    disabled_at: datetime | None = None
    last_signed_in_at: datetime | None = None
    must_change_password: bool = False  # a temporary password (after a reset): set one before any other page

    @property
    def subject(self) -> str:
        """The subject of the caller identity the portal signs for this account."""
        return f"staff:{self.id}"

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class NewStaffAccount:
    username: str
    password: str
    role: str
    agency_id: str = ""


class Refused(Exception):
    """The acting account may not do this; nothing was changed."""


class NoSuchAccount(LookupError):
    """There is no account by that id."""


class Invalid(ValueError):
    """A new account that cannot be made as asked: each field that is wrong, and what is wrong with
    it in a short English phrase (pages show their own wording for each field)."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


class WrongPassword(ValueError):
    """The current password given to change it is not the account's; nothing was changed."""


TAKEN = "is taken"
TEMPORARY_PASSWORD_BYTES = 12  # 16 characters of base64url: within PASSWORD_LENGTH, some 96 bits


def temporary_password() -> str:
    """A random password for a reset, given to its owner by the administrator and replaced at sign-in."""
    return secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)


def password_problem(password: str) -> str | None:
    """What is wrong with a password anyone sets (made, changed), or None."""
    low, high = PASSWORD_LENGTH
    return None if low <= len(password) <= high else f"must be {low} to {high} characters"


def check_password(password: str) -> str:
    """The password, if it may be set; Invalid naming "password" otherwise."""
    if (problem := password_problem(password)) is not None:
        raise Invalid({"password": problem})
    return password


def normal_username(typed: str) -> str:
    """A username as typed, as it is kept: without surrounding spaces, in lowercase."""
    return typed.strip().lower()


def normalised(new: NewStaffAccount) -> NewStaffAccount:
    """The account asked for, its username and agency as they are kept."""
    return replace(new, username=normal_username(new.username), agency_id=new.agency_id.strip().lower())


def check_new_account(new: NewStaffAccount) -> NewStaffAccount:
    """The (normalised) account to make; Invalid naming every field that is wrong."""
    new = normalised(new)
    problems = {}
    if not USERNAME.fullmatch(new.username):
        problems["username"] = "3 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
    if (problem := password_problem(new.password)) is not None:
        problems["password"] = problem
    if new.role not in ROLES:
        problems["role"] = f"one of {', '.join(ROLES)}"
    elif new.role in AGENCY_ROLES and not AGENCY_ID.fullmatch(new.agency_id):
        problems["agency_id"] = "an agency account needs its agency's id, such as kab-tanah-bumbu-dinas-pupr"
    elif new.role not in AGENCY_ROLES and new.agency_id:
        problems["agency_id"] = "a national account belongs to no agency"
    if problems:
        raise Invalid(problems)
    return new


def manages_accounts(actor: StaffAccount) -> bool:
    return actor.role in MANAGERS


def roles_made_by(actor: StaffAccount) -> tuple[str, ...]:
    """The roles of the accounts `actor` may make."""
    return ROLES if actor.role == NATIONAL_ADMIN else AGENCY_ROLES if actor.role == AGENCY_ADMIN else ()


def may_make(actor: StaffAccount, role: str, agency_id: str) -> bool:
    if actor.role == NATIONAL_ADMIN:
        return True
    return actor.role == AGENCY_ADMIN and role in AGENCY_ROLES and agency_id == actor.agency_id


def may_disable(actor: StaffAccount, account: StaffAccount) -> bool:
    """Whether `actor` may disable `account`: also whether they may enable it again or reset its password."""
    if actor.id == account.id:
        return False
    return may_make(actor, account.role, account.agency_id)


may_enable = may_reset_password = may_disable


def agency_seen_by(actor: StaffAccount) -> str | None:
    """The agency whose accounts `actor` sees in the account list; None: every account."""
    return None if actor.role == NATIONAL_ADMIN else actor.agency_id


