"""The whole system on one machine: `make run`, and the end-to-end tests.

Starts an embedded PostgreSQL unless DATABASE_URL is set, then each service as its own
process (`python -m services.<name>`), waits until every health check answers SERVING,
and stops them all with SIGTERM on Ctrl-C.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.plumbing import config

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
