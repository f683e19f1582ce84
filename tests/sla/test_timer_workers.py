"""Timer workers in separate processes share the due instances: each timer fires exactly once."""

import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone

from services.plumbing import identity
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine
from services.sla.service import SlaService
from tests.sla.recording_caller import RecordingCaller
from tests.support import ROOT

MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=timezone(timedelta(hours=7)))
INTAKE = identity.Caller("intake", identity.SERVICE)
CASES = 40


def test_three_worker_processes_fire_every_due_timer_exactly_once(pool, clock, database_url, tmp_path):
    clock.set(MONDAY)
    sla = SlaService(pool=pool, engine=Engine(calendar=WorkingCalendar(), caller=RecordingCaller(clock), clock=clock),
                     clock=clock, process_id="report_lifecycle")
    sla.deploy_folder(ROOT / "bpmn")
    tracking_ids = [f"LAP-W{n:07d}" for n in range(CASES)]
    for tracking_id in tracking_ids:
        sla.start_case(caller=INTAKE, event_id=f"intake:{tracking_id}", tracking_id=tracking_id,
                       submitted_at=MONDAY, category="", region_code="6310")
    clock.advance(timedelta(days=4))  # every case: reminder and verification deadline due

    calls = tmp_path / "calls.jsonl"
    workers = [subprocess.Popen([sys.executable, "-m", "tests.sla.timer_worker_process", database_url,
                                 str(clock.path), str(calls)], cwd=ROOT) for _ in range(3)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]

    made = [json.loads(line) for line in calls.read_text().splitlines()]
    fired = Counter((c["params"]["tracking_id"], c["params"]["event"]) for c in made)
    assert fired == Counter({(t, e): 1 for t in tracking_ids for e in ("deadline_approaching", "deadline_missed")})
    assert len({c["pid"] for c in made}) >= 2, "the work was not shared: one process did it all"
    assert sla.fire_due() == 0
