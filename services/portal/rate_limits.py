"""Limits on repeated attempts (wrong access codes, failed sign-ins, messages from one number, requests
with one API key, ...), counted in fixed windows in `portal.rate_limits` so that every portal replica
sees the same counts. Windows follow the service clock.

A bucket is named by the limit and a digest of what it counts (a session, an address, a phone number,
a key): no address or number is kept in clear, and the rows of windows that have passed are deleted
as new windows start.
"""

import hashlib
import ipaddress
import math
from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

from services.plumbing import db
from services.plumbing.clock import Clock

STALE_DELETED_PER_NEW_WINDOW = 100
DIGEST_LENGTH = 32  # hex digits of a bucket's key: a limit's buckets are its name, ":" and these
IPV6_PREFIX = 64  # one subscriber's IPv6 network: every address in it counts as one


def address(remote_addr: str | None) -> str:
    """What a per-address limit counts for a request's peer address: an IPv4 address, or the /64
    network of an IPv6 one (a single home or phone is given a whole /64)."""
    try:
        ip = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return remote_addr or ""
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))


class RateLimit:
    """At most `limit` attempts per `window` in each bucket (a session, an address, ...).

    Two ways to use it: for failures, ask `exceeded` (or `retry_after`) before trying and `hit` when
    the attempt failed; for budgets, where every attempt counts, `spend` counts and answers at once."""

    def __init__(self, *, pool: ConnectionPool, clock: Clock, name: str, limit: int, window: timedelta):
        self.pool = pool
        self.clock = clock
        self.name = name
        self.limit = limit
        self.window = window

    def _bucket(self, key: str) -> str:
        return f"{self.name}:{hashlib.sha256(key.encode()).hexdigest()[:DIGEST_LENGTH]}"

    def _seconds_left(self, window_start: datetime, now: datetime) -> int:
        return max(1, math.ceil((window_start + self.window - now).total_seconds()))

    def retry_after(self, key: str) -> int | None:
        """Seconds until the bucket may try again, once it has used up its attempts in the current
        window; None while it has attempts left."""
        now = self.clock.now()
        with db.autocommit(self.pool) as conn:  # each statement stands alone
            row = conn.execute("SELECT attempts, window_start FROM portal.rate_limits "
                               "WHERE bucket = %s AND window_start > %s",
                               (self._bucket(key), now - self.window)).fetchone()
        if row is None or row["attempts"] < self.limit:
            return None
        return self._seconds_left(row["window_start"], now)

    def exceeded(self, key: str) -> bool:
        """Whether the bucket has used up its attempts in the current window."""
        return self.retry_after(key) is not None

    def hit(self, key: str) -> None:
        """Counts an attempt; a window that has passed starts again."""
        self._count(key)

    def spend(self, key: str) -> int | None:
        """Counts an attempt and says whether it was over the limit: None when it was within it, else
        the seconds until the window ends. One round trip, so concurrent attempts never overspend."""
        attempts, window_start, now = self._count(key)
        return None if attempts <= self.limit else self._seconds_left(window_start, now)

    def _count(self, key: str) -> tuple[int, datetime, datetime]:
        """Counts an attempt: (attempts in the window so far, the window's start, now). A bucket that
        starts a new window also deletes a few stale buckets of this limit."""
        now, bucket = self.clock.now(), self._bucket(key)
        with db.autocommit(self.pool) as conn:  # each statement stands alone
            row = conn.execute(
                "INSERT INTO portal.rate_limits AS r (bucket, window_start, attempts) VALUES (%(bucket)s, %(now)s, 1) "
                "ON CONFLICT (bucket) DO UPDATE SET "
                "attempts = CASE WHEN r.window_start <= %(passed)s THEN 1 ELSE r.attempts + 1 END, "
                "window_start = CASE WHEN r.window_start <= %(passed)s THEN %(now)s ELSE r.window_start END "
                "RETURNING attempts, window_start",
                {"bucket": bucket, "now": now, "passed": now - self.window}).fetchone()
            if row["attempts"] == 1:
                # Skipping rows another replica is deleting: neither waits for the other.
                conn.execute("DELETE FROM portal.rate_limits WHERE bucket IN (SELECT bucket FROM portal.rate_limits "
                             "WHERE starts_with(bucket, %s) AND length(bucket) = %s AND window_start <= %s "
                             "AND bucket <> %s LIMIT %s FOR UPDATE SKIP LOCKED)",
                             (f"{self.name}:", len(bucket), now - self.window, bucket, STALE_DELETED_PER_NEW_WINDOW))
        return row["attempts"], row["window_start"], now
