"""The REST API's errors: RFC 9457 problem details, and how a service's gRPC refusal becomes one.

Every problem has the type about:blank, so its title is the HTTP status phrase; `detail` says what
went wrong and `errors` names each refused field as the request spells it ("reporter.email",
"attachments[0]", a query parameter or a header).
"""

import json
import logging
import re

import grpc
from flask import Response
from werkzeug.http import HTTP_STATUS_CODES

from services.portal.intake_client import UNAVAILABLE, violation

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_SECONDS = "5"
REALM = 'Bearer realm="sp4n-api"'

# intake's field names that the API spells differently
_FIELDS = {"has_location": "latitude", "idempotency_key": "Idempotency-Key", "access_code": "X-Access-Code",
           "query": "q", "statuses": "status"}
_ATTACHMENT_CONTENT = re.compile(r"(attachments\[\d+\])\.content$")


class Problem(Exception):
    """A request the API refuses, answered as a problem document."""

    def __init__(self, status: int, detail: str, *, errors: list[tuple[str, str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def invalid(errors: list[tuple[str, str]]) -> Problem:
    """400 naming each refused field."""
    names = ", ".join(dict.fromkeys(field for field, _ in errors))
    return Problem(400, f"the request has fields that cannot be accepted: {names}", errors=errors)


def unauthorized(detail: str, *, presented: bool) -> Problem:
    challenge = REALM + (', error="invalid_token"' if presented else "")
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def response(problem: Problem) -> Response:
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(problem.status, "Error"),
            "status": problem.status, "detail": problem.detail}
    if problem.errors:
        body["errors"] = [{"field": field, "detail": detail} for field, detail in problem.errors]
    return Response(json.dumps(body, ensure_ascii=False), status=problem.status, mimetype=MEDIA_TYPE,
                    headers=problem.headers)


def body_field(intake_field: str) -> str:
    """The name in the request of a field intake refused."""
    if match := _ATTACHMENT_CONTENT.fullmatch(intake_field):
        return match.group(1)
    base, bracket, rest = intake_field.partition("[")
    if base == "statuses":  # the API takes a list of statuses as one parameter
        return _FIELDS[base]
    return _FIELDS.get(base, base) + bracket + rest


def from_grpc(error: grpc.RpcError, service: str = "intake") -> Problem | None:
    """The problem for a service's refusal; None when it is not the request's fault (a 500)."""
    code = error.code()
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        field, reason = violation(error)
        if field == "tracking_id":  # not a tracking ID intake could have issued
            return Problem(404, "no such report")
        return invalid([(body_field(field), reason)]) if field else Problem(400, reason)
    if code == grpc.StatusCode.NOT_FOUND:
        return Problem(404, error.details() or "not found")
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return Problem(403, error.details() or "not allowed")
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return Problem(409, error.details() or "the report is not in a state that allows this")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return Problem(413, "the request is larger than the service takes")
    if code in UNAVAILABLE:
        log.warning("api: %s answered %s", service, code.name)
        return Problem(503, f"{service} is busy; try again shortly", headers={"Retry-After": RETRY_AFTER_SECONDS})
    return None
