"""Use cases of staff accounts: signing in, making, listing and disabling accounts. Each method is its
own transaction; the rights are those of services.portal.staff_accounts."""

from psycopg_pool import ConnectionPool

from services.plumbing import passwords
from services.plumbing.clock import Clock
from services.portal import staff_repository as repository
from services.portal.staff_accounts import (ROLES, TAKEN, USERNAME, Invalid, NewStaffAccount, NoSuchAccount, Refused,
                                            SignInState, StaffAccount, after_failure, agency_seen_by,
                                            check_new_account, is_locked, manages_accounts, may_disable, may_make,
                                            normal_username, normalised)


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
            return repository.get(conn, account_id)

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
