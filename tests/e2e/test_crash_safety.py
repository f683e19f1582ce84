"""Crash safety, the short form of tests/e2e/crash.py: a few reports through their whole lifecycle while
services are killed with SIGKILL and restarted, and PostgreSQL crashes once; none lost, none doubled,
none stuck, no e-mail sent twice (the checks are crash.check's)."""

import pytest

from services.plumbing.local_system import SERVICES
from tests.e2e import crash

pytestmark = pytest.mark.e2e


def test_reports_survive_services_killed_at_random_and_a_postgres_crash(tmp_path):
    figures = crash.run(reports=40, kill_every=0.5, seed=1708, folder=tmp_path)
    assert set(figures.kills) == set(SERVICES), f"not every service was killed: {figures}"
    print(figures)
