"""The timer worker: wakes instances whose earliest timer or retry is due.

Any number of workers (threads or processes) run side by side: each claims one due
instance at a time with FOR UPDATE SKIP LOCKED, so a timer fires once.
"""

import logging
import threading

from services.sla.service import SlaService

log = logging.getLogger(__name__)


class TimerWorker:
    def __init__(self, service: SlaService, poll_seconds: float = 1.0):
        self.service = service
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sla-timers", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fired = self.service.fire_due()
            except Exception:
                log.exception("timer tick failed")
                fired = 0
            if not fired:
                self._stop.wait(self.poll_seconds)
