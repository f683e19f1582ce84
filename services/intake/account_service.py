"""Reporter account use cases: registration and sign-in, for the portal only. Passwords are hashed
outside any transaction, so that a connection is never held while scrypt runs."""

from psycopg_pool import ConnectionPool

from services.intake import account_repository, accounts
from services.intake.accounts import NewAccount, ReporterAccount
from services.intake.domain import account_number
from services.intake.submission import MAX_EMAIL
from services.plumbing import identity
from services.plumbing.clock import Clock
from services.plumbing.errors import InvalidArgument, ResourceExhausted, Unauthenticated
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.text import has_control_characters

# The same answer for an unknown address and a wrong password: sign-in does not tell who has an account.
WRONG_CREDENTIALS = "the e-mail address or the password is wrong"
LOCKED = "too many failed sign-ins; try again in 15 minutes"


class AccountService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock):
        self.pool = pool
        self.clock = clock

    def create(self, *, caller: identity.Caller, key: str, account: NewAccount) -> ReporterAccount:
        """Registers a reporter account; a repeated key returns the account it made."""
        identity.require_service(caller, "portal")
        check_idempotency_key(key)
        account = accounts.check_new_account(account)
        with self.pool.connection() as conn:
            if (earlier := account_repository.account_by_key(conn, key)) is not None:
                return earlier
        password_hash = accounts.hash_password(account.password)
        with self.pool.connection() as conn, conn.transaction():
            created = account_repository.add_account(conn, key=key, account=account, password_hash=password_hash,
                                                     created_at=self.clock.now())
            # Not added: either the same key committed meanwhile, or the address is someone's already.
            if created is None and (created := account_repository.account_by_key(conn, key)) is None:
                raise InvalidArgument("email", "is already registered; sign in instead")
            return created

    def sign_in(self, *, caller: identity.Caller, email: str, password: str) -> ReporterAccount:
        """The account whose e-mail address and password these are. Each failure counts towards a lock
        (RESOURCE_EXHAUSTED, whatever the password, until it ends); a success clears the count."""
        identity.require_service(caller, "portal")
        email = email.strip()
        with self.pool.connection() as conn:
            # An address no account can have (too long, or with a control character, which PostgreSQL's
            # text cannot even hold when it is a NUL) is answered as any unknown address.
            possible = len(email) <= MAX_EMAIL and not has_control_characters(email)
            found = account_repository.credentials(conn, email) if possible else None
        if found is not None and accounts.is_locked(found.sign_in, self.clock.now()):
            raise ResourceExhausted(LOCKED)
        # Hashed whether or not the address has an account, so that the answer takes as long.
        matches = accounts.password_matches(password, found.password_hash if found else accounts.DECOY_HASH)
        if found is None:
            raise Unauthenticated(WRONG_CREDENTIALS)
        self._count(account_number(found.account.id), matches)
        if not matches:
            raise Unauthenticated(WRONG_CREDENTIALS)
        return found.account

    def _count(self, number: int, success: bool) -> None:
        """Records a sign-in's outcome under the account's row lock: a concurrent failure may have locked
        the account since it was read, and then even the right password is refused."""
        with self.pool.connection() as conn, conn.transaction():
            state = account_repository.lock_sign_in_state(conn, number)
            now = self.clock.now()
            if accounts.is_locked(state, now):
                raise ResourceExhausted(LOCKED)
            after = accounts.SignInState() if success else accounts.after_failure(state, now)
            account_repository.set_sign_in_state(conn, number, after)
