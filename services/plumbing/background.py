"""Background workers: a thread that works through what is due, then sleeps until woken.

A worker's `run_once()` handles one batch and says how many items it handled; the thread
calls it until it returns 0, then waits for a PostgreSQL NOTIFY on its wake channel (when
it has one) or for `poll_seconds`, whichever comes first. An error is logged and the loop
goes on after a pause: a worker never dies quietly.
"""

import logging
import threading

from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)


class BackgroundWorker:
    def __init__(self, *, name: str, poll_seconds: float, pool: ConnectionPool | None = None,
                 wake_channel: str | None = None):
        if wake_channel and pool is None:
            raise ValueError("a wake channel needs a pool to listen on")
        self.name = name
        self.poll_seconds = poll_seconds
        self._wake_pool = pool
        self._wake_channel = wake_channel
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Handles one batch of due work; returns how many items it handled."""
        raise NotImplementedError

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _drain(self) -> None:
        while self.run_once() and not self._stop.is_set():
            pass

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._wake_channel:
                    self._run_listening()
                else:
                    while not self._stop.is_set():
                        self._drain()
                        self._stop.wait(self.poll_seconds)
            except Exception:
                log.exception("%s failed; going on", self.name)
                self._stop.wait(self.poll_seconds)

    def _run_listening(self) -> None:
        with self._wake_pool.connection() as listener:
            listener.autocommit = True
            listener.execute(f'LISTEN "{self._wake_channel}"')
            try:
                while not self._stop.is_set():
                    self._drain()
                    for _ in listener.notifies(timeout=self.poll_seconds, stop_after=1):
                        pass
                    for _ in listener.notifies(timeout=0):  # those that came meanwhile: one drain serves all
                        pass
            finally:
                listener.execute("UNLISTEN *")
