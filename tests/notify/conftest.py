"""Notify through a real gRPC server over PostgreSQL, with a fake intake served over gRPC (intake's
GetReporterContact only) and a real SMTP server (aiosmtpd) on a free port."""

import pytest

from services.notify import grpc_api
from services.notify.contacts import IntakeContacts
from services.notify.delivery import DeliveryWorker, SmtpMailer
from services.notify.service import NotifyService
from services.notify.templates import Templates
from services.plumbing import identity
from services.plumbing.channels import signed
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from tests.notify.fakes import MAIL_FROM, FakeIntake, SmtpServer
from tests.support import IDENTITY_KEY


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def intake(serve):
    fake = FakeIntake()
    channel = serve("intake", (lambda server: intake_pb2_grpc.add_IntakeServiceServicer_to_server(fake, server),
                               intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].full_name))
    # What ctx.channel("intake") gives the real service: calls signed as service "notify".
    fake.stub = intake_pb2_grpc.IntakeServiceStub(signed(channel, identity.ServiceSigner("notify", IDENTITY_KEY)))
    return fake


@pytest.fixture
def contacts(intake):
    return IntakeContacts(intake.stub, timeout=5)


@pytest.fixture
def make_stub(serve, pool, clock, contacts):
    def make(*, email_enabled: bool = True, contacts=contacts) -> notify_pb2_grpc.NotifyServiceStub:
        service = NotifyService(pool=pool, clock=clock, templates=Templates.load(), contacts=contacts,
                                email_enabled=email_enabled)
        return notify_pb2_grpc.NotifyServiceStub(serve("notify", grpc_api.register(service)))
    return make


@pytest.fixture
def stub(make_stub):
    return make_stub()


@pytest.fixture
def worker(pool, clock, contacts, smtp):
    w = DeliveryWorker(pool=pool, clock=clock, contacts=contacts, mail_from=MAIL_FROM, poll_seconds=0.2,
                       mailer=SmtpMailer(host="127.0.0.1", port=smtp.port, timeout=5), retry_base_seconds=60)
    yield w
    w.stop()
