"""The portal app wired to a real intake server on the test database and to stand-ins for sla and
notify, every call carrying the portal's signed identity as in production; served by waitress for
tests that go through real HTTP, as a person's browser does (headless Chromium: tests/conftest.py)."""

import socket
import struct
import zlib

import grpc
import lxml.html
import pytest
import requests

from services.intake import grpc_api as intake_api
from services.intake.service import IntakeService
from services.plumbing import channels, identity
from services.plumbing.grpc_server import GrpcServer
from services.portal import web
from services.portal.http_server import HttpServer
from services.portal.regions import Region, Regions
from services.routing import demo
from services.routing import grpc_api as routing_api
from services.routing.regions import read_regions
from services.routing.service import RoutingService
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2_grpc
from sp4n.verification.v1 import verification_pb2_grpc
from tests.intake.reports import T0
from tests.portal.fakes import FakeNotify, FakeSla, registrations
from tests.support import IDENTITY_KEY

# The reference list the portal gets from routing at start, read here from routing's own data file.
REGIONS = Regions(Region(r.code, r.name, r.kind, r.parent_code) for r in read_regions())


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


def verification_stub(address: str | None, signer, opened: list):
    """A stub of verification at `address`, None without one (the console then answers 503)."""
    if address is None:
        return None
    opened.append(channels.connect(address, signer))
    return verification_pb2_grpc.VerificationServiceStub(opened[-1])


@pytest.fixture
def make_app(pool, clock):
    """The portal app over intake, sla and notify at the given addresses."""
    opened = []

    def make(intake: str, sla: str, notify: str, intake_timeout: float = 5.0, routing: str | None = None,
             verification: str | None = None):
        signer = identity.ServiceSigner("portal", IDENTITY_KEY)
        intake_channel, sla_channel, notify_channel, routing_channel = (
            channels.connect(a, signer) for a in (intake, sla, notify, routing or notify))  # no routing: none answers
        opened.extend([intake_channel, sla_channel, notify_channel, routing_channel])
        app = web.create_app(regions=REGIONS, intake=intake_pb2_grpc.IntakeServiceStub(intake_channel),
                             sla=sla_pb2_grpc.SlaServiceStub(sla_channel),
                             notify=notify_pb2_grpc.NotifyServiceStub(notify_channel),
                             routing=routing_pb2_grpc.RoutingServiceStub(routing_channel),
                             identity_key=IDENTITY_KEY, pool=pool, clock=clock, intake_timeout=intake_timeout,
                             extra_timeout=1.0, verification=verification_stub(verification, signer, opened))
        return app

    yield make
    for channel in opened:
        channel.close()


@pytest.fixture
def demo_routing(pool, clock) -> RoutingService:
    """routing with the reference list of regions and the demo directory and rules, as `make run` has it."""
    routing = RoutingService(pool=pool, clock=clock)
    routing.ensure_national_desk()  # the suite empties every table between tests
    routing.load_regions()
    demo.load(pool)
    return routing


@pytest.fixture
def routing_address(grpc_address, demo_routing) -> str:
    """A real routing server over `demo_routing`."""
    return grpc_address("routing", routing_api.register(demo_routing))


@pytest.fixture
def app(make_app, intake_address, others_address):
    return make_app(intake_address, others_address, others_address)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def portal_url(app):
    """The portal served by waitress as in production."""
    server = HttpServer(app, host="127.0.0.1", port=0, grace=2.0)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def intake_stub(intake_address):
    """Intake's API for moving reports along as the other services would (calls name their caller)."""
    with grpc.insecure_channel(intake_address) as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)


class Visitor:
    """A person's browser over real HTTP, without scripts: keeps its cookies, follows no redirect
    unless asked. Responses read like Flask's test client's (status_code, headers, text)."""

    def __init__(self, root: str):
        self.root = root
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.root + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, path: str, data: dict | None = None, files=None, **kwargs) -> requests.Response:
        return self.http.post(self.root + path, data=data, files=files, allow_redirects=False, timeout=60, **kwargs)

    def hidden_fields(self, path: str, action: str | None = None) -> dict[str, str]:
        """The hidden fields (CSRF token, nonce) of the form on a page, the first or the one posting to `action`."""
        html = lxml.html.fromstring(self.get(path).text)
        form = html.xpath(f"//form[@action='{action}']" if action else "//main//form")[0]
        return {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}


@pytest.fixture
def visitor(portal_url):
    """Makes people visiting the portal, each with a browser of their own."""
    made = []

    def visit() -> Visitor:
        made.append(Visitor(portal_url))
        return made[-1]

    yield visit
    for v in made:
        v.http.close()


@pytest.fixture
def serve_app():
    """Serves a portal app (from make_app) by waitress; returns a visitor of it."""
    servers, made = [], []

    def serve(app) -> Visitor:
        server = HttpServer(app, host="127.0.0.1", port=0, grace=2.0)
        server.start()
        servers.append(server)
        made.append(Visitor(server.url))
        return made[-1]

    yield serve
    for v in made:
        v.http.close()
    for server in servers:
        server.stop()


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG image (grey pixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def browser_page(open_page):
    return open_page()
