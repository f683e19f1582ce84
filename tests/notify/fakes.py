"""Test doubles that talk the real protocols: a fake intake over gRPC, a real SMTP server, and HTTP
servers that record every request and answer as told (the SMS gateway, the X API)."""

import asyncio
import email
import email.policy
import http.server
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import timedelta

import grpc
import psycopg
from aiosmtpd.controller import Controller
from psycopg.rows import dict_row

from services.plumbing import identity
from services.plumbing.errors import NotFound
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2
from sp4n.routing.v1 import routing_pb2, routing_pb2_grpc
from tests.support import service_caller

MAIL_FROM = "noreply@lapor.go.id"
PUBLIC_URL = "https://www.lapor.go.id"
SMS_USER, SMS_PASSWORD, SMS_FROM = "sp4n", "gateway-password", "1708"
X_TOKEN = "x-bearer-token"
TRACKING_ID = "LAP-AAAA0001"
SITI = intake_pb2.ReporterContact(tracking_id=TRACKING_ID, name="Siti Aminah", phone="081234567890",
                                  email="siti.aminah@example.id", language="id", channel="web")
# Reporters who came by SMS (no e-mail address) and by X (no contact but the tweet).
BUDI = intake_pb2.ReporterContact(tracking_id="LAP-AAAA0002", phone="6281298765432", language="id", channel="sms",
                                  channel_message_id="0e5b7f8c-9a39-4c1e-8a0b-5d8f1c6e2a77")
RINA = intake_pb2.ReporterContact(tracking_id="LAP-AAAA0003", name="Rina", language="en", channel="x",
                                  x_user_id="1234567890", x_handle="rina_bjm", channel_message_id="1790000000000000000")
SLA = service_caller("sla")


class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """intake's GetReporterContact and GetReporterContacts, answering from `contacts`, and GetReport,
    telling the agency of `assigned`; `failing` makes it answer with an error."""

    def __init__(self):
        self.contacts: dict[str, intake_pb2.ReporterContact] = {c.tracking_id: c for c in (SITI, BUDI, RINA)}
        self.assigned: dict[str, str] = {}
        self.callers: list[str] = []
        self.methods: list[str] = []  # of the contact calls, in the order made
        self.failing = False

    def GetReport(self, request, context):
        identity.require_service(identity.current(), "notify")
        if request.tracking_id not in self.contacts:
            raise NotFound(f"no report {request.tracking_id}")
        return intake_pb2.Report(tracking_id=request.tracking_id,
                                 agency_id=self.assigned.get(request.tracking_id, ""))

    def GetReporterContact(self, request, context):
        self._asked("GetReporterContact")
        if request.tracking_id not in self.contacts:
            raise NotFound(f"no report {request.tracking_id}")
        return self.contacts[request.tracking_id]

    def GetReporterContacts(self, request, context):
        self._asked("GetReporterContacts")
        found = [intake_pb2.ReporterContact(tracking_id=t) for t in request.tracking_ids if t in self.contacts]
        for contact in found:  # as intake answers: each with its tracking ID, whatever `contacts` holds
            contact.MergeFrom(self.contacts[contact.tracking_id])
        return intake_pb2.GetReporterContactsResponse(contacts=found)

    def _asked(self, method: str) -> None:
        caller = identity.current()
        self.callers.append(caller.subject)
        self.methods.append(method)
        identity.require_service(caller, "notify")
        if self.failing:
            raise RuntimeError("intake's database is down")


class FakeDirectory(routing_pb2_grpc.RoutingServiceServicer):
    """routing's GetAgency, answering from `officers` (agency id: e-mail addresses); `failing` makes it
    answer UNAVAILABLE."""

    def __init__(self):
        self.officers: dict[str, list[str]] = {
            "nasional": ["admin.nasional@lapor.example"],
            "kab-tanah-bumbu-dinas-pupr": ["pengaduan@pupr.tanahbumbu.example", "kasi.jalan@pupr.tanahbumbu.example"],
            "kab-tanah-bumbu": ["pengaduan@tanahbumbukab.example"]}
        self.failing = False
        self.asked: list[str] = []

    def GetAgency(self, request, context):
        identity.require_service(identity.current(), "notify")
        self.asked.append(request.agency_id)
        if self.failing:
            context.abort(grpc.StatusCode.UNAVAILABLE, "routing is restarting")
        if request.agency_id not in self.officers:
            raise NotFound(f"no agency {request.agency_id}")
        return routing_pb2.Agency(id=request.agency_id, liaison_officers=[
            routing_pb2.LiaisonOfficer(name=f"Petugas {n}", email=address)
            for n, address in enumerate(self.officers[request.agency_id])])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler keeping every accepted message, and the client's end of the connection it came
    over (`peers`) and of each connection ended with QUIT (`quits`); refuses the addresses in `refuse`
    for good; with `drop_after_data`, keeps the next message and closes the connection instead of
    answering (the client cannot tell whether it was taken); answers DATA after `answer_after` seconds."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.peers: list[tuple[str, int]] = []
        self.quits: list[tuple[str, int]] = []
        self.drop_after_data = False
        self.answer_after = 0.0  # seconds the server takes to answer a message's DATA
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.peers.append(session.peer)
        if self.drop_after_data:
            self.drop_after_data = False
            server.transport.close()
        await asyncio.sleep(self.answer_after)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server, session, envelope):
        self.quits.append(session.peer)
        return "221 Bye"


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


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class RecordingHttpServer:
    """An HTTP server on a free port that records every request and answers `status` with `body`;
    change `status` and `body` to answer otherwise, or set `hang` to answer nothing for a while."""

    def __init__(self, status: int, body: str):
        self.status, self.body = status, body
        self.hang = 0.0
        self.requests: list[Recorded] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_request(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urllib.parse.urlsplit(self.path)
                outer.requests.append(Recorded(self.command, parts.path, dict(urllib.parse.parse_qsl(parts.query)),
                                               dict(self.headers), self.rfile.read(length)))
                if outer.hang:
                    threading.Event().wait(outer.hang)
                body = outer.body.encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = handle_request

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> "RecordingHttpServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def send(stub, tracking_id=TRACKING_ID, event="received", recipient="reporter", key=None, metadata=None,
         **fields) -> notify_pb2.Notification:
    request = notify_pb2.SendNotificationRequest(
        idempotency_key=key or f"{tracking_id}:{event}:{recipient}", tracking_id=tracking_id, event=event,
        recipient=recipient, **fields)
    return stub.SendNotification(request, metadata=metadata or SLA)


def reporters(intake, count: int, *, channel: str = "web") -> list[str]:
    """`count` reporters of their own reports, whom `intake` (a FakeIntake) knows, by e-mail (web) or by
    SMS; their tracking IDs."""
    ids = [f"LAP-RPTR{n:04d}" for n in range(count)]
    for n, tracking_id in enumerate(ids):
        intake.contacts[tracking_id] = (
            intake_pb2.ReporterContact(tracking_id=tracking_id, email=f"pelapor{n}@example.id", language="id",
                                       channel="web") if channel == "web" else
            intake_pb2.ReporterContact(tracking_id=tracking_id, phone=f"62812000{n:05d}", language="id",
                                       channel="sms", channel_message_id=f"sms-{n}"))
    return ids


def email_rows(database_url) -> list[dict]:
    """notify's e-mail notifications, oldest first."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM notify.notifications WHERE channel = 'email' ORDER BY id").fetchall()


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def assert_waits_its_turn(next_attempt_at, now, turn) -> None:
    """A retry is due after a wait with jitter: in the upper half of its turn (domain.backoff); a few
    seconds of slack for the time the attempt took."""
    waited = next_attempt_at - now
    assert turn / 2 - timedelta(seconds=5) <= waited <= turn + timedelta(seconds=5), (waited, turn)
