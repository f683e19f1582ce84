"""The portal's server-side sessions and attempt limits, against PostgreSQL (the pages that use
them are tested through HTTP in test_pages.py and test_reporter_accounts.py)."""

from datetime import timedelta

import pytest

from services.portal.rate_limits import RateLimit
from services.portal.sessions import SessionStore

IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=2)


@pytest.fixture
def store(pool, clock):
    return SessionStore(pool=pool, clock=clock, idle=IDLE, absolute=ABSOLUTE)


def test_a_session_keeps_its_data_until_it_is_idle_too_long(store, clock):
    session = store.create({"account": {"id": "account:1"}})
    clock.advance(IDLE - timedelta(seconds=1))
    assert store.load(session.id).data == {"account": {"id": "account:1"}}
    clock.advance(IDLE - timedelta(seconds=1))  # each use moves the idle expiry on
    assert store.load(session.id) is not None
    clock.advance(IDLE)
    assert store.load(session.id) is None


def test_a_session_ends_at_its_absolute_expiry(store, clock):
    session = store.create()
    for _ in range(int(ABSOLUTE / (IDLE / 2))):
        assert store.load(session.id) is not None
        clock.advance(IDLE / 2)
    assert store.load(session.id) is None


def test_rotating_gives_a_new_id_and_token_and_keeps_the_data_and_the_absolute_expiry(store, clock):
    session = store.create({"reports": ["LAP-AAAA0001"]})
    clock.advance(IDLE / 2)
    rotated = store.rotate(store.load(session.id))
    assert (rotated.id, rotated.csrf_token) != (session.id, session.csrf_token)
    assert store.load(session.id) is None
    assert store.load(rotated.id).data == {"reports": ["LAP-AAAA0001"]}
    for _ in range(int(ABSOLUTE / (IDLE / 2)) - 2):
        clock.advance(IDLE / 2)
        assert store.load(rotated.id) is not None
    clock.advance(IDLE / 2)  # the first session's absolute expiry
    assert store.load(rotated.id) is None


@pytest.mark.parametrize("session_id", ["", "x" * 101, "bukan-sesi"])
def test_an_unknown_or_malformed_id_is_no_session(store, session_id):
    store.create()
    assert store.load(session_id) is None


def test_attempts_are_limited_per_bucket_in_a_window(pool, clock):
    limit = RateLimit(pool=pool, clock=clock, name="test", limit=3, window=timedelta(minutes=15))
    for _ in range(3):
        assert not limit.exceeded("a")
        limit.hit("a")
    assert limit.exceeded("a") and not limit.exceeded("b")
    clock.advance(timedelta(minutes=15))
    assert not limit.exceeded("a")
    limit.hit("a")
    assert not limit.exceeded("a")  # a new window, one attempt in it
