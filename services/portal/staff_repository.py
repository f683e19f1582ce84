"""The SQL of staff accounts (portal.staff_accounts). Every function takes the caller's connection."""

from datetime import datetime

from services.portal.staff_accounts import NewStaffAccount, SignInState, StaffAccount

_FIELDS = ("id", "username", "role", "agency_id", "created_at", "disabled_at", "last_signed_in_at",
           "must_change_password")
_ACCOUNT = ", ".join(_FIELDS)


def _account(row) -> StaffAccount:
    return StaffAccount(**{k: row[k] for k in _FIELDS})


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


def set_password(conn, account_id: int, password_hash: str, *, must_change: bool, changed_at: datetime,
                 reset_by: int | None = None) -> None:
    """A new password: the owner's own (`must_change` False), or a temporary one set by a reset, which also
    lifts a lock from failed sign-ins (the owner signs in with it next)."""
    conn.execute("UPDATE portal.staff_accounts SET password_hash = %s, must_change_password = %s, "
                 "password_changed_at = %s, password_reset_by = coalesce(%s, password_reset_by), "
                 "failed_sign_ins = CASE WHEN %s THEN 0 ELSE failed_sign_ins END, "
                 "failing_since = CASE WHEN %s THEN NULL ELSE failing_since END, "
                 "locked_until = CASE WHEN %s THEN NULL ELSE locked_until END WHERE id = %s",
                 (password_hash, must_change, changed_at, reset_by, must_change, must_change, must_change, account_id))


def password_hash(conn, account_id: int) -> str | None:
    row = conn.execute("SELECT password_hash FROM portal.staff_accounts WHERE id = %s", (account_id,)).fetchone()
    return row["password_hash"] if row else None


def get(conn, account_id: int, *, for_update: bool = False) -> StaffAccount | None:
    """The account; with `for_update`, its row locked until the transaction ends."""
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(f"SELECT {_ACCOUNT} FROM portal.staff_accounts WHERE id = %s{lock}", (account_id,)).fetchone()
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


def enable(conn, account_id: int, *, enabled_by: int | None, enabled_at: datetime) -> None:
    """Enables a disabled account (an active one is left as it is); the record of its disabling goes."""
    conn.execute("UPDATE portal.staff_accounts SET disabled_at = NULL, disabled_by = NULL, enabled_at = %s, "
                 "enabled_by = %s WHERE id = %s AND disabled_at IS NOT NULL", (enabled_at, enabled_by, account_id))
