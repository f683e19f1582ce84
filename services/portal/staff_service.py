"""Use cases of staff accounts: signing in, making, listing, disabling and enabling accounts, changing
and resetting passwords. Each method is its own transaction; the rights are those of
services.portal.staff_accounts.

The sessions an account is signed in to are ended in the transaction that makes them wrong to keep: a
changed password ends the account's other sessions (whoever knew the old one is out), a reset ends
all of them, and so do disabling and enabling (a session from before a disabling does not come back
to life with the account).
"""

from psycopg_pool import ConnectionPool

from services.plumbing import passwords
from services.plumbing.clock import Clock
from services.portal import staff_repository as repository
from services.portal.sessions import end_sessions_holding
from services.portal.staff_accounts import (ROLES, TAKEN, USERNAME, Invalid, NewStaffAccount, NoSuchAccount, Refused,
                                            SignInState, StaffAccount, WrongPassword, after_failure, agency_seen_by,
                                            check_new_account, check_password, is_locked, manages_accounts,
                                            may_disable, may_enable, may_make, may_reset_password, normal_username,
                                            normalised, temporary_password)

SESSION_ENTRY = "staff"  # what a staff member's session holds: {"id": <account id>} (staff_session.STAFF)


def end_sessions(conn, account_id: int, *, keep: str | None = None) -> int:
    return end_sessions_holding(conn, SESSION_ENTRY, {"id": account_id}, keep=keep)


class StaffService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock):
        self.pool = pool
        self.clock = clock

    def sign_in(self, username: str, password: str) -> StaffAccount | None:
        """The account these credentials open. None alike for an unknown username, a wrong password, a
        disabled account and a locked one, each after one password hash and the same statements, so
        that neither the answer nor its time tells them apart. A failure counts towards the lock."""
        username = normal_username(username)
        with self.pool.connection() as conn:
            found = repository.credentials(conn, username) if USERNAME.fullmatch(username) else None
        matches = passwords.password_matches(password, found[1] if found else passwords.decoy_hash())
        account_id = found[0].id if found else None
        # Counted under the account's row lock: a concurrent failure may have locked it since it was read.
        with self.pool.connection() as conn, conn.transaction():
            held = repository.sign_in_state_for_update(conn, account_id)
            now = self.clock.now()
            if held is None:
                opened, after = False, SignInState()
            else:
                state, active = held
                if is_locked(state, now) or not active:
                    opened, after = False, state
                else:
                    opened, after = matches, SignInState() if matches else after_failure(state, now)
            repository.record_sign_in(conn, account_id, after, now if opened else None)
        return found[0] if opened else None

    def active_account(self, account_id: int) -> StaffAccount | None:
        """The account by its id, unless it is disabled (or gone)."""
        with self.pool.connection() as conn:
            account = repository.get(conn, account_id)
        return account if account is not None and account.active else None

    def accounts(self, actor: StaffAccount, *, after: str = "", limit: int) -> list[StaffAccount]:
        """The accounts `actor` manages (every one, or their agency's), by username from after `after`."""
        if not manages_accounts(actor):
            raise Refused()
        with self.pool.connection() as conn:
            return repository.list_accounts(conn, agency_id=agency_seen_by(actor), after=after, limit=limit)

    def check(self, actor: StaffAccount | None, new: NewStaffAccount) -> NewStaffAccount:
        """The account `actor` asks to make, as it would be kept: Refused when the actor may not make an
        account of that role and agency (None: the operator at the command line, who may make any);
        Invalid naming every field that is wrong. Changes nothing."""
        asked = normalised(new)
        # A role that is no role at all is a mistake in the form, said as such; any other is a question of rights.
        if actor is not None and (not manages_accounts(actor) or
                                  (asked.role in ROLES and not may_make(actor, asked.role, asked.agency_id))):
            raise Refused()
        return check_new_account(asked)

    def create(self, actor: StaffAccount | None, new: NewStaffAccount) -> StaffAccount:
        """A new account made by `actor`, refused as `check` says; Invalid also when the username is taken."""
        new = self.check(actor, new)
        password_hash = passwords.hash_password(new.password)
        with self.pool.connection() as conn:
            created = repository.add(conn, new, password_hash=password_hash, created_by=actor.id if actor else None,
                                     created_at=self.clock.now())
        if created is None:
            raise Invalid({"username": TAKEN})
        return created

    def disable(self, actor: StaffAccount, account_id: int) -> StaffAccount:
        """Disables an account `actor` manages (not their own): it can no longer sign in, and its
        sessions end at their next request. Disabling a disabled account changes nothing."""
        with self.pool.connection() as conn, conn.transaction():
            account = repository.get(conn, account_id)
            if account is None:
                raise NoSuchAccount()
            if not may_disable(actor, account):
                raise Refused()
            repository.disable(conn, account_id, disabled_by=actor.id, disabled_at=self.clock.now())
            end_sessions(conn, account_id)
            return repository.get(conn, account_id)

    def _managed(self, conn, actor: StaffAccount | None, account_id: int, may) -> StaffAccount:
        """The account, locked for the change `actor` asks (None: the operator at the command line, who
        may change any); NoSuchAccount, or Refused when `may(actor, account)` says no."""
        account = repository.get(conn, account_id, for_update=True)
        if account is None:
            raise NoSuchAccount()
        if actor is not None and not may(actor, account):
            raise Refused()
        return account

    def enable(self, actor: StaffAccount | None, account_id: int) -> StaffAccount:
        """Enables again an account `actor` may disable (not their own): it signs in with its password as
        before. Enabling an active account changes nothing."""
        with self.pool.connection() as conn, conn.transaction():
            self._managed(conn, actor, account_id, may_enable)
            repository.enable(conn, account_id, enabled_by=actor.id if actor else None, enabled_at=self.clock.now())
            end_sessions(conn, account_id)
            return repository.get(conn, account_id)

    def reset_password(self, actor: StaffAccount | None, account_id: int) -> tuple[StaffAccount, str]:
        """Gives an account `actor` may disable (not their own) a temporary password, returned to be shown
        once: the account must set its own at its next sign-in. Its sessions end and its lock, if any, lifts."""
        temporary = temporary_password()
        password_hash = passwords.hash_password(temporary)
        with self.pool.connection() as conn, conn.transaction():
            self._managed(conn, actor, account_id, may_reset_password)
            repository.set_password(conn, account_id, password_hash, must_change=True, changed_at=self.clock.now(),
                                    reset_by=actor.id if actor else None)
            end_sessions(conn, account_id)
            return repository.get(conn, account_id), temporary

    def check_new_password(self, password: str) -> None:
        """Invalid when `password` may not be set (as when an account is made)."""
        check_password(password)

    def change_password(self, actor: StaffAccount, current: str, new: str, *, session_id: str) -> StaffAccount:
        """`actor`'s own password changed, the current one given (WrongPassword otherwise; Invalid for a new
        one that may not be set): a temporary password no longer has to be replaced, and every session of
        the account but `session_id` (the one it was changed in, which the caller rotates) ends."""
        check_password(new)
        with self.pool.connection() as conn:
            stored = repository.password_hash(conn, actor.id)
        if stored is None or not passwords.password_matches(current, stored):
            raise WrongPassword()
        password_hash = passwords.hash_password(new)
        with self.pool.connection() as conn, conn.transaction():
            repository.get(conn, actor.id, for_update=True)
            if repository.password_hash(conn, actor.id) != stored:  # reset or changed since it was checked
                raise WrongPassword()
            repository.set_password(conn, actor.id, password_hash, must_change=False, changed_at=self.clock.now())
            end_sessions(conn, actor.id, keep=session_id)
            return repository.get(conn, actor.id)

    def by_username(self, username: str) -> StaffAccount | None:
        """The account by its username (as typed), active or not."""
        with self.pool.connection() as conn:
            return repository.by_username(conn, normal_username(username))

    def ensure(self, new: NewStaffAccount) -> tuple[StaffAccount, str]:
        """Makes sure an account exists with this role, agency and password (the demo accounts):
        ("created", "password set", "kept" or "taken": the username belongs to an account of another
        role or agency, left as it is)."""
        new = check_new_account(new)
        with self.pool.connection() as conn, conn.transaction():
            created = repository.add(conn, new, password_hash=passwords.hash_password(new.password), created_by=None,
                                     created_at=self.clock.now())
            if created is not None:
                return created, "created"
            account = repository.by_username(conn, new.username)
            if (account.role, account.agency_id) != (new.role, new.agency_id):
                return account, "taken"
            if passwords.password_matches(new.password, repository.password_hash(conn, account.id)):
                return account, "kept"
            repository.set_password_hash(conn, account.id, passwords.hash_password(new.password))
            return account, "password set"
