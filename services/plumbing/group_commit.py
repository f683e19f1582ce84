"""Group commit: the writes that arrive together share one transaction.

Under load, a service's handler threads would each write their row and commit. Every commit is a
flush of PostgreSQL's WAL, and one whose statement wakes a relay with NOTIFY also takes its turn
at a lock that every notifying commit of the server takes, one after another. A GroupCommit lets
a handler that comes while others are writing leave its item in a queue; whoever writes next takes
the queue, up to `max_batch` items, and writes them all in one transaction. A handler that finds
nobody writing writes its own item at once, so a quiet service waits for nothing.

At most `writers` threads write at a time, each one a handler writing for itself and those queued
before it. A writer whose own item is written hands the writing on to the oldest handler still
waiting, if any, and returns: no thread of its own, and no queue left without a writer.
"""

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from services.plumbing import metrics

T = TypeVar("T")
R = TypeVar("R")


class _Ticket(Generic[T, R]):
    """An item in the queue, and what became of it: its result or its exception. `turn` is set when
    it is done, or when its handler is to write."""

    __slots__ = ("item", "outcome", "done", "writes", "turn")

    def __init__(self, item: T):
        self.item = item
        self.outcome: R | BaseException | None = None
        self.done = False
        self.writes = False
        self.turn = threading.Event()


class GroupCommit(Generic[T, R]):
    def __init__(self, name: str, write: Callable[[list[T]], Sequence[R | BaseException]], *, writers: int,
                 max_batch: int):
        """`write(items)` writes the items in one transaction and returns each one's result, or the
        exception that is that item's alone; an exception it raises is every item's. `name`: what the
        items are, for the batch size metric."""
        if writers < 1 or max_batch < 1:
            raise ValueError("writers and max_batch must be at least 1")
        self._batch_sizes = metrics.GROUP_COMMIT_BATCH.labels(name)
        self._write = write
        self._writers, self._max_batch = writers, max_batch
        self._lock = threading.Lock()
        self._queue: deque[_Ticket[T, R]] = deque()
        self._writing = 0  # threads that write now (or have been handed the writing)

    def __call__(self, item: T) -> R:
        """Writes `item` with whatever else is queued; its result, or its exception raised."""
        ticket = _Ticket(item)
        with self._lock:
            self._queue.append(ticket)
            if self._writing < self._writers:
                self._writing += 1
                ticket.writes = True
        if not ticket.writes:
            ticket.turn.wait()
        if ticket.writes:  # even if another writer wrote it meanwhile: the writing is this thread's to hand on
            self._write_until_done(ticket)
        if isinstance(ticket.outcome, BaseException):
            raise ticket.outcome
        return ticket.outcome

    def _write_until_done(self, own: _Ticket[T, R]) -> None:
        """Writes batches from the head of the queue until `own` is written, then hands the writing on."""
        try:
            while not own.done:
                with self._lock:
                    batch = [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
                self._settle(batch)
        finally:
            with self._lock:
                following = next((t for t in self._queue if not t.writes), None)
                if following is None:
                    self._writing -= 1
                else:
                    following.writes = True
                    following.turn.set()

    def _settle(self, batch: list[_Ticket[T, R]]) -> None:
        """Writes a batch and gives each ticket its outcome; wakes the waiting handlers."""
        self._batch_sizes.observe(len(batch))
        try:
            outcomes = list(self._write([t.item for t in batch]))
            if len(outcomes) != len(batch):
                raise RuntimeError(f"write returned {len(outcomes)} outcomes for {len(batch)} items")
        except BaseException as e:  # noqa: BLE001 (every item's, raised in each handler)
            outcomes = [e] * len(batch)
        for ticket, outcome in zip(batch, outcomes):
            ticket.outcome, ticket.done = outcome, True
            ticket.turn.set()


def outcome(f: Callable[..., R], *args) -> R | BaseException:
    """What `f(*args)` returns, or the exception it raises: a write's outcome for one item."""
    try:
        return f(*args)
    except Exception as e:  # noqa: BLE001 (the item's outcome, raised in its caller)
        return e
