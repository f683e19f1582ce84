"""SQL of reporter accounts. Every function takes an open connection."""

from datetime import datetime

from services.intake.accounts import Credentials, NewAccount, ReporterAccount, SignInState
from services.intake.domain import account_id

_ACCOUNT = "id, email, name, phone, created_at"


def _account(row) -> ReporterAccount:
    return ReporterAccount(account_id(row["id"]), row["email"], row["name"], row["phone"], row["created_at"])


def add_account(conn, *, key: str, account: NewAccount, password_hash: str,
                created_at: datetime) -> ReporterAccount | None:
    """Stores a new account; None when its key or its e-mail address (in any case) is taken."""
    row = conn.execute(
        "INSERT INTO intake.reporter_accounts (idempotency_key, email, password_hash, name, phone, created_at) "
        f"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_ACCOUNT}",
        (key, account.email, password_hash, account.name, account.phone, created_at)).fetchone()
    return _account(row) if row else None


def account_by_key(conn, key: str) -> ReporterAccount | None:
    row = conn.execute(f"SELECT {_ACCOUNT} FROM intake.reporter_accounts WHERE idempotency_key = %s",
                       (key,)).fetchone()
    return _account(row) if row else None


def account_exists(conn, number: int) -> bool:
    return conn.execute("SELECT 1 FROM intake.reporter_accounts WHERE id = %s", (number,)).fetchone() is not None


def _sign_in_state(row) -> SignInState:
    return SignInState(row["failed_sign_ins"], row["failing_since"], row["locked_until"])


def credentials(conn, email: str) -> Credentials | None:
    """The account with this e-mail address in any case, with what signing in to it checks."""
    row = conn.execute(f"SELECT {_ACCOUNT}, password_hash, failed_sign_ins, failing_since, locked_until "
                       "FROM intake.reporter_accounts WHERE lower(email) = lower(%s)", (email,)).fetchone()
    return Credentials(_account(row), row["password_hash"], _sign_in_state(row)) if row else None


def lock_sign_in_state(conn, number: int) -> SignInState:
    """The account's failed sign-ins, its row locked until the transaction ends."""
    row = conn.execute("SELECT failed_sign_ins, failing_since, locked_until FROM intake.reporter_accounts "
                       "WHERE id = %s FOR UPDATE", (number,)).fetchone()
    return _sign_in_state(row)


def set_sign_in_state(conn, number: int, state: SignInState) -> None:
    conn.execute("UPDATE intake.reporter_accounts SET failed_sign_ins = %s, failing_since = %s, locked_until = %s "
                 "WHERE id = %s", (state.failures, state.failing_since, state.locked_until, number))
