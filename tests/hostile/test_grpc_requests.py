"""Every RPC of every service, called with request messages generated from its descriptor
(grpc_messages) by a caller the access policy lets call it (tests/access/test_access_matrix's POLICY:
a national administrator where allowed, else the service that calls it, else the staff or reporter
role). Whatever arrives, the answer is OK or a status that says what was wrong (INVALID_ARGUMENT,
NOT_FOUND, FAILED_PRECONDITION, PERMISSION_DENIED, ALREADY_EXISTS, RESOURCE_EXHAUSTED, ...), never
UNKNOWN or INTERNAL (an unexpected exception) nor a timeout, and no call leaves a partial write.

The five services run in this process on real gRPC servers over one database, wired to each other as in
production (sla's process calls the others, notify asks intake and routing), with routing's demo
directory and a report, a reporter account and a queue item to aim at. Bytes that are not valid UTF-8
in a string field cannot come from a protobuf library; they are sent raw, as a hostile client would.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import grpc
import pytest
from google.protobuf import message_factory
from hypothesis import HealthCheck, given, settings

from services.intake import grpc_api as intake_api
from services.intake.service import IntakeService
from services.notify import grpc_api as notify_api
from services.notify.contacts import IntakeContacts
from services.notify.service import NotifyService
from services.notify.templates import Templates
from services.plumbing import channels, db, identity
from services.plumbing.clock import FileClock
from services.plumbing.grpc_server import GrpcServer
from services.routing import demo
from services.routing import grpc_api as routing_api
from services.routing.service import RoutingService
from services.sla import grpc_api as sla_api
from services.sla.calendar import WorkingCalendar
from services.sla.calendar_service import CalendarService
from services.sla.engine import Engine
from services.sla.operators import GrpcServiceCaller
from services.sla.service import SlaService
from services.verification import grpc_api as verification_api
from services.verification.service import VerificationService
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2, notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2, routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc
from sp4n.verification.v1 import verification_pb2, verification_pb2_grpc
from tests.access.test_access_matrix import POLICY
from tests.conftest import OUTBOX_SERVICES, SERVICES
from tests.hostile.conftest import count, partial_writes
from tests.hostile.grpc_messages import SENTENCE, messages
from tests.support import IDENTITY_KEY, ROOT, caller, service_caller

MODULES = {"intake": (intake_pb2, intake_pb2_grpc), "verification": (verification_pb2, verification_pb2_grpc),
           "routing": (routing_pb2, routing_pb2_grpc), "sla": (sla_pb2, sla_pb2_grpc),
           "notify": (notify_pb2, notify_pb2_grpc)}
RPCS = [(name, method) for name, (module, _) in MODULES.items()
        for service in module.DESCRIPTOR.services_by_name.values() for method in service.methods]
EXAMPLES_PER_RPC = 100
# Each of these hashes a password with scrypt, slow on purpose.
FEWER_EXAMPLES = {"intake.SignInReporter": 15, "intake.CreateReporterAccount": 15}
T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)  # a Monday, 10:00 WIB
AGENCY = "kab-tanah-bumbu-dinas-pupr"
# What a call may answer: a result, or a status saying what is wrong with it. UNKNOWN and INTERNAL
# are exceptions the service did not expect; DEADLINE_EXCEEDED a call that hung.
EXPLAINED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
             grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.RESOURCE_EXHAUSTED,
             grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.ABORTED, grpc.StatusCode.UNAUTHENTICATED}
# The callers to try, in order: the first the policy allows for an action calls it.
PREFERRED = [("national_admin", "-"), ("service", "portal"), ("service", "sla"), ("service", "intake"),
             ("service", "notify"), ("service", "verification"), ("service", "routing"),
             ("process_analyst", "-"), ("agency_admin", "own"), ("liaison_officer", "own"), ("reporter", "own"),
             ("reporter", "account-own")]


@dataclass
class System:
    url: str
    stubs: dict[str, object]
    channels: dict[str, grpc.Channel]
    tracking_id: str
    access_code: str
    account_id: str


@pytest.fixture(scope="module")
def system(make_database, tmp_path_factory):
    url = make_database()
    for name in SERVICES:
        folder = ROOT / "services" / name / "migrations"
        if folder.is_dir():
            db.migrate(url, schema=name, folder=folder, outbox=name in OUTBOX_SERVICES)
    pool = db.open_pool(url, name="hostile", size=16)
    clock = FileClock(tmp_path_factory.mktemp("clock") / "clock.json")
    clock.set(T0)
    servers, addresses, opened = {}, {}, []
    for name in MODULES:
        servers[name] = GrpcServer(name=name, identity_key=IDENTITY_KEY, threads=8)
        addresses[name] = f"127.0.0.1:{servers[name].start(0, host='127.0.0.1')}"

    def channel_as(service: str, target: str) -> grpc.Channel:
        opened.append(channels.connect(addresses[target], identity.ServiceSigner(service, IDENTITY_KEY)))
        return opened[-1]

    routing = RoutingService(pool=pool, clock=clock)
    routing.ensure_national_desk()
    routing.load_regions()
    demo.load(pool)
    calendar = WorkingCalendar()
    sla = SlaService(pool=pool, clock=clock, process_id="report_lifecycle", retry_base_seconds=60,
                     engine=Engine(calendar=calendar, clock=clock, caller=GrpcServiceCaller(
                         {name: channel_as("sla", name) for name in ("intake", "verification", "routing", "notify")},
                         timeout=5)))
    sla.deploy_folder(ROOT / "bpmn")
    contacts = IntakeContacts(intake_pb2_grpc.IntakeServiceStub(channel_as("notify", "intake")),
                              directory=routing_pb2_grpc.RoutingServiceStub(channel_as("notify", "routing")))
    registrations = {
        "intake": intake_api.register(IntakeService(pool=pool, clock=clock)),
        "verification": verification_api.register(VerificationService(pool=pool, clock=clock)),
        "routing": routing_api.register(routing),
        "sla": sla_api.register(sla, CalendarService(pool=pool, clock=clock, calendar=calendar)),
        "notify": notify_api.register(NotifyService(pool=pool, clock=clock, templates=Templates.load(),
                                                    contacts=contacts, channels=frozenset(),
                                                    public_url="https://lapor.example")),
    }
    for name, (register, service_name) in registrations.items():
        servers[name].add(register, service_name)  # before any call arrives: the servers only just started
    plain = {name: grpc.insecure_channel(address) for name, address in addresses.items()}
    stubs = {}
    for name, (module, grpc_module) in MODULES.items():
        [service] = module.DESCRIPTOR.services_by_name.values()
        stubs[name] = getattr(grpc_module, f"{service.name}Stub")(plain[name])
    system = System(url, stubs, plain, *_seed(stubs))
    yield system
    for channel in [*plain.values(), *opened]:
        channel.close()
    for server in servers.values():
        server.stop(0)
    pool.close()


def _seed(stubs) -> tuple[str, str, str]:
    """A report with an attachment sent from a reporter account: what generated requests aim at."""
    account = stubs["intake"].CreateReporterAccount(intake_pb2.CreateReporterAccountRequest(
        idempotency_key="seed-account", email="warga@contoh.id", password="kata-sandi-uji-hostile", name="Warga"),
        metadata=service_caller("portal"))
    answer = stubs["intake"].SubmitReport(intake_pb2.SubmitReportRequest(
        idempotency_key="seed", channel="web", type=intake_pb2.REPORT_TYPE_COMPLAINT, account_id=account.id,
        title="Jalan berlubang di Batulicin", category="infrastruktur", region_code="6310",
        description="Lubang besar di Jalan Raya Batulicin dekat pasar, membahayakan pengendara motor.",
        reporter=intake_pb2.Reporter(name="Siti Rahmah", phone="081234567890", email="siti@contoh.id"),
        attachments=[intake_pb2.AttachmentUpload(filename="foto.jpg",
                                                 content=b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64))]),
        metadata=service_caller("portal"))
    return answer.tracking_id, answer.access_code, account.id


def known_values(system: System) -> dict[str, tuple[str, ...]]:
    """String values that exist in the system (or that a well-behaved caller sends), by field name."""
    admin = caller(identity.NATIONAL_ADMIN, "admin-hostile")
    rules = system.stubs["routing"].ListRules(routing_pb2.ListRulesRequest(page_size=3), metadata=admin).rules
    versions = system.stubs["sla"].ListProcessVersions(sla_pb2.ListProcessVersionsRequest(), metadata=admin).versions
    bpmn = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
    exported = system.stubs["routing"].ExportAgencies(routing_pb2.ExportAgenciesRequest(), metadata=admin)
    elements = tuple(re.findall(r'<bpmn:(?:serviceTask|userTask|intermediateCatchEvent|exclusiveGateway) id="([^"]+)"',
                                bpmn)[:6])
    return {
        "tracking_id": (system.tracking_id,), "tracking_ids": (system.tracking_id,),
        "duplicate_of": ("", system.tracking_id), "page_token": ("",), "query": ("jalan", ""),
        "x_user_id": ("1790000000000000001", ""), "x_handle": ("warga_tanbu", ""), "access_code": (system.access_code,),
        "account_id": (system.account_id,), "agency_id": (AGENCY, "kab-tanah-bumbu", "nasional"),
        "preferred_agency_id": (AGENCY,), "suggested_agency_id": (AGENCY,), "excluded_agency_ids": (AGENCY,),
        "category": ("infrastruktur", "kesehatan"), "region_code": ("6310", "63"), "code": ("6310", "63"),
        "channel": ("web", "app", "sms", "in_app", "email"), "language": ("id", "en"),
        "process_id": ("report_lifecycle",),
        "attachment_id": ("1",), "status": ("forwarded", "closed"), "outcome": ("forward", "archive"),
        "message_name": ("verification_decided", "follow_up_posted", "reply_posted", "report_completed"),
        "event": ("received", "forwarded", "closed", "follow_up_posted"), "recipient": ("reporter", "agency"),
        "date": ("2026-03-17", "2026-02-30"), "notification_id": ("1", "2"),
        "rule_id": tuple(r.id for r in rules), "bpmn": (bpmn,), "element_id": elements,
        "content_hash": tuple(v.content_hash for v in versions),
        "from_content_hash": tuple(v.content_hash for v in versions),
        "to_content_hash": tuple(v.content_hash for v in versions),
        "level": ("", "kabupaten"),
        # A forwarding decision: the fields of the other outcomes stay empty.
        "DecideReportRequest.outcome": (verification_pb2.OUTCOME_FORWARD,), "DecideReportRequest.duplicate_of": ("",),
        "DecideReportRequest.archive_reason": (0,), "DecideReportRequest.anonymous": (True,),
        "DecideReportRequest.confidential": (True,), "parent_id": ("", "kab-tanah-bumbu"),
        "DecideReportRequest.reason": ("", SENTENCE),
        "agencies_csv": (exported.agencies_csv,), "liaison_officers_csv": (exported.liaison_officers_csv, b""),
    }


def metadata(action: str, request, account_id: str) -> list[tuple[str, str]]:
    """A caller the policy allows for `action`; a reporter is the one who proved access to the
    request's report (or the seeded account, for an account's own lists)."""
    role, whose = next((r, w) for r, w in PREFERRED if POLICY[action, r, w] == "allowed")
    if role == identity.SERVICE:
        return service_caller(whose)
    if role in (identity.AGENCY_ADMIN, identity.LIAISON_OFFICER):
        return caller(role, f"{role}-hostile", AGENCY)
    if role == identity.REPORTER:
        if whose == "own":
            return caller(role, getattr(request, "tracking_id", "") or "LAP-7K3QX9MA")
        return caller(role, account_id)
    return caller(role, f"{role}-hostile")


@pytest.mark.parametrize("service, method", RPCS, ids=[f"{s}.{m.name}" for s, m in RPCS])
def test_any_request_is_answered_or_refused_with_a_status_that_says_why(system, service, method):
    action = f"{service}.{method.name}"
    request_class = message_factory.GetMessageClass(method.input_type)
    call = getattr(system.stubs[service], method.name)
    unexplained = []

    @settings(max_examples=FEWER_EXAMPLES.get(action, EXAMPLES_PER_RPC), deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    @given(request=messages(method.input_type, request_class, known_values(system)))
    def check(request):
        try:
            call(request, metadata=metadata(action, request, system.account_id), timeout=20)
            count(f"grpc {action}", "OK")
        except grpc.RpcError as e:
            count(f"grpc {action}", e.code().name)
            if e.code() not in EXPLAINED:
                unexplained.append((e.code().name, e.details(), request))
            assert e.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
                                    grpc.StatusCode.DEADLINE_EXCEEDED), f"{action}: {e.code().name} {e.details()}"

    check()
    assert partial_writes(system.url) == {}
    assert [u[:2] for u in unexplained] == []


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


NOT_UTF8 = (b"\xff\xfe", b"\xed\xa0\x80", b"\xc3\x28", b"caf\xe9", b"\xf4\x90\x80\x80", b"\x80")
STRING_FIELDS = [(service, method, field) for service, method in RPCS for field in method.input_type.fields
                 if field.type == field.TYPE_STRING]


@pytest.mark.parametrize("service, method, field", STRING_FIELDS,
                         ids=[f"{s}.{m.name}.{f.name}" for s, m, f in STRING_FIELDS])
def test_a_string_field_that_is_not_utf8_is_refused_as_invalid(system, service, method, field):
    """No protobuf library sends such bytes; a hostile client may. The request never reaches the service."""
    action = f"{service}.{method.name}"
    raw = system.channels[service].unary_unary(f"/{method.containing_service.full_name}/{method.name}")
    for payload in NOT_UTF8:
        body = _varint(field.number << 3 | 2) + _varint(len(payload)) + payload
        request = message_factory.GetMessageClass(method.input_type)()
        with pytest.raises(grpc.RpcError) as refused:
            raw(body, metadata=metadata(action, request, system.account_id), timeout=10)
        count(f"grpc-raw {action}", refused.value.code().name)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (payload, refused.value.details())


# The one XML any service reads: a process model, deployed by a process analyst (sla.DeployProcess).
_ENTITIES = '<!ENTITY a "aaaaaaaaaa">' + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                                                 for p, c in zip("abcdefgh", "bcdefghi"))
HOSTILE_MODELS = {
    "external entity": '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;'
                       '</bpmn:definitions>',
    "a billion laughs": f'<?xml version="1.0"?><!DOCTYPE d [{_ENTITIES}]><d>&i;</d>',
    "not closed": '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process',
    "not XML": "{\"bpmn\": true}",
    "the model cut in half": None,  # filled from the real model below
}


@pytest.mark.parametrize("name", HOSTILE_MODELS)
def test_a_malformed_or_hostile_model_is_refused_and_nothing_deployed(system, name):
    model = HOSTILE_MODELS[name]
    if model is None:
        real = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
        model = real[:len(real) // 2]
    analyst = caller(identity.PROCESS_ANALYST, "analyst-hostile")
    versions = system.stubs["sla"].ListProcessVersions(sla_pb2.ListProcessVersionsRequest(), metadata=analyst).versions
    with pytest.raises(grpc.RpcError) as refused:
        system.stubs["sla"].DeployProcess(sla_pb2.DeployProcessRequest(
            idempotency_key=f"hostile-model-{name}", filename="hostile.bpmn", bpmn=model), metadata=analyst)
    count("grpc-xml sla.DeployProcess", refused.value.code().name)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "root:" not in refused.value.details()  # nothing of /etc/passwd comes back
    after = system.stubs["sla"].ListProcessVersions(sla_pb2.ListProcessVersionsRequest(), metadata=analyst).versions
    assert len(after) == len(versions)
