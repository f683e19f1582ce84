"""Attempt limits against PostgreSQL, as every portal replica shares them: budgets spent in one round
trip, waits until a window ends by the service clock, no key kept in clear, stale rows deleted. Each
surface's limits are tested through HTTP in test_rate_limits_{webhooks,api,pages}.py."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
import requests
from requests.adapters import HTTPAdapter

from services.portal.rate_limits import RateLimit, address

WINDOW = timedelta(minutes=15)
# Another address on this machine (all of 127.0.0.0/8 is loopback): a second person, as the portal sees it.
OTHER_ADDRESS = "127.0.0.2"


class FromAddress(HTTPAdapter):
    """Connects from a given local address."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.source, 0), **kwargs)


def from_address(session: requests.Session, source: str = OTHER_ADDRESS) -> requests.Session:
    """The session, making its connections from `source`."""
    session.mount("http://", FromAddress(source))
    return session


def buckets(database_url) -> list[tuple[str, int]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT bucket, attempts FROM portal.rate_limits ORDER BY bucket").fetchall()


@pytest.fixture
def limit(pool, clock):
    return RateLimit(pool=pool, clock=clock, name="test", limit=3, window=WINDOW)


def test_a_budget_is_spent_until_the_window_ends_by_the_service_clock(limit, clock):
    assert [limit.spend("a") for _ in range(3)] == [None, None, None]
    assert limit.spend("a") == WINDOW.total_seconds()  # the window began just now
    assert limit.spend("b") is None  # another bucket has its own budget
    clock.advance(timedelta(minutes=10))
    assert limit.spend("a") == 5 * 60
    assert limit.retry_after("a") == 5 * 60
    clock.advance(timedelta(minutes=5))
    assert limit.spend("a") is None and limit.retry_after("a") is None


def test_the_wait_is_never_shorter_than_a_second(limit, clock):
    for _ in range(3):
        limit.hit("a")
    # The test clock runs at real speed: leave the test half a second to ask before the window ends.
    clock.advance(WINDOW - timedelta(milliseconds=500))
    assert limit.retry_after("a") == 1


def test_concurrent_attempts_never_spend_more_than_the_budget(pool, clock):
    budget = RateLimit(pool=pool, clock=clock, name="test", limit=20, window=WINDOW)
    with ThreadPoolExecutor(max_workers=4) as workers:
        answers = list(workers.map(lambda _: budget.spend("a"), range(50)))
    assert answers.count(None) == 20


def test_no_key_is_kept_in_clear(limit, database_url):
    limit.hit("6281234567890")
    limit.hit("203.0.113.7")
    stored = " ".join(bucket for bucket, _ in buckets(database_url))
    assert stored.startswith("test:") and "6281234567890" not in stored and "203.0.113.7" not in stored


def test_a_new_window_deletes_the_limits_stale_buckets_and_no_others(pool, clock, database_url):
    other = RateLimit(pool=pool, clock=clock, name="test:other", limit=3, window=timedelta(days=1))
    limit = RateLimit(pool=pool, clock=clock, name="test", limit=3, window=WINDOW)
    for key in ("a", "b", "c"):
        limit.hit(key)
        other.hit(key)
    clock.advance(WINDOW)
    limit.hit("a")  # a's new window
    assert [attempts for bucket, attempts in buckets(database_url) if bucket.startswith("test:other:")] == [1, 1, 1]
    assert [attempts for bucket, attempts in buckets(database_url) if not bucket.startswith("test:other:")] == [1]


@pytest.mark.parametrize("remote_addr, counted_as", [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # a subscriber's IPv6 network counts as one address
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("", ""),
    (None, ""),
])
def test_an_address_counts_as_one_subscriber(remote_addr, counted_as):
    assert address(remote_addr) == counted_as
