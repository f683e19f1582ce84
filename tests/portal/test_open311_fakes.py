"""For the Open311 tests: a stand-in for intake's public feed and submissions, served over real
gRPC, and the portal app over it; the GeoReport v2 JSON Schemas from shared/open311/; and XML
read back into the JSON shape those schemas describe, so that both formats are checked against
the same schemas."""

import json
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import pytest
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from services.plumbing import channels, identity
from services.plumbing.errors import InvalidArgument, NotFound
from services.plumbing.wire import timestamp
from services.portal import web
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2_grpc
from tests.portal.conftest import REGIONS
from tests.support import IDENTITY_KEY, ROOT

SCHEMAS = ROOT.parent / "shared" / "open311" / "georeport-v2"
NOW = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)  # a Monday, 10:00 WIB
AGENCY_NAME = "Dinas PUPR Kabupaten Tanah Bumbu"
KEY, OTHER_KEY = "open311-key-for-tests-1", "open311-key-for-tests-2"
V2 = "/open311/v2"


class FakeIntake(intake_pb2_grpc.IntakeServiceServicer):
    """intake as the portal's Open311 API sees it: published reports it is given, and submissions
    kept as they came (a repeated key answers with the first tracking ID, as intake does)."""

    def __init__(self):
        self.published: dict[str, pb.PublishedReport] = {}
        self.held: dict[str, pb.Report] = {}  # submitted, not published: GetReport only
        self.submissions: list[pb.SubmitReportRequest] = []  # every call, repeats included
        self.receipts: dict[tuple[str, str], str] = {}
        self.list_requests: list[pb.ListPublishedReportsRequest] = []
        self.calls: list[str] = []

    def publish(self, report: pb.PublishedReport) -> pb.PublishedReport:
        self.published[report.tracking_id] = report
        return report

    def _caller(self, method: str) -> None:
        identity.require_service(identity.current(), "portal")
        self.calls.append(method)

    def SubmitReport(self, request, context):
        self._caller("SubmitReport")
        self.submissions.append(request)
        if (request.channel, request.idempotency_key) in self.receipts:
            tracking_id = self.receipts[request.channel, request.idempotency_key]
        else:
            # Two of intake's own checks, enough to see its refusals reach the client.
            if not 10 <= len(request.description) <= 5000:
                raise InvalidArgument("description", "at least 10 characters")
            if request.has_location and not (-11.5 <= request.latitude <= 6.5 and 94 <= request.longitude <= 142):
                raise InvalidArgument("latitude", "must be within Indonesia")
            tracking_id = f"LAP-{len(self.receipts) + 1:08d}"
            self.receipts[request.channel, request.idempotency_key] = tracking_id
            self.held[tracking_id] = pb.Report(tracking_id=tracking_id, title=request.title,
                                               description=request.description, reporter_name=request.reporter.name,
                                               confidential=request.confidential)
        return pb.SubmitReportResponse(tracking_id=tracking_id, submitted_at=timestamp(NOW))

    def GetReport(self, request, context):
        self._caller("GetReport")
        if request.tracking_id in self.held:
            return self.held[request.tracking_id]
        if request.tracking_id in self.published:
            return pb.Report(tracking_id=request.tracking_id, published=True)
        raise NotFound(f"no report {request.tracking_id}")

    def GetPublishedReport(self, request, context):
        self._caller("GetPublishedReport")
        if request.tracking_id not in self.published:
            raise NotFound(f"no published report {request.tracking_id}")
        return self.published[request.tracking_id]

    def ListPublishedReports(self, request, context):
        self._caller("ListPublishedReports")
        self.list_requests.append(request)
        after = request.submitted_after.ToDatetime(tzinfo=timezone.utc) if request.HasField("submitted_after") else None
        before = (request.submitted_before.ToDatetime(tzinfo=timezone.utc) if request.HasField("submitted_before")
                  else None)

        if after and before and after >= before:
            raise InvalidArgument("submitted_before", "must be later than submitted_after")

        def matches(r: pb.PublishedReport) -> bool:  # as intake: after inclusive, before exclusive
            at = r.submitted_at.ToDatetime(tzinfo=timezone.utc)
            return ((not request.category or r.category == request.category)
                    and (not request.statuses or r.status in request.statuses)
                    and (after is None or at >= after) and (before is None or at < before))

        found = sorted((r for r in self.published.values() if matches(r)),  # newest published first, as intake
                       key=lambda r: (r.published_at.ToDatetime(), r.tracking_id), reverse=True)
        start = int(request.page_token or 0)
        size = min(request.page_size or 20, 100)
        page = found[start:start + size]
        more = start + size < len(found)
        return pb.ListPublishedReportsResponse(reports=page, next_page_token=str(start + size) if more else "")


def intake_registration(intake: FakeIntake):
    return (lambda server: intake_pb2_grpc.add_IntakeServiceServicer_to_server(intake, server),
            pb.DESCRIPTOR.services_by_name["IntakeService"].full_name)


def published_report(number: int, *, days_ago: float = 1, **fields) -> pb.PublishedReport:
    """A published report, forwarded to the Tanah Bumbu public works office; `fields` override any field."""
    submitted = NOW - timedelta(days=days_ago)
    values = dict(
        tracking_id=f"LAP-{number:08d}", type=pb.REPORT_TYPE_COMPLAINT, title="Jalan berlubang di Batulicin",
        description="Lubang besar di Jalan Raya Batulicin dekat pasar. Hubungi [nomor disembunyikan].",
        category="infrastruktur", region_code="6310", location_text="Jl. Raya Batulicin km 3", has_location=True,
        latitude=-3.4412, longitude=115.9963, status=pb.REPORT_STATUS_FORWARDED, agency_id="tanah-bumbu-pupr",
        agency_name=AGENCY_NAME, submitted_at=timestamp(submitted),
        published_at=timestamp(submitted + timedelta(hours=5)), updated_at=timestamp(submitted + timedelta(hours=6)),
    ) | fields
    return pb.PublishedReport(**values)


# The portal app over the stand-in

@pytest.fixture
def fake_intake():
    return FakeIntake()


@pytest.fixture
def fake_intake_address(grpc_address, fake_intake):
    return grpc_address("intake", intake_registration(fake_intake))


@pytest.fixture
def make_open311_app(clock, pool):
    """The portal app, with Open311 keys and a clock at NOW, over intake and the others at given addresses."""
    clock.set(NOW)
    opened = []

    def make(intake: str, others: str, intake_timeout: float = 5.0):
        signer = identity.ServiceSigner("portal", IDENTITY_KEY)
        intake_channel, others_channel = channels.connect(intake, signer), channels.connect(others, signer)
        opened.extend([intake_channel, others_channel])
        return web.create_app(regions=REGIONS, intake=intake_pb2_grpc.IntakeServiceStub(intake_channel),
                              sla=sla_pb2_grpc.SlaServiceStub(others_channel),
                              notify=notify_pb2_grpc.NotifyServiceStub(others_channel),
                              routing=routing_pb2_grpc.RoutingServiceStub(others_channel), identity_key=IDENTITY_KEY,
                              pool=pool, intake_timeout=intake_timeout, extra_timeout=1.0, open311_api_keys=(KEY, OTHER_KEY),
                              clock=clock)

    yield make
    for channel in opened:
        channel.close()


@pytest.fixture
def api(make_open311_app, fake_intake_address, others_address):
    return make_open311_app(fake_intake_address, others_address).test_client()


def post_fields(**fields) -> dict:
    """A valid POST: `attribute_x` stands for `attribute[x]`."""
    values = dict(api_key=KEY, service_code="infrastruktur", lat="-3.4412", long="115.9963",
                  address_string="Jl. Raya Batulicin km 3, Tanah Bumbu",
                  description="Lubang besar di Jalan Raya Batulicin dekat pasar.\nSudah dua minggu tidak diperbaiki.",
                  email="siti@contoh.id", phone="081234567890", first_name="Siti", last_name="Rahmah") | fields
    return {(f"attribute[{k[len('attribute_'):]}]" if k.startswith("attribute_") else k): v
            for k, v in values.items()}


# The GeoReport v2 JSON Schemas, and the Swagger description's definitions (for what has no schema file).

def _registry() -> Registry:
    resources = [(path.name, Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT4))
                 for path in sorted(SCHEMAS.glob("*.json"))]
    return Registry().with_resources(resources)


REGISTRY = _registry()
DATE_TIMES = FormatChecker(formats=())


@DATE_TIMES.checks("date-time", raises=ValueError)
def _w3c_date_time(value) -> bool:
    """GeoReport v2: a W3C date-time that carries its time zone."""
    return not isinstance(value, str) or (len(value) >= 20 and datetime.fromisoformat(value).tzinfo is not None)


# Documents the shared folder has no schema for: errors and discovery, as GeoReport v2 describes them.
LOCAL_SCHEMAS = {
    "errors": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["code", "description"], "additionalProperties": False,
        "properties": {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}}}},
    "discovery": {"type": "object", "required": ["changeset", "contact", "endpoints"], "properties": {
        "changeset": {"type": "string", "format": "date-time"}, "contact": {"type": "string"},
        "key_service": {"type": "string"},
        "endpoints": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["specification", "url", "changeset", "type", "formats"], "properties": {
                "specification": {"type": "string"}, "url": {"type": "string"},
                "changeset": {"type": "string", "format": "date-time"},
                "type": {"enum": ["production", "test"]},
                "formats": {"type": "array", "items": {"type": "string"}}}}}}},
    # A POST's answer and a token's: one record each, as the Swagger description defines it.
    "posted": {"type": "array", "minItems": 1, "maxItems": 1,
               "items": {"$ref": "swagger.json#/definitions/RequestResponse"}},
    "token": {"type": "array", "minItems": 1, "maxItems": 1,
              "items": {"$ref": "swagger.json#/definitions/TokenResponse"}},
}


def schema(name: str) -> dict:
    """'services.json' (a file), 'swagger.json#/definitions/RequestResponse', or a local name."""
    return LOCAL_SCHEMAS.get(name) or {"$ref": name}


def validate(document, name: str) -> None:
    Draft4Validator(schema(name), registry=REGISTRY, format_checker=DATE_TIMES).validate(document)


# XML read back by the schema: which elements are lists, booleans and numbers.

ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "values": "value", "endpoints": "endpoint", "formats": "format"}


def from_xml(text: str, name: str, root: str):
    """The XML document as the JSON document it should equal, typed by schema `name`; its root must
    be `root` and every list item must carry GeoReport's element name for it."""
    element = ElementTree.fromstring(text.encode())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert element.tag == root, element.tag
    return _read(element, schema(name), REGISTRY.resolver())


def _resolved(node: dict, resolver) -> tuple[dict, object]:
    while "$ref" in node:
        found = resolver.lookup(node["$ref"])
        node, resolver = found.contents, found.resolver
    return node, resolver


def _type(node: dict) -> str:
    if "type" in node:
        return node["type"]
    if "anyOf" in node:
        return next(a["type"] for a in node["anyOf"] if a.get("type") != "null")
    return "object" if "properties" in node else "string"


def _read(element: ElementTree.Element, node: dict, resolver):
    node, resolver = _resolved(node, resolver)
    kind = _type(node)
    if kind == "array":
        assert all(child.tag == ITEMS[element.tag] for child in element), element.tag
        return [_read(child, node["items"], resolver) for child in element]
    if kind == "object":
        properties = node.get("properties", {})
        assert len({child.tag for child in element}) == len(element), f"repeated field in <{element.tag}>"
        return {child.tag: _read(child, properties.get(child.tag, {}), resolver) for child in element}
    text = element.text or ""
    if kind == "boolean":
        assert text in ("true", "false"), text
        return text == "true"
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    return text
