"""The portal app wired to a real intake server on the test database and to stand-ins for sla and
notify, every call carrying the portal's signed identity as in production."""

import socket

import pytest

from services.intake import grpc_api as intake_api
from services.intake.service import IntakeService
from services.plumbing import channels, identity
from services.plumbing.grpc_server import GrpcServer
from services.portal import web
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.sla.v1 import sla_pb2_grpc
from tests.intake.reports import T0
from tests.portal.fakes import FakeNotify, FakeSla, registrations
from tests.support import IDENTITY_KEY


@pytest.fixture
def grpc_address():
    """Starts a gRPC server with the given servicers on a free port; returns its address."""
    servers = []

    def start(name: str, *servicers) -> str:
        server = GrpcServer(name=name, identity_key=IDENTITY_KEY, threads=8)
        for register, service_name in servicers:
            server.add(register, service_name)
        servers.append(server)
        return f"127.0.0.1:{server.start(0, host='127.0.0.1')}"

    yield start
    for server in servers:
        server.stop(0)


@pytest.fixture
def closed_address():
    """An address where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def intake_address(grpc_address, pool, clock):
    clock.set(T0)
    return grpc_address("intake", intake_api.register(IntakeService(pool=pool, clock=clock)))


@pytest.fixture
def fake_sla():
    return FakeSla()


@pytest.fixture
def fake_notify():
    return FakeNotify()


@pytest.fixture
def others_address(grpc_address, fake_sla, fake_notify):
    return grpc_address("others", *registrations(fake_sla, fake_notify))


@pytest.fixture
def make_app():
    """The portal app over intake, sla and notify at the given addresses."""
    opened = []

    def make(intake: str, sla: str, notify: str, intake_timeout: float = 5.0):
        signer = identity.ServiceSigner("portal", IDENTITY_KEY)
        intake_channel, sla_channel, notify_channel = (channels.connect(a, signer) for a in (intake, sla, notify))
        opened.extend([intake_channel, sla_channel, notify_channel])
        app = web.create_app(intake=intake_pb2_grpc.IntakeServiceStub(intake_channel),
                             sla=sla_pb2_grpc.SlaServiceStub(sla_channel),
                             notify=notify_pb2_grpc.NotifyServiceStub(notify_channel),
                             identity_key=IDENTITY_KEY, intake_timeout=intake_timeout, extra_timeout=1.0)
        return app

    yield make
    for channel in opened:
        channel.close()


@pytest.fixture
def app(make_app, intake_address, others_address):
    return make_app(intake_address, others_address, others_address)


@pytest.fixture
def client(app):
    return app.test_client()
