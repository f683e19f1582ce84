"""The engine's wiring around SpiffWorkflow: what it costs per step and what it leaves behind."""

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine, parse_model
from tests.sla.recording_caller import RecordingCaller

MODEL = (Path(__file__).resolve().parents[2] / "bpmn" / "report_lifecycle.bpmn").read_text()
WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)


@pytest.fixture
def engine(clock):
    clock.set(MONDAY)
    return Engine(calendar=WorkingCalendar(), caller=RecordingCaller(clock), clock=clock)


@pytest.fixture
def model():
    return parse_model(MODEL, "report_lifecycle")


def start(engine, model):
    return engine.start(model, {"tracking_id": "LAP-TEST0001", "submitted_at": MONDAY.isoformat(),
                                "category": "infrastruktur", "region_code": "6310", "suggested_agency_id": ""})


def test_a_step_logs_no_task_state_changes_at_info(engine, model, caplog):
    with caplog.at_level(logging.INFO):
        workflow = start(engine, model)
        assert engine.run(workflow) is None
    assert [r for r in caplog.records if r.name.startswith("spiff")] == []


def test_a_process_logging_at_debug_keeps_the_engines_own_lines(clock, model, caplog):
    spiff = logging.getLogger("spiff")
    earlier = spiff.level
    spiff.setLevel(logging.NOTSET)  # as in a new process: other tests' engines quieted it
    try:
        with caplog.at_level(logging.DEBUG):
            clock.set(MONDAY)
            engine = Engine(calendar=WorkingCalendar(), caller=RecordingCaller(clock), clock=clock)
            assert engine.run(start(engine, model)) is None
        assert any(r.name.startswith("spiff") for r in caplog.records)
    finally:
        spiff.setLevel(earlier)


def test_a_failed_task_is_retried_unless_the_caller_knows_there_is_none(engine, model):
    workflow = start(engine, model)
    engine.script_engine.caller.failing.add("notify/SendNotification")
    assert engine.run(workflow) is not None
    engine.script_engine.caller.failing.clear()
    assert engine.run(workflow, retry_failed=False) is None
    assert engine.describe(workflow).status == "failed"  # left as it was: the walk for failed tasks skipped
    assert engine.run(workflow) is None
    assert engine.describe(workflow).status == "running"
