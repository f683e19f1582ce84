"""deploy/image.sh: builds deploy/Dockerfile (docker, or buildah without a daemon) and checks the image runs.

Building takes minutes and needs the network, so no test here builds. The run check is opt-in: with
SP4N_IMAGE set to a built image's tag (`make image` builds sp4n:dev), it runs the six services from that image
on the tests' PostgreSQL server (SP4N_TEST_DATABASE_URL, else DATABASE_URL, else the script's default
127.0.0.1:5432), in a database of its own, and expects each to answer its health check.
"""

import os
import re
import subprocess

import pytest

from tests.support import ROOT

SCRIPT = ROOT / "deploy" / "image.sh"
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py") if p.parent.name != "plumbing")


def test_the_script_parses_and_says_how_to_use_it_when_asked_nothing():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True).returncode == 0
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=10)
    assert done.returncode == 2
    for command in ("build", "base", "check"):
        assert f"deploy/image.sh {command}" in done.stderr


def test_the_run_check_starts_every_service():
    found = re.search(r"^SERVICES=\((.*)\)$", SCRIPT.read_text(encoding="utf-8"), re.MULTILINE)
    assert found and sorted(found.group(1).split()) == SERVICES


@pytest.mark.skipif(not os.environ.get("SP4N_IMAGE"), reason="opt-in: SP4N_IMAGE=sp4n:dev after `make image`")
def test_every_service_in_the_image_answers_serving():
    env = dict(os.environ)
    if server := os.environ.get("SP4N_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"):
        env["ADMIN_DATABASE_URL"] = server
    done = subprocess.run([str(SCRIPT), "check", os.environ["SP4N_IMAGE"]], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for service in SERVICES:
        assert f"{service}: SERVING" in done.stdout
