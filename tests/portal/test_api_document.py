"""The REST API's OpenAPI document: served as kept, valid OpenAPI, describing every route the API has,
with the limits the portal's forms use; the reference lists; paths and methods the API lacks."""

import json

from openapi_spec_validator import validate

from services.portal import api, forms
from tests.portal.conftest import REGIONS
from tests.portal.api_support import (DOCUMENT, OPENAPI, ApiClient, png, b64, problem,  # noqa: F401 (fixtures)
                                      agency_api, app_api, clients, keys, public_api, report_body, root, serve_api)

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def test_the_document_is_served_as_kept_and_is_valid_openapi(public_api):
    response = public_api.get("/openapi.json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.content == api.OPENAPI.read_bytes()
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["components"]["securitySchemes"]) == {"bearerKey", "headerKey"}


def test_every_route_of_the_api_is_described_and_nothing_more():
    from flask import Flask
    app = Flask(__name__)
    app.add_url_rule("/lacak/<tracking_id>", "tracking")
    blueprint = api.blueprint(intake=None, sla=None, pool=None, identity_key="k" * 32, public_url="http://x")
    app.register_blueprint(blueprint, url_prefix=api.PREFIX)
    routes = {(rule.rule.removeprefix(api.PREFIX).replace("<", "{").replace(">", "}"), method.lower())
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
              and rule.endpoint != "api.elsewhere" for method in rule.methods & METHODS}
    described = {(path, method) for path, item in DOCUMENT["paths"].items() for method in item}
    assert routes == described


def test_every_operation_says_how_it_is_authorised_and_declares_its_errors():
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            kinds = operation.get("x-sp4n-key-kinds")
            if kinds:
                assert operation["security"] == [{"bearerKey": []}, {"headerKey": []}], (path, method)
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
            else:
                assert operation["security"] == [], (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(operation["responses"]), (path, method)
            if "{tracking_id}" in path:
                assert "404" in operation["responses"], (path, method)


def test_the_documented_limits_are_the_ones_the_portal_holds():
    report = DOCUMENT["components"]["schemas"]["ReportSubmission"]["properties"]
    assert (report["title"]["minLength"], report["title"]["maxLength"]) == forms.TITLE
    assert (report["description"]["minLength"], report["description"]["maxLength"]) == forms.DESCRIPTION
    assert report["attachments"]["maxItems"] == 5
    assert f"{api.MAX_REPORT_BYTES:,}" in DOCUMENT["info"]["description"]


def test_a_report_as_the_tests_send_it_is_valid_for_the_document():
    OPENAPI.check_request("ReportSubmission", report_body(attachments=[{"filename": "a.png",
                                                                        "content_base64": b64(png())}]))


def test_the_reference_lists_are_the_portals(public_api):
    categories = public_api.get("/categories")
    regions = public_api.get("/regions")
    assert categories.status_code == regions.status_code == 200
    assert categories.json() == {"categories": [{"code": c, "name": n} for c, n in forms.CATEGORIES.items()]}
    assert regions.json() == {"regions": [{"code": r.code, "name": r.name} for r in REGIONS]}
    assert {"code": "6310", "name": "Kabupaten Tanah Bumbu"} in regions.json()["regions"]
    assert json.loads(categories.content.decode("utf-8"))  # UTF-8 JSON


def test_a_path_or_method_the_api_lacks_is_a_problem_not_a_page(public_api, app_api):
    missing = problem(public_api.get("/nothing-here"), 404)
    assert missing["title"] == "Not Found" and "openapi.json" in missing["detail"]
    not_allowed = app_api.request("DELETE", "/reports")
    assert problem(not_allowed, 405)["status"] == 405
    assert not_allowed.headers["Allow"] == "POST"
    assert problem(public_api.request("PUT", "/categories"), 405)


def test_a_follow_up_with_files_is_valid_for_the_document_and_takes_as_many_as_a_report():
    OPENAPI.check_request("FollowUpEntry", {"body": "Sudah ditambal.",
                                            "attachments": [{"filename": "a.png", "content_base64": b64(png())}]})
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["FollowUpEntry"]["properties"]["attachments"]["maxItems"] == forms.MAX_ATTACHMENTS
    assert schemas["FollowUpEntry"]["properties"]["body"]["maxLength"] == forms.BODY[1]
