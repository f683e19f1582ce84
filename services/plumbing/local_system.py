"""The whole system on one machine: `make run`, the end-to-end tests and bench/lifecycle.py.

Starts an embedded PostgreSQL unless DATABASE_URL is set, then each service as its own
process (`python -m services.<name>`), waits until every health check answers SERVING,
and stops them all with SIGTERM on Ctrl-C. `whole_system` does the same on a given database
with a controllable clock, for the end-to-end tests and the lifecycle benchmark alike.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.plumbing import config
from services.plumbing.clock import FileClock
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2_grpc
from sp4n.verification.v1 import verification_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
# Start order: those that others call first; sla deploys its model at start.
SERVICES = ("routing", "notify", "verification", "intake", "sla", "portal")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(address: str, timeout: float = 1.0) -> str:
    """The overall health status of the gRPC server at `address`, or UNREACHABLE."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


class LocalSystem:
    """Six service processes sharing one database; `env` overrides their environment."""

    def __init__(self, env: dict[str, str], log_dir: Path | None = None):
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def port(self, service: str) -> int:
        return int(self.env.get(f"{service.upper()}_PORT") or config.get(f"{service.upper()}_PORT"))

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.port(service)}"

    def start_service(self, name: str) -> None:
        out = open(self.log_dir / f"{name}.log", "ab") if self.log_dir else None
        try:
            # A session of its own: Ctrl-C reaches only the launcher, which then sends one SIGTERM.
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=self.env, stdout=out,
                stderr=subprocess.STDOUT if out else None, start_new_session=True)
        finally:
            if out:
                out.close()  # the child has its own copy

    def wait_healthy(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while health(self.address(name)) != "SERVING":
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode} before it was healthy")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} was not healthy within {timeout:.0f} s")
            time.sleep(0.1)

    def start(self) -> None:
        for name in SERVICES:
            self.start_service(name)
        for name in SERVICES:
            self.wait_healthy(name)

    def stop_service(self, name: str, timeout: float = 15.0) -> int:
        """Stops one service with SIGTERM; its exit code (0 when it stopped gracefully)."""
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        return self._wait(process, timeout)

    def stop(self, timeout: float = 15.0) -> dict[str, int]:
        """Stops every service at once. One SIGTERM each: a second one could reach a process that
        has already stopped gracefully while the interpreter shuts down, and kill it."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {name: self._wait(process, timeout) for name, process in self.processes.items()}
        self.processes.clear()
        return codes

    @staticmethod
    def _wait(process: subprocess.Popen, timeout: float) -> int:
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def exited(self) -> dict[str, int]:
        return {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}


class Mailbox:
    """A real SMTP server on a free port that keeps what it receives; a context manager that runs it.

    aiosmtpd is a development dependency: it is imported only when a mailbox is made."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[list[str], str]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"

    def __enter__(self) -> "Mailbox":
        self.controller.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.controller.stop()


class Running:
    """A started system and gRPC stubs to reach each of its services."""

    def __init__(self, system: LocalSystem, clock: FileClock, http_port: int):
        self.system, self.clock, self.http_port = system, clock, http_port
        self.identity_key = system.env["SP4N_IDENTITY_KEY"]
        self.channels = {name: grpc.insecure_channel(system.address(name)) for name in SERVICES}
        self.intake = intake_pb2_grpc.IntakeServiceStub(self.channels["intake"])
        self.verification = verification_pb2_grpc.VerificationServiceStub(self.channels["verification"])
        self.routing = routing_pb2_grpc.RoutingServiceStub(self.channels["routing"])
        self.sla = sla_pb2_grpc.SlaServiceStub(self.channels["sla"])
        self.notify = notify_pb2_grpc.NotifyServiceStub(self.channels["notify"])

    @property
    def portal(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def close(self):
        for channel in self.channels.values():
            channel.close()


@contextlib.contextmanager
def whole_system(database_url: str, folder: Path, http_port: int, *, identity_key: str,
                 **settings: str) -> Iterator[Running]:
    """Every service as its own process on free ports, a clock file in `folder`, demo data, short
    poll intervals, and `settings` on top; each service must stop cleanly at the end."""
    clock = FileClock(folder / "clock.json")
    env = {
        "DATABASE_URL": database_url,
        "SP4N_IDENTITY_KEY": identity_key,
        "SP4N_CLOCK": f"file:{clock.path}",
        "SP4N_DEMO_DATA": "1",
        "SP4N_OUTBOX_POLL_SECONDS": "0.2",
        "SLA_TIMER_POLL_SECONDS": "0.2",
        "SLA_RETRY_BASE_SECONDS": "0.5",
        "SLA_BPMN_DIR": str(ROOT / "bpmn"),
        "PORTAL_HTTP_PORT": str(http_port),
        **settings,
    }
    for name in SERVICES:
        port = free_port()
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_SERVICE_ADDR"] = f"127.0.0.1:{port}"
        env[f"{name.upper()}_METRICS_PORT"] = str(free_port())
    system = LocalSystem(env, log_dir=folder)
    try:
        system.start()
    except Exception:
        system.stop()
        raise RuntimeError("the system did not start; logs:\n" + "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(folder.glob("*.log"))))
    running = Running(system, clock, http_port)
    try:
        yield running
    finally:  # a failing caller still stops every process, or they outlive it (and warn in the next test)
        running.close()
        codes = system.stop()
    assert codes == {name: 0 for name in SERVICES}, f"not every service stopped cleanly: {codes}"


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        from services.plumbing import embedded_postgres
        print("starting the embedded PostgreSQL (set DATABASE_URL to use your own)", flush=True)
        url = embedded_postgres.start(ROOT / ".run" / "pgdata")
    env = {
        "DATABASE_URL": url,
        "SP4N_IDENTITY_KEY": os.environ.get("SP4N_IDENTITY_KEY") or secrets.token_urlsafe(32),
        "SP4N_DEMO_DATA": os.environ.get("SP4N_DEMO_DATA", "1"),
        "SLA_BPMN_DIR": str(ROOT / "bpmn"),
    }
    system = LocalSystem(env)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGHUP, lambda *_: stopping.set())
    try:
        system.start()
        portal = f"http://{config.get('PORTAL_HTTP_HOST')}:{config.get('PORTAL_HTTP_PORT')}/"
        print("\nSP4N is running: every service answers SERVING.", flush=True)
        for name in SERVICES:
            print(f"  {name:<13} gRPC {system.address(name)}  pid {system.processes[name].pid}")
        print(f"\n  portal: {portal}\n  staff:  {portal}staf/masuk", flush=True)
        if env["SP4N_DEMO_DATA"] == "1":  # their passwords derive from the identity key: the portal logs them
            print('          demo accounts: the portal\'s "demo staff account" lines above', flush=True)
        print(f"  clock: {os.environ.get('SP4N_CLOCK', 'system')}\n\nCtrl-C stops everything.", flush=True)
        while not stopping.wait(1.0):
            if dead := system.exited():
                print(f"stopping: a service exited {dead}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError) as e:  # its own log, above, says why
        print(f"\nSP4N did not start: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("\nstopping every service...", flush=True)
        codes = system.stop()
        print("stopped: " + ", ".join(f"{n} ({c})" for n, c in codes.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
