"""The REST API under schemathesis: requests generated from its OpenAPI document (valid ones and ones
the document forbids), sent over real HTTP to the portal over the real intake and PostgreSQL, with an
API key of the kind each operation needs. No answer is a 5xx, every answer is one the document
declares (status, content type, headers, schema), and no request leaves a partial write."""

from datetime import timedelta

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.portal import api
from tests.hostile.conftest import CASES, count, partial_writes
from tests.intake.reports import T0
from tests.portal.api_support import DOCUMENT, report_body

SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
# Operations that need an agency's key; every other one is given an app's key.
AGENCY_OPERATIONS = {("POST", "/reports/{tracking_id}/follow-ups"), ("GET", "/agency/reports")}
EXAMPLES_PER_OPERATION = 100
# The document describes a request's shape; intake is the authority on a report's rules (a place within
# Indonesia, a known category, enough words) and refuses with a 400 naming the field, as documented.
# So a request valid for the document may still be refused, and that check is left out.
EXCLUDED_CHECKS = [positive_data_acceptance]
# Each key may make REQUESTS_PER_KEY requests and SUBMISSIONS_PER_KEY reports a minute: the test's clock
# moves on a minute well before either.
REQUESTS_PER_MINUTE = min(api.REQUESTS_PER_KEY, api.SUBMISSIONS_PER_KEY) // 2


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_generated_request_is_answered_as_the_document_says_and_stores_nothing_partial(
        case, root, keys, clock, database_url):
    run = f"rest-api {case.operation.method.upper()} {case.operation.path}"
    clock.set(T0 + timedelta(minutes=CASES[run] // REQUESTS_PER_MINUTE))  # counted before this case
    if (case.operation.method.upper(), case.operation.path) == ("POST", "/reports"):
        case.body = one_field_generated(case, CASES[run])
    kind = "pupr" if (case.operation.method.upper(), case.operation.path) in AGENCY_OPERATIONS else "app-1"
    response = case.call_and_validate(base_url=root + api.PREFIX,
                                      headers={"Authorization": f"Bearer {keys[kind][1]}"},
                                      excluded_checks=EXCLUDED_CHECKS)
    count(run, str(response.status_code))
    assert partial_writes(database_url) == {}


def one_field_generated(case, number: int):
    """Every other report the document allows becomes a report intake accepts too, but for one field
    as generated (in turn): so that hostile values reach the database and reports get stored, which
    the partial-write check is about. A body the document forbids is sent as generated."""
    body = case.body
    if case.meta is None or case.meta.generation.mode.is_negative or not isinstance(body, dict) or number % 2:
        return body
    good = report_body()
    if not body:
        return good
    name = sorted(body)[number // 2 % len(body)]
    return {**good, name: body[name]}
