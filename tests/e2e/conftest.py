"""The whole system as separate processes against a real PostgreSQL, SMTP server and clock file."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from aiosmtpd.controller import Controller

from services.plumbing.clock import FileClock
from services.plumbing.local_system import SERVICES, LocalSystem, free_port
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2_grpc
from sp4n.verification.v1 import verification_pb2_grpc
from tests.support import IDENTITY_KEY, ROOT


class Mailbox:
    """A real SMTP server on a free port that keeps what it receives."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


class Running:
    """A started system and gRPC stubs to reach each of its services."""

    def __init__(self, system: LocalSystem, clock: FileClock, http_port: int):
        self.system, self.clock, self.http_port = system, clock, http_port
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
def whole_system(database_url: str, folder: Path, http_port: int, **settings: str) -> Iterator["Running"]:
    """Every service as its own process on free ports, a clock file in `folder`, demo data, short
    poll intervals, and `settings` on top; each service must stop cleanly at the end."""
    clock = FileClock(folder / "clock.json")
    env = {
        "DATABASE_URL": database_url,
        "SP4N_IDENTITY_KEY": IDENTITY_KEY,
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
    finally:  # a failing test still stops every process, or they outlive it (and warn in the next test)
        running.close()
        codes = system.stop()
    assert codes == {name: 0 for name in SERVICES}, f"not every service stopped cleanly: {codes}"


@pytest.fixture(scope="module")
def running(make_database, tmp_path_factory, mailbox):
    with whole_system(make_database(), tmp_path_factory.mktemp("system"), free_port(),
                      NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(mailbox.port)) as system:
        yield system


def eventually(check, timeout=60.0, interval=0.1, what="condition"):
    """Polls `check` until it returns a truthy value; fails with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except grpc.RpcError as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s; last: {last!r}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
