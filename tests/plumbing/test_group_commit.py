"""GroupCommit: items that arrive while others are written share the next write; each caller gets its
own outcome; no more than `writers` writes at a time; nobody is left waiting."""

import random
import threading
import time

import pytest

from services.plumbing import metrics
from services.plumbing.group_commit import GroupCommit

WAIT = 10  # seconds a test waits for a thread before it calls the run hung


class Recorder:
    """A write that records its batches and how many ran at once; `gate`, when given, holds every
    write until it is set. Each item's outcome is item * 10, or the item itself if it is an exception."""

    def __init__(self, gate: threading.Event | None = None):
        self.batches: list[list] = []
        self.running = self.most_running = 0
        self.lock = threading.Lock()
        self.gate = gate
        self.started = threading.Event()

    def __call__(self, items):
        with self.lock:
            self.batches.append(list(items))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        self.started.set()
        try:
            if self.gate is not None:
                assert self.gate.wait(WAIT)
            time.sleep(0.001)
            return [item if isinstance(item, BaseException) else item * 10 for item in items]
        finally:
            with self.lock:
                self.running -= 1


def call_all(commit, items) -> dict:
    """Calls `commit(item)` for each item from a thread of its own; item -> result or exception."""
    outcomes = {}

    def call(item):
        try:
            outcomes[item] = commit(item)
        except BaseException as e:  # noqa: BLE001 (compared by the test)
            outcomes[item] = e

    threads = [threading.Thread(target=call, args=(item,)) for item in items]
    for t in threads:
        t.start()
    return threads, outcomes


def joined(threads) -> None:
    for t in threads:
        t.join(WAIT)
        assert not t.is_alive(), "a caller was left waiting"


def queued_behind_one(name: str, first, rest, *, max_batch: int) -> tuple[Recorder, dict, dict]:
    """One writer: `first` is written and held there while each of `rest` is called and queues behind
    it; then the write goes on. The write, and the outcomes of `first` and of `rest`."""
    gate = threading.Event()
    write = Recorder(gate)
    commit = GroupCommit(name, write, writers=1, max_batch=max_batch)
    held, first_outcome = call_all(commit, [first])
    assert write.started.wait(WAIT)
    queued, outcomes = call_all(commit, rest)
    time.sleep(0.2)  # every one of them queued behind the first
    gate.set()
    joined(held + queued)
    return write, first_outcome, outcomes


def test_an_item_alone_is_written_at_once_by_its_caller():
    write = Recorder()
    commit = GroupCommit("tests", write, writers=2, max_batch=8)
    assert commit(4) == 40
    assert write.batches == [[4]]


def test_items_that_come_while_one_is_written_share_the_next_write():
    write, first_outcome, outcomes = queued_behind_one("tests", 1, range(2, 22), max_batch=100)
    assert first_outcome == {1: 10}
    assert outcomes == {n: n * 10 for n in range(2, 22)}
    assert write.batches[0] == [1]
    assert sorted(write.batches[1]) == list(range(2, 22))  # one write for the twenty, not twenty
    assert len(write.batches) == 2


def test_each_batch_size_is_counted_for_prometheus():
    def count(le: str) -> float:
        return metrics.REGISTRY.get_sample_value("sp4n_group_commit_batch_size_bucket", {"items": "counted", "le": le})

    bounds = ("1.0", "4.0", "8.0", "+Inf")
    before = {le: count(le) or 0 for le in bounds}
    queued_behind_one("counted", 1, range(2, 7), max_batch=100)
    # A batch of 1, then one of 5: the histogram's buckets count the batches up to each bound.
    assert {le: count(le) - before[le] for le in bounds} == {"1.0": 1, "4.0": 1, "8.0": 2, "+Inf": 2}


def test_a_batch_holds_at_most_max_batch_items_and_the_rest_follow():
    write, _, outcomes = queued_behind_one("tests", 0, range(1, 13), max_batch=5)
    assert outcomes == {n: n * 10 for n in range(1, 13)}
    assert [len(b) for b in write.batches] == [1, 5, 5, 2]


def test_an_items_own_exception_is_raised_in_its_caller_only():
    refused = ValueError("refused")
    write, _, outcomes = queued_behind_one("tests", 1, [2, refused, 3], max_batch=10)
    assert outcomes == {2: 20, refused: refused, 3: 30}
    assert len(write.batches) == 2


def test_an_exception_the_write_raises_is_every_item_of_its_batch():
    def write(items):
        raise ConnectionError("database gone")

    commit = GroupCommit("tests", write, writers=2, max_batch=10)
    threads, outcomes = call_all(commit, range(6))
    joined(threads)
    assert all(isinstance(e, ConnectionError) for e in outcomes.values()) and len(outcomes) == 6
    assert GroupCommit("tests", Recorder(), writers=2, max_batch=10)(1) == 10  # nothing stuck after it


def test_a_write_that_returns_the_wrong_number_of_outcomes_fails_its_batch():
    commit = GroupCommit("tests", lambda items: [], writers=1, max_batch=10)
    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        commit(1)


@pytest.mark.parametrize("writers", [1, 2, 3])
def test_many_callers_each_get_their_own_outcome_with_no_more_than_writers_at_once(writers):
    write = Recorder()
    commit = GroupCommit("tests", write, writers=writers, max_batch=7)
    errors = {n: KeyError(n) for n in range(0, 2000, 97)}
    items = [errors.get(n, n) for n in range(2000)]
    results = {}

    def caller(mine):
        for item in mine:
            time.sleep(random.random() / 2000)
            try:
                results[item] = commit(item)
            except KeyError as e:
                results[item] = e

    threads = [threading.Thread(target=caller, args=(items[c::40],)) for c in range(40)]
    for t in threads:
        t.start()
    joined(threads)
    assert results == {item: item if isinstance(item, KeyError) else item * 10 for item in items}
    assert write.most_running <= writers
    assert sorted(len(b) for b in write.batches)[-1] <= 7
    assert sum(len(b) for b in write.batches) == 2000  # each item written once
    assert len(write.batches) < 2000  # and some together
    assert commit._writing == 0  # every writer handed on or gave back its turn: none lost for later callers


def test_writers_and_max_batch_must_be_positive():
    with pytest.raises(ValueError):
        GroupCommit("tests", Recorder(), writers=0, max_batch=1)
    with pytest.raises(ValueError):
        GroupCommit("tests", Recorder(), writers=1, max_batch=0)
