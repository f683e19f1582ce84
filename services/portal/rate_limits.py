"""Limits on repeated attempts (wrong access codes, say), counted in fixed windows in
`portal.rate_limits` so that every portal replica sees the same counts."""

from datetime import timedelta

from psycopg_pool import ConnectionPool

from services.plumbing.clock import Clock


class RateLimit:
    """At most `limit` attempts per `window` in each bucket (a session, an address, ...)."""

    def __init__(self, *, pool: ConnectionPool, clock: Clock, name: str, limit: int, window: timedelta):
        self.pool = pool
        self.clock = clock
        self.name = name
        self.limit = limit
        self.window = window

    def _bucket(self, key: str) -> str:
        return f"{self.name}:{key}"[:300]

    def exceeded(self, key: str) -> bool:
        """Whether the bucket has used up its attempts in the current window."""
        with self.pool.connection() as conn:
            row = conn.execute("SELECT attempts FROM portal.rate_limits WHERE bucket = %s AND window_start > %s",
                               (self._bucket(key), self.clock.now() - self.window)).fetchone()
        return row is not None and row["attempts"] >= self.limit

    def hit(self, key: str) -> None:
        """Counts an attempt; a window that has passed starts again (and a few stale buckets go)."""
        now = self.clock.now()
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM portal.rate_limits WHERE bucket IN (SELECT bucket FROM portal.rate_limits "
                         "WHERE starts_with(bucket, %s) AND window_start <= %s LIMIT 100)",
                         (f"{self.name}:", now - self.window))
            conn.execute(
                "INSERT INTO portal.rate_limits AS r (bucket, window_start, attempts) VALUES (%(bucket)s, %(now)s, 1) "
                "ON CONFLICT (bucket) DO UPDATE SET "
                "attempts = CASE WHEN r.window_start <= %(passed)s THEN 1 ELSE r.attempts + 1 END, "
                "window_start = CASE WHEN r.window_start <= %(passed)s THEN %(now)s ELSE r.window_start END",
                {"bucket": self._bucket(key), "now": now, "passed": now - self.window})
