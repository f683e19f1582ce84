"""Intake as the reporter's pages call it: as the portal itself, or acting for a reporter with a
signed reporter identity (intake shows a report's private side only to its reporter)."""

import logging

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from werkzeug.exceptions import ServiceUnavailable

from services.plumbing import channels, identity

log = logging.getLogger(__name__)

# A service that did not answer: the same request may succeed later.
UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def violation(error: grpc.RpcError) -> tuple[str, str]:
    """The field a service's INVALID_ARGUMENT names and why; ('', its message) when it names none."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad) and bad.field_violations:
            return bad.field_violations[0].field, bad.field_violations[0].description
    return "", error.details() or "invalid request"


def field_violation(error: grpc.RpcError) -> str:
    """The field a service's INVALID_ARGUMENT names, or '' when it names none."""
    return violation(error)[0]


def reporter(subject: str) -> identity.Caller:
    """The identity of a reporter: the tracking ID they proved access to, or "account:<n>"."""
    return identity.Caller(subject=subject, role=identity.REPORTER)


class IntakeClient:
    """Calls wait up to `timeout` for intake to be reachable (riding out a restart); when it cannot
    be reached the page answers 503."""

    def __init__(self, stub, *, identity_key: str, timeout: float):
        self.stub = stub
        self.identity_key = identity_key
        self.timeout = timeout

    def call(self, method: str, message, *, caller: identity.Caller | None = None):
        """`method` of intake with `message`, as `caller` (None: as the portal)."""
        metadata = channels.as_caller(caller, self.identity_key) if caller else None
        try:
            return getattr(self.stub, method)(message, timeout=self.timeout, wait_for_ready=True, metadata=metadata)
        except grpc.RpcError as e:
            if e.code() in UNAVAILABLE:
                log.warning("intake did not answer %s: %s", method, e.code().name)
                raise ServiceUnavailable() from None
            raise
