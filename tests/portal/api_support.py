"""For the REST API tests: the portal with its API served over real HTTP (waitress) on a free port,
over the real intake server and the stand-ins of sla and notify; API keys of each kind; a client
that checks every JSON answer against the schema the OpenAPI document declares for it."""

import base64
import json
import re

import psycopg
import pytest
import requests
from jsonschema import Draft202012Validator

from services.plumbing import channels, identity
from services.portal import api, api_keys, web
from services.portal.http_server import HttpServer
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2_grpc
from tests.intake.reports import AGENCY, row_counts
from tests.portal.conftest import REGIONS, png  # noqa: F401 (one image for every portal test)
from tests.support import IDENTITY_KEY

DOCUMENT = json.loads(api.OPENAPI.read_text())
PUBLIC_URL = "https://lapor.example"
OTHER_AGENCY = "kota-banjarmasin"
JSON_MEDIA_TYPES = ("application/json", "application/problem+json")


class OpenApi:
    """Finds what the document declares for a request and checks answers against it."""

    def __init__(self, document: dict):
        self.document = document
        self.paths = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template)
                      for template in document["paths"]]

    def operation(self, method: str, path: str) -> str | None:
        """The document's path of the operation for (method, request path), None if it has none."""
        relative = path.split("?")[0].removeprefix(api.PREFIX)
        matches = [t for pattern, t in self.paths if pattern.match(relative)
                   and method.lower() in self.document["paths"][t]]
        return min(matches, key=lambda t: t.count("{")) if matches else None  # literal segments win

    def response_pointer(self, method: str, path: str, status: int, media_type: str) -> str:
        """The JSON pointer of the schema declared for (method, path, status, media type); a path or
        method the API does not have answers with a problem."""
        template = self.operation(method, path)
        if template is None:
            assert status in (404, 405) and media_type == "application/problem+json", (method, path, status)
            return "/components/schemas/Problem"
        operation = self.document["paths"][template][method.lower()]
        key = str(status) if str(status) in operation["responses"] else "default"
        assert key in operation["responses"], f"{method} {template} declares no {status}"
        pointer = "/paths/" + _escape(template) + f"/{method.lower()}/responses/{key}"
        declared = operation["responses"][key]
        if "$ref" in declared:
            pointer = declared["$ref"].removeprefix("#")
            declared = self.resolve(declared["$ref"])
        assert media_type in declared.get("content", {}), \
            f"{method} {template} {status} declares {list(declared.get('content', {}))}, not {media_type}"
        return f"{pointer}/content/{_escape(media_type)}/schema"

    def resolve(self, ref: str):
        node = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validator(self, pointer: str) -> Draft202012Validator:
        # The document itself is the root schema, so that its "#/components/..." references resolve;
        # its other members are not keywords and are ignored.
        return Draft202012Validator({**self.document, "$ref": "#" + pointer},
                                    format_checker=Draft202012Validator.FORMAT_CHECKER)

    def check(self, response: requests.Response) -> None:
        request = response.request
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        pointer = self.response_pointer(request.method, request.path_url, response.status_code, media_type)
        self.validator(pointer).validate(response.json())

    def check_request(self, schema: str, body) -> None:
        self.validator(f"/components/schemas/{schema}").validate(body)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


OPENAPI = OpenApi(DOCUMENT)


class ApiClient:
    """HTTP to the API with a key (or none); every JSON answer is checked against the document."""

    def __init__(self, root: str, key: str | None = None, *, header: str = "bearer"):
        self.root = root
        self.session = requests.Session()
        if key is not None:
            self.session.headers.update({"Authorization": f"Bearer {key}"} if header == "bearer"
                                        else {"X-API-Key": key})

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, self.root + api.PREFIX + path, timeout=30, **kwargs)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type in JSON_MEDIA_TYPES and path != "/openapi.json":
            OPENAPI.check(response)
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.session.close()


def problem(response: requests.Response, status: int) -> dict:
    """The problem document of a refused request, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.json()


def refused_fields(response: requests.Response) -> dict[str, str]:
    return {e["field"]: e["detail"] for e in problem(response, 400).get("errors", [])}


# Reports

def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def report_body(**fields) -> dict:
    """A valid report as an app sends it; `fields` override any field (None leaves it out)."""
    body = {
        "type": "complaint", "title": "Jalan berlubang di Batulicin",
        "description": "Lubang besar di Jalan Raya Batulicin dekat pasar, membahayakan pengendara motor.",
        "incident_date": "2026-03-10T08:00:00+07:00", "region_code": "6310",
        "location_text": "Jl. Raya Batulicin km 3", "latitude": -3.4412, "longitude": 115.9963,
        "category": "infrastruktur", "anonymous": False, "confidential": False,
        "reporter": {"name": "Siti Rahmah", "phone": "081234567890", "email": "siti@contoh.id"},
        "language": "id",
    } | fields
    return {k: v for k, v in body.items() if v is not None}


def stored(database_url) -> dict[str, int]:
    """How many rows intake and the API's submission log hold."""
    counts = row_counts(database_url)
    with psycopg.connect(database_url) as conn:
        counts["api_submissions"] = conn.execute("SELECT count(*) FROM portal.api_submissions").fetchone()[0]
    return counts


# Fixtures

@pytest.fixture
def serve_api(pool, clock):
    """Serves the portal, with its API, over intake and sla at the given addresses; returns the root URL.
    The API counts its keys' budgets by the test's clock."""
    servers, opened = [], []

    def serve(intake: str, sla: str, *, intake_timeout: float = 5.0) -> str:
        signer = identity.ServiceSigner("portal", IDENTITY_KEY)
        intake_channel, sla_channel = channels.connect(intake, signer), channels.connect(sla, signer)
        opened.extend([intake_channel, sla_channel])
        intake_stub, sla_stub = intake_pb2_grpc.IntakeServiceStub(intake_channel), sla_pb2_grpc.SlaServiceStub(sla_channel)
        blueprint = api.blueprint(intake=intake_stub, sla=sla_stub, pool=pool, identity_key=IDENTITY_KEY,
                                  public_url=PUBLIC_URL, clock=clock, intake_timeout=intake_timeout,
                                  extra_timeout=1.0)
        app = web.create_app(regions=REGIONS, intake=intake_stub, sla=sla_stub,
                             notify=notify_pb2_grpc.NotifyServiceStub(sla_channel),
                             routing=routing_pb2_grpc.RoutingServiceStub(sla_channel), identity_key=IDENTITY_KEY,
                             pool=pool, intake_timeout=intake_timeout, extra_timeout=1.0,
                             extra_blueprints=[(blueprint, api.PREFIX)])
        server = HttpServer(app, host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        return server.url

    yield serve
    for server in servers:
        server.stop()
    for channel in opened:
        channel.close()


@pytest.fixture
def root(serve_api, intake_address, others_address):
    return serve_api(intake_address, others_address)


@pytest.fixture
def keys(pool):
    """A key of each kind (an app, the Tanah Bumbu agency, another agency), by name: (row, secret)."""
    made = {}
    with pool.connection() as conn:
        for name, kind, agency_id in (("app-1", "app", ""), ("app-2", "app", ""), ("pupr", "agency", AGENCY),
                                      ("banjarmasin", "agency", OTHER_AGENCY)):
            made[name] = api_keys.create(conn, name=name, kind=kind, agency_id=agency_id)
    return made


@pytest.fixture
def clients(root, keys):
    """An ApiClient per key name, and one without a key (None)."""
    made = {name: ApiClient(root, secret) for name, (_, secret) in keys.items()}
    made[None] = ApiClient(root)
    yield made
    for client in made.values():
        client.close()


@pytest.fixture
def app_api(clients):
    return clients["app-1"]


@pytest.fixture
def agency_api(clients):
    return clients["pupr"]


@pytest.fixture
def public_api(clients):
    return clients[None]


@pytest.fixture
def as_sla(intake_address):
    """intake as the process service (sla) calls it: to forward and close reports in tests."""
    channel = channels.connect(intake_address, identity.ServiceSigner("sla", IDENTITY_KEY))
    yield intake_pb2_grpc.IntakeServiceStub(channel)
    channel.close()


def forward(as_sla, tracking_id: str, agency_id: str = AGENCY, agency_name: str = "Dinas PUPR Kabupaten Tanah Bumbu"):
    as_sla.ForwardReport(pb.ForwardReportRequest(idempotency_key=f"fwd-{tracking_id}", tracking_id=tracking_id,
                                                 agency_id=agency_id, agency_name=agency_name))


def close(as_sla, tracking_id: str):
    as_sla.SetReportStatus(pb.SetReportStatusRequest(idempotency_key=f"close-{tracking_id}", tracking_id=tracking_id,
                                                     status=pb.REPORT_STATUS_CLOSED, reason="Selesai"))


def submit(app_api: ApiClient, key: str = "k-1", **fields) -> dict:
    """Submits a report through the API; its receipt."""
    response = app_api.post("/reports", json=report_body(**fields), headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return response.json()

