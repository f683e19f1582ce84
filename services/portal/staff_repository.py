"""The SQL of staff accounts (portal.staff_accounts). Every function takes the caller's connection."""

from datetime import datetime

from services.portal.staff_accounts import NewStaffAccount, SignInState, StaffAccount

_ACCOUNT = "id, username, role, agency_id, created_at, disabled_at, last_signed_in_at"


def _account(row) -> StaffAccount:
    return StaffAccount(**{k: row[k] for k in ("id", "username", "role", "agency_id", "created_at", "disabled_at",
                                                "last_signed_in_at")})


def credentials(conn, username: str) -> tuple[StaffAccount, str] | None:
    """The account by this username, and its password hash."""
    row = conn.execute(f"SELECT {_ACCOUNT}, password_hash FROM portal.staff_accounts WHERE username = %s",
                       (username,)).fetchone()
    return (_account(row), row["password_hash"]) if row else None


def sign_in_state_for_update(conn, account_id: int | None) -> tuple[SignInState, bool] | None:
    """The account's failed sign-ins and whether it is active, its row locked until the transaction ends
    (concurrent attempts at one account are counted one after the other); None when there is no such
    account (the statement still runs, see record_sign_in)."""
    row = conn.execute("SELECT failed_sign_ins, failing_since, locked_until, disabled_at IS NULL AS active "
                       "FROM portal.staff_accounts WHERE id = %s FOR UPDATE", (account_id,)).fetchone()
    if row is None:
        return None
    return SignInState(row["failed_sign_ins"], row["failing_since"], row["locked_until"]), row["active"]


def record_sign_in(conn, account_id: int | None, state: SignInState, signed_in_at: datetime | None) -> None:
    """Keeps an account's failed sign-ins, and when it signed in. With no account the statement still
    runs (and changes nothing), so that a sign-in takes the same round trips whether or not it exists."""
    conn.execute("UPDATE portal.staff_accounts SET failed_sign_ins = %s, failing_since = %s, locked_until = %s, "
                 "last_signed_in_at = coalesce(%s, last_signed_in_at) WHERE id = %s",
                 (state.failures, state.failing_since, state.locked_until, signed_in_at, account_id))


def add(conn, new: NewStaffAccount, *, password_hash: str, created_by: int | None,
        created_at: datetime) -> StaffAccount | None:
    """The new account; None when its username is taken."""
    row = conn.execute(f"INSERT INTO portal.staff_accounts (username, password_hash, role, agency_id, created_by, "
                       f"created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING "
                       f"RETURNING {_ACCOUNT}",
                       (new.username, password_hash, new.role, new.agency_id, created_by, created_at)).fetchone()
    return _account(row) if row else None


def set_password_hash(conn, account_id: int, password_hash: str) -> None:
    conn.execute("UPDATE portal.staff_accounts SET password_hash = %s WHERE id = %s", (password_hash, account_id))


def password_hash(conn, account_id: int) -> str | None:
    row = conn.execute("SELECT password_hash FROM portal.staff_accounts WHERE id = %s", (account_id,)).fetchone()
    return row["password_hash"] if row else None


def get(conn, account_id: int) -> StaffAccount | None:
    row = conn.execute(f"SELECT {_ACCOUNT} FROM portal.staff_accounts WHERE id = %s", (account_id,)).fetchone()
    return _account(row) if row else None


def by_username(conn, username: str) -> StaffAccount | None:
    row = conn.execute(f"SELECT {_ACCOUNT} FROM portal.staff_accounts WHERE username = %s", (username,)).fetchone()
    return _account(row) if row else None


def list_accounts(conn, *, agency_id: str | None, after: str = "", limit: int) -> list[StaffAccount]:
    """Up to `limit` accounts by username, from the first after `after`: of every agency, or of one."""
    rows = conn.execute(f"SELECT {_ACCOUNT} FROM portal.staff_accounts WHERE username > %s "
                        f"AND (%s::text IS NULL OR agency_id = %s) ORDER BY username LIMIT %s",
                        (after, agency_id, agency_id, limit))
    return [_account(row) for row in rows]


def disable(conn, account_id: int, *, disabled_by: int | None, disabled_at: datetime) -> None:
    """Disables the account unless it is disabled already (then the first record stays)."""
    conn.execute("UPDATE portal.staff_accounts SET disabled_at = %s, disabled_by = %s "
                 "WHERE id = %s AND disabled_at IS NULL", (disabled_at, disabled_by, account_id))
