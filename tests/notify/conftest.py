"""Notify through a real gRPC server over PostgreSQL, with a fake intake served over gRPC (intake's
GetReporterContact only), a real SMTP server (aiosmtpd) and HTTP servers standing in for the SMS
gateway and the X API, each on a free port."""

import pytest

from services.notify import grpc_api
from services.notify.contacts import IntakeContacts
from services.notify.delivery import DeliveryWorker
from services.notify.domain import Channel
from services.notify.senders import EmailSender, SmsSender, SmtpMailer, XSender
from services.notify.service import NotifyService
from services.notify.templates import Templates
from services.plumbing import identity
from services.plumbing.channels import signed
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.notify.fakes import (MAIL_FROM, PUBLIC_URL, SMS_FROM, SMS_PASSWORD, SMS_USER, X_TOKEN, FakeDirectory,
                                FakeIntake, RecordingHttpServer, SmtpServer)
from tests.support import IDENTITY_KEY


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def served_to_notify(serve, name: str, fake, module, grpc_module, service: str):
    """Serves `fake` as service `name`, and gives it `stub`: what ctx.channel(name) gives the real notify,
    calls signed as service "notify"."""
    add = getattr(grpc_module, f"add_{service}Servicer_to_server")
    channel = serve(name, (lambda server: add(fake, server), module.DESCRIPTOR.services_by_name[service].full_name))
    fake.stub = getattr(grpc_module, f"{service}Stub")(signed(channel, identity.ServiceSigner("notify", IDENTITY_KEY)))
    return fake


@pytest.fixture
def intake(serve):
    return served_to_notify(serve, "intake", FakeIntake(), intake_pb2, intake_pb2_grpc, "IntakeService")


@pytest.fixture
def directory(serve):
    return served_to_notify(serve, "routing", FakeDirectory(), routing_pb2, routing_pb2_grpc, "RoutingService")


@pytest.fixture
def contacts(intake, directory):
    return IntakeContacts(intake.stub, directory=directory.stub, timeout=5)


@pytest.fixture
def make_stub(serve, pool, clock, contacts):
    def make(*, channels=frozenset(Channel) - {Channel.IN_APP}, contacts=contacts) -> notify_pb2_grpc.NotifyServiceStub:
        service = NotifyService(pool=pool, clock=clock, templates=Templates.load(), contacts=contacts,
                                channels=frozenset(channels), public_url=PUBLIC_URL)
        return notify_pb2_grpc.NotifyServiceStub(serve("notify", grpc_api.register(service)))
    return make


@pytest.fixture
def stub(make_stub):
    return make_stub()


@pytest.fixture
def gateway():
    """The SMS gateway's sendsms API: answers 202 "0: Accepted for delivery" unless told otherwise."""
    with RecordingHttpServer(202, "0: Accepted for delivery") as server:
        yield server


@pytest.fixture
def x_api():
    """The X API's POST /2/tweets: answers 201 Created unless told otherwise."""
    with RecordingHttpServer(201, '{"data": {"id": "1790000000000000001", "text": "..."}}') as server:
        yield server


@pytest.fixture
def worker(pool, clock, contacts, smtp, gateway, x_api):
    email = EmailSender(mailer=SmtpMailer(host="127.0.0.1", port=smtp.port, timeout=5), mail_from=MAIL_FROM,
                        clock=clock)
    sms = SmsSender(url=f"{gateway.url}/cgi-bin/sendsms", user=SMS_USER, password=SMS_PASSWORD, sender=SMS_FROM,
                    timeout=5)
    x = XSender(api_url=x_api.url, bearer_token=X_TOKEN, timeout=5)
    w = DeliveryWorker(pool=pool, clock=clock, contacts=contacts, senders=[email, sms, x], poll_seconds=0.2,
                       retry_base_seconds=60)
    yield w
    w.stop()
