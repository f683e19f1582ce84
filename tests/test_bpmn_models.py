"""Every model in bpmn/ passes `make lint`: bpmnlint's recommended rules as .bpmnlintrc configures them, and
bpmn/check.mjs (it parses without a warning, its references resolve, every flow node and sequence flow is
drawn), so that it opens with its layout in bpmn.io and Camunda Modeler. Both run on Node."""

import shutil
import subprocess

import pytest

from tests.support import ROOT

MODELS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "bpmn").glob("*.bpmn"))
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (make system-deps installs it)")


@pytest.fixture(scope="module")
def node_modules():
    if not (ROOT / "node_modules" / ".package-lock.json").exists():
        pytest.fail("node_modules/ is missing: run `make npm` (make test does)")
    return ROOT / "node_modules"


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_there_are_models():
    assert "bpmn/report_lifecycle.bpmn" in MODELS


def test_the_models_pass_bpmnlint(node_modules):
    result = run(NODE, str(node_modules / "bpmnlint" / "bin" / "bpmnlint.js"), *MODELS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_models_open_in_the_modelers(node_modules):
    result = run(NODE, "bpmn/check.mjs", *MODELS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{model}: ok" for model in MODELS]


def test_the_check_finds_what_a_modeler_could_not_draw(node_modules, tmp_path):
    model = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
    edge = model.index('<bpmndi:BPMNEdge id="flow_merge_routing_assign_agency_di"')
    broken = model[:edge] + model[model.index("</bpmndi:BPMNEdge>", edge) + len("</bpmndi:BPMNEdge>"):]
    broken = broken.replace("<bpmn:incoming>flow_decision_outcome_merge_routing</bpmn:incoming>",
                            "<bpmn:incoming>flow_nowhere</bpmn:incoming>")
    path = tmp_path / "broken.bpmn"
    path.write_text(broken)
    result = run(NODE, "bpmn/check.mjs", str(path))
    assert result.returncode == 1
    assert f"{path}: import warning: unresolved reference <flow_nowhere>" in result.stdout
    assert f"{path}: flow_merge_routing_assign_agency: no BPMNEdge in the diagram" in result.stdout
