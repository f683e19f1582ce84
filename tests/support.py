"""Helpers for tests: signed callers, the test identity key, and captured JSON log lines."""

import json
import logging
from datetime import timedelta
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.plumbing import channels, identity
from services.plumbing.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[1]
IDENTITY_KEY = "test-identity-key-not-a-secret-0123456789"


# Tests keep signed identities in module constants, made at collection: they must outlive a slow run
# of the whole suite (the services' own identities last minutes; expiry has tests of its own).
TEST_IDENTITY_LIFETIME = timedelta(days=1)


def caller(role: str, subject: str = "tester", agency_id: str = "") -> list[tuple[str, str]]:
    """Call metadata carrying a signed identity."""
    return [(identity.METADATA_KEY, identity.sign(identity.Caller(subject, role, agency_id), IDENTITY_KEY,
                                                  lifetime=TEST_IDENTITY_LIFETIME))]


def service_caller(name: str) -> list[tuple[str, str]]:
    return caller(identity.SERVICE, name)


def field_violation(error: grpc.RpcError) -> str:
    """The field an INVALID_ARGUMENT names in its google.rpc.BadRequest detail."""
    bad = error_details_pb2.BadRequest()
    rpc_status.from_call(error).details[0].Unpack(bad)
    return bad.field_violations[0].field


class JsonLogLines(logging.Handler):
    """Keeps the JSON lines the services' formatter writes, parsed, while attached to the root logger."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter("test"))
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def __enter__(self) -> "JsonLogLines":
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self)
        root.setLevel(logging.INFO)
        return self

    def __exit__(self, *_exc) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    def saying(self, text: str) -> list[dict]:
        return [line for line in self.lines if text in line["msg"]]


def start_relay(serve) -> tuple[grpc.Channel, list[grpc.Channel]]:
    """Two services on in-process servers: `back` answers /test.Back/Answer, `front` answers
    /test.Front/Relay by calling back through a channel such as every service makes. Each logs that
    it handled the call. Returns a channel to front (signed as the portal) and the channels to close."""
    log = logging.getLogger("tests.relay")

    def answer(request: bytes, context) -> bytes:
        log.info("back answers")
        return b"answer to " + request

    serve("back", (lambda server: server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "test.Back", {"Answer": grpc.unary_unary_rpc_method_handler(answer)}),)), "test.Back"))
    to_back = channels.connect(serve.addresses["back"], identity.ServiceSigner("front", IDENTITY_KEY))

    def relay(request: bytes, context) -> bytes:
        log.info("front relays")
        return to_back.unary_unary("/test.Back/Answer")(request, timeout=5)

    serve("front", (lambda server: server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "test.Front", {"Relay": grpc.unary_unary_rpc_method_handler(relay)}),)), "test.Front"))
    to_front = channels.connect(serve.addresses["front"], identity.ServiceSigner("portal", IDENTITY_KEY))
    return to_front, [to_back, to_front]
