"""SLA_ROLE splits sla into its API and its timer worker, so the timers can run in their own deployment."""

import grpc
import pytest

from services.plumbing import config, identity
from services.plumbing.process import Context
from services.sla import __main__ as sla_main
from services.sla.timers import TimerWorker
from tests.support import ROOT

KEY = "k" * 40


def built(role, monkeypatch, pool, clock):
    monkeypatch.setenv("SLA_ROLE", role)
    monkeypatch.setenv("SLA_BPMN_DIR", str(ROOT / "bpmn"))
    ctx = Context(name="sla", pool=pool, clock=clock, identity_key=KEY, signer=identity.ServiceSigner("sla", KEY))
    monkeypatch.setattr(Context, "channel", lambda self, name: grpc.insecure_channel("127.0.0.1:9"))
    servicers, workers = sla_main.build(ctx)
    return list(servicers), [type(w) for w in workers]


@pytest.mark.parametrize("role, serves, timers", [("all", True, True), ("api", True, False),
                                                  ("timers", False, True)])
def test_each_role_serves_the_api_or_runs_the_timer_worker(role, serves, timers, monkeypatch, pool, clock):
    servicers, workers = built(role, monkeypatch, pool, clock)
    assert bool(servicers) is serves
    assert (TimerWorker in workers) is timers


def test_all_is_the_default(monkeypatch):
    monkeypatch.delenv("SLA_ROLE", raising=False)
    assert sla_main.role() == "all"


def test_an_unknown_role_stops_the_start(monkeypatch):
    monkeypatch.setenv("SLA_ROLE", "worker")
    with pytest.raises(config.ConfigError, match="SLA_ROLE"):
        sla_main.role()
