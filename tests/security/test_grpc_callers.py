"""Calls between services carry a signed identity, and a server serves nothing it has not checked.

tests/access/test_access_matrix.py calls every action of the running system with a forged (another
key), expired, unknown-role and missing identity (UNAUTHENTICATED, nothing changed), and with staff
and reporter identities where only a service may call (PERMISSION_DENIED). These add what the server
start-up itself must hold, on real in-process servers: the identity checked on any kind of method
(a streaming one is refused, never served unchecked), a token tampered with or made of something else,
and a service's own identity signed with another deployment's key.
"""

from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest

from services.intake import grpc_api as intake_api
from services.intake.service import IntakeService
from services.plumbing import channels, identity
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2
from sp4n.routing.v1 import routing_pb2
from sp4n.sla.v1 import sla_pb2
from sp4n.verification.v1 import verification_pb2
from tests.support import IDENTITY_KEY

OTHER_KEY = "another-deployments-identity-key-0123456789"


def test_every_rpc_of_every_service_is_unary():
    """The edge checks unary calls; any other kind is refused (below), so a streaming RPC would be dead."""
    kinds = {f"{service.full_name}/{m.name}": (m.client_streaming, m.server_streaming)
             for module in (intake_pb2, verification_pb2, routing_pb2, sla_pb2, notify_pb2)
             for service in module.DESCRIPTOR.services_by_name.values() for m in service.methods}
    assert kinds and {k: v for k, v in kinds.items() if v != (False, False)} == {}


@pytest.fixture
def streaming(serve):
    """A server like every service's with a server-streaming and a bidirectional method that answer anyone."""
    def watch(request, context):
        yield b"secret " + request

    def chat(requests, context):
        for request in requests:
            yield b"secret " + request

    channel = serve("streams", (lambda server: server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "test.Streams", {"Watch": grpc.unary_stream_rpc_method_handler(watch),
                         "Chat": grpc.stream_stream_rpc_method_handler(chat)}),)), "test.Streams"))
    return channel


@pytest.mark.parametrize("signed", [False, True])
def test_a_streaming_method_is_refused_not_served_unchecked(streaming, signed):
    metadata = [(identity.METADATA_KEY, identity.sign(identity.Caller("portal", identity.SERVICE), IDENTITY_KEY))]
    kwargs = {"metadata": metadata} if signed else {}
    for call in (lambda: list(streaming.unary_stream("/test.Streams/Watch")(b"x", timeout=5, **kwargs)),
                 lambda: list(streaming.stream_stream("/test.Streams/Chat")(iter([b"x"]), timeout=5, **kwargs))):
        with pytest.raises(grpc.RpcError) as refused:
            call()
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.fixture
def intake(serve, pool, clock):
    channel = serve("intake", intake_api.register(IntakeService(pool=pool, clock=clock)))
    return intake_pb2_grpc.IntakeServiceStub(channel)


def _portal_token(key: str = IDENTITY_KEY, **changes) -> str:
    caller = identity.Caller(**{"subject": "portal", "role": identity.SERVICE} | changes)
    return identity.sign(caller, key)


def _tampered() -> str:
    """The portal's token with its claims made a national administrator's, its signature kept."""
    body, mac = _portal_token().split(".")
    forged_body = identity.sign(identity.Caller("admin", identity.NATIONAL_ADMIN), OTHER_KEY).split(".")[0]
    return f"{forged_body}.{mac}"


BAD_TOKENS = {
    "the portal's identity signed with another key": lambda: _portal_token(OTHER_KEY),
    "claims changed after signing": _tampered,
    "no signature": lambda: _portal_token().split(".")[0] + ".",
    "signature only": lambda: "." + _portal_token().split(".")[1],
    "a bearer token of another kind": lambda: "Bearer sp4n_12345678.abcdef",
    "expired a second ago": lambda: identity.sign(identity.Caller("portal", identity.SERVICE), IDENTITY_KEY,
                                                  now=datetime.now(timezone.utc) - timedelta(minutes=10, seconds=1)),
    "empty": lambda: "",
}


@pytest.mark.parametrize("flaw", BAD_TOKENS)
def test_a_submission_with_a_bad_identity_is_unauthenticated_and_stores_nothing(intake, database_url, flaw):
    request = intake_pb2.SubmitReportRequest(
        idempotency_key="grpc-callers-1", channel="web", type=intake_pb2.REPORT_TYPE_COMPLAINT,
        title="Jembatan kayu lapuk di Desa Sungai Loban",
        description="Papan jembatan kayu di Desa Sungai Loban lapuk dan berlubang, membahayakan anak sekolah.",
        category="infrastruktur", region_code="6310", reporter=intake_pb2.Reporter(name="Warga", phone="081200000001"))
    with pytest.raises(grpc.RpcError) as refused:
        intake.SubmitReport(request, metadata=[(identity.METADATA_KEY, BAD_TOKENS[flaw]())], timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert _reports(database_url) == 0
    # The same request with the portal's good identity is taken: only the identity was wrong.
    assert intake.SubmitReport(request, metadata=[(identity.METADATA_KEY, _portal_token())], timeout=10).tracking_id
    assert _reports(database_url) == 1


def test_a_service_signing_with_another_key_is_refused_by_the_service_it_calls(serve, pool, clock, database_url):
    """A service configured with the wrong SP4N_IDENTITY_KEY (another deployment's) gets nowhere."""
    serve("intake", intake_api.register(IntakeService(pool=pool, clock=clock)))
    with channels.connect(serve.addresses["intake"], identity.ServiceSigner("portal", OTHER_KEY)) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            intake_pb2_grpc.IntakeServiceStub(channel).ListPublishedReports(
                intake_pb2.ListPublishedReportsRequest(), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _reports(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.reports").fetchone()[0]
