"""Helpers for tests: signed callers and the test identity key."""

from datetime import timedelta
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.plumbing import identity

ROOT = Path(__file__).resolve().parents[1]
IDENTITY_KEY = "test-identity-key-not-a-secret-0123456789"


# Tests keep signed identities in module constants, made when the suite is collected: they must outlive a
# whole run on a busy machine, not the ten minutes a real one gets.
TEST_IDENTITY_LIFETIME = timedelta(hours=12)


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
