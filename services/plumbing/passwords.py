"""Passwords: scrypt hashes, kept with their salt and cost parameters (scrypt$N$r$p$salt$key, base64),
so that the cost can be raised for new hashes while the old ones still verify; and the lockout rule
for failed sign-ins (the fifth within 15 minutes locks the account for 15 minutes, whatever password
comes next). Reporter accounts (intake) and staff accounts (portal) both keep to them.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

# scrypt's cost: 16 MiB and some 35 ms a hash on the machines of DESIGN.md.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
# No password anyone accepts is longer: one that is, is refused before hashing, so that a sign-in
# cannot make a service hash megabytes.
MAX_LENGTH = 200


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL refuses to use more than `maxmem`: exactly what these parameters need.
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * r * (n + p + 2), dklen=KEY_BYTES)


def hash_password(password: str) -> str:
    """The password's hash with its parameters."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), base64.b64encode(salt).decode(),
                     base64.b64encode(key).decode()])


def password_matches(password: str, stored: str) -> bool:
    """Whether `password` hashes, with the salt and parameters in `stored`, to the key there."""
    _, n, r, p, salt, key = stored.split("$")
    if len(password) > MAX_LENGTH:
        return False
    return hmac.compare_digest(_scrypt(password, base64.b64decode(salt), int(n), int(r), int(p)),
                               base64.b64decode(key))


@cache
def decoy_hash() -> str:
    """A hash of no one's password, checked against when there is no account by the name given, so
    that a sign-in takes as long whether or not the account exists."""
    return hash_password(secrets.token_urlsafe(16))


MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInState:
    """An account's recent failed sign-ins."""
    failures: int = 0
    failing_since: datetime | None = None  # the first failure of those counted
    locked_until: datetime | None = None


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
