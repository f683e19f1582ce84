"""Engine cost per lifecycle, without I/O: what sla spends in SpiffWorkflow for one report.

Runs the lifecycle model (submit, forward, follow-up, closure after simulated time) N times with
the services answered in-process, storing and restoring the instance between events as sla does,
and prints the median cost per step, per whole lifecycle, and the stored state's size.

    .venv/bin/python -m bench.engine [N]
"""

import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from services.plumbing.clock import FileClock
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine, parse_model

ROOT = Path(__file__).resolve().parents[1]
WIB = timezone(timedelta(hours=7))


class AnsweringCaller:
    def __init__(self, clock):
        self.clock = clock

    def call(self, operator, params, idempotency_key):
        if operator == "routing/AssignReport":
            return {"agency_id": "a", "agency_name": "A", "timezone": "Asia/Makassar", "parent_id": "nasional",
                    "assigned_at": self.clock.now().isoformat()}
        return {}


def lifecycle_costs(n: int) -> tuple[dict[str, list[float]], list[float], list[int]]:
    """Seconds per step and per whole lifecycle, and the stored state's size in bytes, of `n` lifecycles."""
    clock = FileClock(Path(tempfile.mkdtemp()) / "clock.json")
    clock.set(datetime(2026, 11, 2, 10, 0, tzinfo=WIB))
    engine = Engine(calendar=WorkingCalendar(), caller=AnsweringCaller(clock), clock=clock)
    model = parse_model((ROOT / "bpmn" / "report_lifecycle.bpmn").read_text(), "report_lifecycle")
    steps: dict[str, list[float]] = {"start": [], "decision": [], "follow_up": [], "closure": []}
    sizes, lifecycles = [], []
    base = clock.offset()
    for i in range(n):
        clock.set_offset(base)
        t0 = time.perf_counter()
        wf = engine.start(model, {"tracking_id": f"LAP-{i:08d}", "submitted_at": clock.now().isoformat(),
                                  "category": "infrastruktur", "region_code": "6310", "suggested_agency_id": ""})
        engine.run(wf)
        state, version = engine.dump(wf)
        t1 = time.perf_counter()
        steps["start"].append(t1 - t0)
        for name, message, payload in [
            ("decision", "verification_decided", {"outcome": "forward", "decided_at": clock.now().isoformat(),
                                                  "category": "", "agency_id": "", "reason": "",
                                                  "duplicate_of": ""}),
            ("follow_up", "follow_up_posted", {"posted_at": clock.now().isoformat()}),
        ]:
            s0 = time.perf_counter()
            wf = engine.restore(model, state, version)
            engine.deliver(wf, message, payload)
            engine.run(wf)
            state, version = engine.dump(wf)
            steps[name].append(time.perf_counter() - s0)
        clock.set_offset(base + timedelta(days=20))
        s0 = time.perf_counter()
        wf = engine.restore(model, state, version)
        engine.run(wf)
        assert wf.completed
        state, version = engine.dump(wf)
        steps["closure"].append(time.perf_counter() - s0)
        lifecycles.append(time.perf_counter() - t0)
        sizes.append(len(state))
    return steps, lifecycles, sizes


def main(n: int) -> None:
    steps, lifecycles, sizes = lifecycle_costs(n)
    print(f"engine, {n} lifecycles of bpmn/report_lifecycle.bpmn (no I/O), medians:")
    for name, values in steps.items():
        print(f"  {name:<10} {statistics.median(values) * 1000:7.2f} ms  (restore + event + run + dump)")
    print(f"  lifecycle  {statistics.median(lifecycles) * 1000:7.2f} ms  -> {1 / statistics.median(lifecycles):.0f} "
          f"lifecycles/s on one core")
    print(f"  stored state at closure: {statistics.median(sizes) / 1024:.1f} KiB JSON (spec stored once per version)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
