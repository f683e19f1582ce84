"""deploy/: the Kubernetes overlays render offline and pass `kubernetes-validate --strict`, the compose file
passes `docker-compose config`, and both hold what the code needs: every service, its port, its probes, its
security context, and network policies that let each service reach exactly what its code calls.

Rendering uses `kustomize build` when a kustomize binary is there, else `kubectl kustomize` (make
system-deps installs Debian's kubernetes-client when there is no kubectl); the overlays keep to what
kustomize v2.0.3, the one in Debian 12's kubectl, understands. Like chromium, a missing tool is a failure.
"""

import ast
import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from services.plumbing import config
from tests.support import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
TARGETS = ["base", "overlays/development", "overlays/production"]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py") if p.parent.name != "plumbing")
PORTS = {name: int(config.get(f"{name.upper()}_PORT")) for name in SERVICES}
DECLARED = {s.name for s in config.SETTINGS}
UID = 10001


def calls_in_code(service: str) -> set[str]:
    """The services `service` opens channels to: ctx.channel("x"), ctx.channel(name) for name in (...),
    and ctx.outbox_relay_to_sla()."""
    found: set[str] = set()
    for path in (ROOT / "services" / service).glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.GeneratorExp, ast.DictComp, ast.ListComp, ast.SetComp)):
                loop_values = {gen.target.id: [e.value for e in gen.iter.elts if isinstance(e, ast.Constant)]
                               for gen in node.generators
                               if isinstance(gen.target, ast.Name) and isinstance(gen.iter, (ast.Tuple, ast.List))}
                for call in ast.walk(node):
                    if _is_ctx_call(call, "channel") and isinstance(call.args[0], ast.Name):
                        found.update(loop_values.get(call.args[0].id, []))
            if _is_ctx_call(node, "channel") and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
            if _is_ctx_call(node, "outbox_relay_to_sla"):
                found.add("sla")
    return found


def _is_ctx_call(node, method: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "ctx"
            and (method != "channel" or len(node.args) == 1))


def render_command(target: str) -> list[str]:
    if kustomize := shutil.which("kustomize"):
        return [kustomize, "build", str(K8S / target)]
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize", str(K8S / target)]
    pytest.fail("neither kustomize nor kubectl is installed: `make system-deps` installs Debian's kubernetes-client")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Each target rendered once: (the file it was written to, its documents)."""
    out = {}
    folder = tmp_path_factory.mktemp("rendered")
    for target in TARGETS:
        done = subprocess.run(render_command(target), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"rendering {target} failed:\n{done.stderr}"
        path = folder / (target.replace("/", "-") + ".yaml")
        path.write_text(done.stdout, encoding="utf-8")
        out[target] = (path, [d for d in yaml.safe_load_all(done.stdout) if d])
    return out


def of_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def kubernetes_validate() -> str:
    found = shutil.which("kubernetes-validate") or str(Path(sys.executable).with_name("kubernetes-validate"))
    assert Path(found).exists(), "kubernetes-validate is not installed: it is in pyproject.toml's dev extras"
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_every_rendered_manifest_passes_strict_validation(target, rendered):
    path, docs = rendered[target]
    assert docs, f"{target} rendered nothing"
    done = subprocess.run([kubernetes_validate(), "--strict", "--quiet", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_strict_validation_refuses_a_misspelt_field(tmp_path, rendered):
    _, docs = rendered["base"]
    deployment = copy.deepcopy(of_kind(docs, "Deployment")["intake"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(deployment), encoding="utf-8")
    done = subprocess.run([kubernetes_validate(), "--strict", "--quiet", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "readinesProbe" in done.stdout + done.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_every_service_has_a_deployment_a_service_and_a_network_policy(target, rendered):
    _, docs = rendered[target]
    for kind in ("Deployment", "Service", "NetworkPolicy"):
        missing = set(SERVICES) - set(of_kind(docs, kind))
        assert not missing, f"{target}: no {kind} for {sorted(missing)}"
    assert {"default-deny", "allow-dns", "allow-postgres"} <= set(of_kind(docs, "NetworkPolicy"))


@pytest.mark.parametrize("target", TARGETS)
def test_each_deployment_runs_its_service_with_probes_resources_and_a_locked_down_context(target, rendered):
    _, docs = rendered[target]
    deployments = of_kind(docs, "Deployment")
    assert set(deployments) == {*SERVICES, "sla-timers"}
    for name, deployment in deployments.items():
        service = "sla" if name == "sla-timers" else name
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["args"] == [f"services.{service}"], name
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        assert env[f"{service.upper()}_PORT"] == str(PORTS[service]), name
        assert {p["containerPort"] for p in container["ports"] if p["name"] == "grpc"} == {PORTS[service]}, name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if name == "portal":
                assert container[probe]["httpGet"]["path"] == "/healthz", (name, probe)
                assert container[probe]["httpGet"]["port"] in ("http", int(env["PORTAL_HTTP_PORT"])), (name, probe)
            else:
                assert container[probe]["grpc"]["port"] == PORTS[service], (name, probe)
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == UID, name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        tmp = [m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp and any(v["name"] == tmp[0] and "emptyDir" in v for v in pod["volumes"]), name
        assert set(env) <= DECLARED, f"{name}: undeclared settings {set(env) - DECLARED}"


@pytest.mark.parametrize("target", TARGETS)
def test_sla_timers_run_apart_and_only_stateless_services_autoscale(target, rendered):
    _, docs = rendered[target]
    deployments = of_kind(docs, "Deployment")
    role = {n: {e["name"]: e["value"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}["SLA_ROLE"]
            for n, d in deployments.items() if n.startswith("sla")}
    assert role == {"sla": "api", "sla-timers": "timers"}
    scaled = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler").values()}
    assert scaled == set(SERVICES)
    assert "sla-timers" not in of_kind(docs, "Service")
    # the Service named sla reaches the API only, never a timer worker
    selector = of_kind(docs, "Service")["sla"]["spec"]["selector"]
    timer_labels = deployments["sla-timers"]["spec"]["template"]["metadata"]["labels"]
    assert not all(timer_labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("target", TARGETS)
def test_prometheus_scrapes_each_pods_metrics_port_from_the_monitoring_namespace_only(target, rendered):
    _, docs = rendered[target]
    assert of_kind(docs, "ConfigMap")["sp4n-config"]["data"]["SP4N_METRICS_HOST"] == "0.0.0.0"
    for name, deployment in of_kind(docs, "Deployment").items():
        service = "sla" if name == "sla-timers" else name
        metrics_port = int(config.get(f"{service.upper()}_METRICS_PORT"))
        template = deployment["spec"]["template"]
        [container] = template["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        assert env.get(f"{service.upper()}_METRICS_PORT", str(metrics_port)) == str(metrics_port), name
        assert {p["name"]: p["containerPort"] for p in container["ports"]}["metrics"] == metrics_port, name
        annotations = template["metadata"]["annotations"]
        assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"],
                annotations["prometheus.io/path"]) == ("true", str(metrics_port), "/metrics"), name
    scrape = of_kind(docs, "NetworkPolicy")["allow-metrics-scrape"]["spec"]
    assert scrape["podSelector"] == {} and scrape["policyTypes"] == ["Ingress"]
    [rule] = scrape["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": "metrics"}]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def _names(peers) -> set[str]:
    return {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in peers if "podSelector" in p}


@pytest.mark.parametrize("target", TARGETS)
def test_network_policies_let_each_service_reach_exactly_what_its_code_calls(target, rendered):
    _, docs = rendered[target]
    policies = of_kind(docs, "NetworkPolicy")
    calls = {name: calls_in_code(name) for name in SERVICES}
    assert calls["sla"] and calls["portal"], "no channels found in the code: the parser no longer sees them"
    calls["sla-timers"] = calls["sla"]
    for name, callees in calls.items():
        policy = policies[name]["spec"]
        assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == name
        reached = {}
        for rule in policy.get("egress", []):
            for peer in _names(rule.get("to", [])):
                reached[peer] = {p["port"] for p in rule["ports"]}
        assert set(reached) == callees, f"{name}: egress to {sorted(reached)}, the code calls {sorted(callees)}"
        for callee, ports in reached.items():
            assert ports == {PORTS[callee]}, (name, callee)
    for callee in SERVICES:
        if callee == "portal":
            continue
        callers = {name for name, callees in calls.items() if callee in callees}
        allowed = set()
        for rule in policies[callee]["spec"].get("ingress", []):
            allowed |= _names(rule.get("from", []))
            assert {p["port"] for p in rule["ports"]} == {PORTS[callee]}, callee
        assert allowed == callers, f"{callee}: ingress from {sorted(allowed)}, called by {sorted(callers)}"
    portal_in = policies["portal"]["spec"]["ingress"]
    assert [{p["port"] for p in rule["ports"]} for rule in portal_in] == [{int(config.get("PORTAL_HTTP_PORT"))}]


@pytest.mark.parametrize("target", TARGETS)
def test_the_addresses_and_credentials_are_configured(target, rendered):
    _, docs = rendered[target]
    data = of_kind(docs, "ConfigMap")["sp4n-config"]["data"]
    for name in SERVICES:
        if name != "portal":
            assert data[f"{name.upper()}_SERVICE_ADDR"] == f"{name}:{PORTS[name]}"
    secret = of_kind(docs, "Secret")["sp4n-credentials"]["stringData"]
    assert set(secret) == {"DATABASE_URL", "SP4N_IDENTITY_KEY"}
    assert all("REPLACE-ME" in value for value in secret.values()), "the Secret is a template: placeholders only"
    assert len(secret["SP4N_IDENTITY_KEY"]) >= 32
    assert set(data) | set(secret) <= DECLARED
    for deployment in of_kind(docs, "Deployment").values():
        sources = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"sp4n-config", "sp4n-credentials"} == {next(iter(s.values()))["name"] for s in sources}


def test_the_overlays_set_the_image_replicas_and_namespace(rendered):
    for target, tag in (("overlays/development", ":dev"), ("overlays/production", ":1.0.0")):
        _, docs = rendered[target]
        images = {d["spec"]["template"]["spec"]["containers"][0]["image"] for d in of_kind(docs, "Deployment").values()}
        assert len(images) == 1 and images.pop().endswith(tag), target
        [namespace] = of_kind(docs, "Namespace")
        assert all(d["metadata"].get("namespace") == namespace for d in docs if d["kind"] != "Namespace")
    dev, prod = (of_kind(rendered[t][1], "Deployment") for t in TARGETS[1:])
    assert all(d["spec"]["replicas"] == 1 for d in dev.values())
    assert all(d["spec"]["replicas"] >= 2 for d in prod.values())


# --- compose -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose():
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.fail("docker-compose is not installed: `make system-deps` installs Debian's docker-compose")
    command = [tool, "-f", str(DEPLOY / "compose.yaml"), "--env-file", str(DEPLOY / "sp4n.env.example"), "config"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=DEPLOY)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_compose_runs_every_service_from_the_image_locked_down_and_health_checked(compose):
    services = compose["services"]
    assert set(services) == {*SERVICES, "postgres"}
    for name in SERVICES:
        s = services[name]
        assert s["command"] == [f"services.{name}"], name
        assert s["read_only"] is True and s["user"] == f"{UID}:{UID}", name
        assert any(t.startswith("/tmp") for t in s["tmpfs"]), name
        assert s["cap_drop"] == ["ALL"], name
        env = s["environment"]
        assert set(env) <= DECLARED, f"{name}: undeclared settings {set(env) - DECLARED}"
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert len(env["SP4N_IDENTITY_KEY"]) >= 32
        assert env[f"{name.upper()}_PORT"] == str(PORTS[name])
        for other in calls_in_code(name):
            assert env[f"{other.upper()}_SERVICE_ADDR"] == f"{other}:{PORTS[other]}", (name, other)
        check = s["healthcheck"]["test"]
        assert check[:4] == ["CMD", "python", "-m", "services.plumbing.healthcheck"], name
        expected = f"http://127.0.0.1:{env['PORTAL_HTTP_PORT']}/healthz" if name == "portal" else str(PORTS[name])
        assert check[4] == expected, name
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy", name


def test_compose_refuses_to_start_without_the_secrets(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("", encoding="utf-8")
    done = subprocess.run([shutil.which("docker-compose") or "docker-compose", "-f", str(DEPLOY / "compose.yaml"),
                           "--env-file", str(empty), "config", "-q"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr or "SP4N_IDENTITY_KEY" in done.stderr, done.stderr


# --- the image -----------------------------------------------------------------------------------------

def test_the_dockerfile_builds_in_two_stages_and_runs_as_a_fixed_non_root_user():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    assert len([line for line in lines if line.startswith("FROM ")]) == 2
    assert "grpc_tools.protoc" in text
    assert f"ARG UID={UID}" in text and "USER ${UID}:${UID}" in text
    exposed = {int(p) for line in lines if line.startswith("EXPOSE ") for p in line.split()[1:]}
    assert exposed == {*PORTS.values(), int(config.get("PORTAL_HTTP_PORT"))}
    for setting in ("HOME=/tmp", "PYTHONDONTWRITEBYTECODE=1", "XDG_CACHE_HOME=/tmp/", "PIP_NO_CACHE_DIR=1"):
        assert setting in text, setting
    assert 'ENTRYPOINT ["python", "-m"]' in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "gen", "node_modules"} <= set(ignored)
