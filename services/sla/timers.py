"""The timer worker: wakes instances whose earliest timer or retry is due.

Any number of workers (threads or processes) run side by side: each claims a batch of due
instances at a time with FOR UPDATE SKIP LOCKED, so a timer fires once.
"""

from services.plumbing.background import BackgroundWorker
from services.sla.service import SlaService


class TimerWorker(BackgroundWorker):
    def __init__(self, service: SlaService, poll_seconds: float = 1.0):
        super().__init__(name="sla-timers", poll_seconds=poll_seconds)
        self.service = service

    def run_once(self) -> int:
        return self.service.fire_due()
