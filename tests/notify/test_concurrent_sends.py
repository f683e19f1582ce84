"""Requests racing one identical (or with the same key) while it is being stored, through a real gRPC
server and PostgreSQL: the unique constraints let one of them store its notifications, and the others
store nothing, wake no delivery worker and answer with the one stored."""

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from services.notify.repository import WAKE_CHANNEL
from sp4n.intake.v1 import intake_pb2
from tests.notify.fakes import SITI, TRACKING_ID, send, wait_until


class GatedContacts:
    """Intake's contacts, each reporter lookup passing `gate` first: a request is held there after its
    look for an earlier notification and before it stores its own."""

    def __init__(self, contacts, gate):
        self.contacts, self.gate = contacts, gate

    def reporter(self, tracking_id):
        self.gate()
        return self.contacts.reporter(tracking_id)

    def __getattr__(self, name):
        return getattr(self.contacts, name)


class HoldFirst:
    """A gate that holds the first request through it until `release`, and lets the others by."""

    def __init__(self):
        self.arrived, self.released, self._first = threading.Event(), threading.Event(), True

    def __call__(self):
        first, self._first = self._first, False
        if first:
            self.arrived.set()
            assert self.released.wait(10), "never released"

    def release(self):
        self.released.set()


@pytest.fixture
def wakes(database_url):
    """Counts the wake-ups of the delivery worker (NOTIFY on its channel) sent from now on."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {WAKE_CHANNEL}")
        yield lambda: len(list(conn.notifies(timeout=0.5)))


def rows(database_url) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT id, channel, event, idempotency_key FROM notify.notifications "
                            "ORDER BY id").fetchall()


@pytest.mark.parametrize("keys", [("n1", "n1"), ("n1", "n2")], ids=["the same key", "another key"])
def test_identical_requests_sent_together_store_one_notification_per_channel_and_get_the_same_answer(
        make_stub, contacts, database_url, wakes, keys):
    # Both pass their look for an earlier notification, then both store at once.
    stub = make_stub(contacts=GatedContacts(contacts, threading.Barrier(2, timeout=10).wait))
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda key: send(stub, key=key, event="forwarded"), keys)
    assert first == second
    assert [(channel, event) for _, channel, event, _ in rows(database_url)] == [("in_app", "forwarded"),
                                                                               ("email", "forwarded")]
    assert wakes() == 1


@pytest.mark.parametrize("again, address_added", [
    (dict(key="n1"), False),
    (dict(key="n1", event="closed", params={"x": "y"}), False),  # the key of another request: the first answers
    (dict(key="n2"), True),  # an e-mail now possible, but the event was told already
], ids=["the same request", "the same key for another event", "another key, an address added since"])
def test_a_repeat_stored_after_its_own_look_writes_nothing_wakes_no_one_and_answers_the_first(
        make_stub, contacts, intake, database_url, wakes, again, address_added):
    if address_added:
        intake.contacts[TRACKING_ID] = intake_pb2.ReporterContact(language="id")  # in-app only, at first
    gate = HoldFirst()
    stub = make_stub(contacts=GatedContacts(contacts, gate))
    with ThreadPoolExecutor(1) as pool:
        repeat = pool.submit(send, stub, **again)  # looks for an earlier notification, finds none, is held
        assert gate.arrived.wait(10)
        first = send(stub, key="n1")
        stored, woken = rows(database_url), wakes()
        intake.contacts[TRACKING_ID] = SITI
        gate.release()
        assert repeat.result(timeout=10) == first
    assert rows(database_url) == stored and [r[1] for r in stored] == ["in_app"] + ["email"] * (not address_added)
    assert woken == (0 if address_added else 1) and wakes() == 0


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_request_waits_for_an_identical_one_being_stored_and_stores_nothing_if_that_commits(
        stub, database_url, wakes, outcome):
    with psycopg.connect(database_url) as other:
        [(other_id,)] = other.execute(
            "INSERT INTO notify.notifications (idempotency_key, tracking_id, event, recipient, channel, language, "
            "subject, body, status, attempts, created_at, sent_at) VALUES ('n1', %s, 'received', 'reporter', "
            "'in_app', 'id', 'Diterima', 'Laporan Anda diterima', 'sent', 1, now(), now()) RETURNING id",
            (TRACKING_ID,)).fetchall()
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(send, stub, key="n1")
            wait_until(lambda: waiting_on_a_lock(database_url) == 1)
            getattr(other, outcome)()
            got = answer.result(timeout=10)
    stored = rows(database_url)
    if outcome == "commit":
        assert got.id == str(other_id) and got.subject == "Diterima"
        assert stored == [(other_id, "in_app", "received", "n1")] and wakes() == 0
    else:
        assert [(channel, key) for _, channel, _, key in stored] == [("in_app", "n1"), ("email", None)]
        assert got.id == str(stored[0][0]) and wakes() == 1


def waiting_on_a_lock(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock'").fetchone()[0]
