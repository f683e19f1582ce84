"""A timer worker in a process of its own, for the test that runs several side by side.

    python -m tests.sla.timer_worker_process DATABASE_URL CLOCK_FILE CALLS_FILE

Fires due timers until none is left, recording every service call it makes as one line of
CALLS_FILE (appended, so that several processes can share it).
"""

import json
import os
import sys

from services.plumbing import db
from services.plumbing.clock import FileClock
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine
from services.sla.service import SlaService


class AppendingCaller:
    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    def call(self, operator, params, idempotency_key):
        line = json.dumps({"pid": os.getpid(), "operator": operator, "key": idempotency_key, "params": params})
        os.write(self.fd, (line + "\n").encode())  # one write per line: O_APPEND keeps lines whole
        return {}


def main(url: str, clock_file: str, calls_file: str) -> None:
    clock = FileClock(clock_file)
    pool = db.open_pool(url, name="test-timer-worker", size=2)
    engine = Engine(calendar=WorkingCalendar(), caller=AppendingCaller(calls_file), clock=clock)
    service = SlaService(pool=pool, engine=engine, clock=clock, process_id="report_lifecycle")
    idle = 0
    while idle < 3:
        idle = idle + 1 if service.fire_due(limit=5) == 0 else 0
    pool.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
