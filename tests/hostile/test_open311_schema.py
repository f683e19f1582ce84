"""Open311 GeoReport v2 under schemathesis, from the community's Swagger 2.0 description
(shared/open311/georeport-v2/swagger.json) with its format parameter narrowed to the two formats
GeoReport v2 names. That description is loose (it declares no POST description, no error answers and
no types of its own for them), so only what it can vouch for is checked: no answer is a 5xx, and every
answer is well-formed JSON or XML as asked. test_open311_inputs generates the fields it leaves out."""

import copy
import json
from xml.etree import ElementTree

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.hostile.conftest import count
from tests.portal.test_open311_fakes import KEY, SCHEMAS, V2

DESCRIPTION = json.loads((SCHEMAS / "swagger.json").read_text())


def narrowed(document: dict) -> dict:
    document = copy.deepcopy(document)
    document["parameters"]["response_format"]["enum"] = ["json", "xml"]
    return document


SCHEMA = schemathesis.openapi.from_dict(narrowed(DESCRIPTION))


@pytest.fixture
def open311_root(make_open311_app, intake_address, others_address, serve_app) -> str:
    """The portal, with Open311, over the real intake, served by waitress."""
    return serve_app(make_open311_app(intake_address, others_address)).root + V2


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_generated_request_is_answered_without_a_server_error_in_its_format(
        case, open311_root):
    if case.operation.method.upper() == "POST":
        case.query = {**(case.query or {}), "api_key": KEY}
    response = case.call(base_url=open311_root)
    count(f"open311-schema {case.operation.method.upper()} {case.operation.path}", str(response.status_code))
    case.validate_response(response, checks=[not_a_server_error])
    fmt = (case.path_parameters or {}).get("response_format")
    if response.request.method in ("GET", "POST") and fmt in ("json", "xml"):  # not HEAD, OPTIONS, ...
        if fmt == "xml":
            ElementTree.fromstring(response.content)
        else:
            json.loads(response.content)

