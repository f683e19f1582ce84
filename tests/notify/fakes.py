"""Test doubles that talk the real protocols: a fake intake over gRPC and a real SMTP server."""

import email
import email.policy
import socket

from aiosmtpd.controller import Controller

from services.plumbing import identity
from services.plumbing.errors import NotFound
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2
from tests.support import service_caller

MAIL_FROM = "noreply@lapor.go.id"
TRACKING_ID = "LAP-AAAA0001"
SITI = intake_pb2.ReporterContact(tracking_id=TRACKING_ID, name="Siti Aminah", phone="081234567890",
                                  email="siti.aminah@example.id", language="id", channel="web")
SLA = service_caller("sla")


class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """intake's GetReporterContact, answering from `contacts`; `failing` makes it answer with an error."""

    def __init__(self):
        self.contacts: dict[str, intake_pb2.ReporterContact] = {TRACKING_ID: SITI}
        self.callers: list[str] = []
        self.failing = False

    def GetReporterContact(self, request, context):
        caller = identity.current()
        self.callers.append(caller.subject)
        identity.require_service(caller, "notify")
        if self.failing:
            raise RuntimeError("intake's database is down")
        if request.tracking_id not in self.contacts:
            raise NotFound(f"no report {request.tracking_id}")
        return self.contacts[request.tracking_id]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler keeping every accepted message; refuses the addresses in `refuse` for good."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on a fixed port that can be stopped and started again."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def send(stub, tracking_id=TRACKING_ID, event="received", recipient="reporter", key=None, metadata=None,
         **fields) -> notify_pb2.Notification:
    request = notify_pb2.SendNotificationRequest(
        idempotency_key=key or f"{tracking_id}:{event}:{recipient}", tracking_id=tracking_id, event=event,
        recipient=recipient, **fields)
    return stub.SendNotification(request, metadata=metadata or SLA)
