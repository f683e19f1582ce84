"""A third-party Open311 client, `georeport` from PyPI (read-only: services, definitions,
requests), against the portal served for real over HTTP."""

import pytest
import requests
from georeport import GeoReport

from services.portal import forms
from services.portal.http_server import HttpServer
from sp4n.intake.v1 import intake_pb2 as pb
from tests.portal.test_open311_fakes import (  # noqa: F401 (fixtures)
    V2, fake_intake, fake_intake_address, make_open311_app, post_fields, published_report)

FORMATS = ("json", "xml")


@pytest.fixture
def root(make_open311_app, fake_intake_address, others_address):
    """The GeoReport v2 root of the portal, served by its HTTP server on a free port."""
    server = HttpServer(make_open311_app(fake_intake_address, others_address), host="127.0.0.1", port=0)
    server.start()
    yield server.url + V2
    server.stop()


@pytest.fixture
def reports(fake_intake):
    fake_intake.publish(published_report(1, days_ago=1))
    fake_intake.publish(published_report(2, days_ago=2, category="lingkungan", status=pb.REPORT_STATUS_CLOSED))
    fake_intake.publish(published_report(3, days_ago=3))
    return fake_intake


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_client_lists_the_services_and_reads_their_definitions(root, fmt):
    client = GeoReport(root, jurisdiction="lapor.go.id", output_format=fmt)
    services = client.get_service_list()
    assert [s["service_code"] for s in services] == list(forms.CATEGORIES)
    assert {s["service_name"] for s in services} == set(forms.CATEGORIES.values())
    definition = client.get_service_definition("lingkungan")
    assert definition["service_code"] == "lingkungan"
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["type", "title", "region_code", "incident_date", "anonymous",
                                               "confidential"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_client_queries_requests_by_filter_and_by_id(root, reports, fmt):
    client = GeoReport(root, output_format=fmt)
    everything = client.get_service_requests()
    assert [r["service_request_id"] for r in everything] == ["LAP-00000001", "LAP-00000002", "LAP-00000003"]
    open_ = client.get_service_requests(service_code="infrastruktur", status="open",
                                        start_date="2026-03-13T00:00:00Z", end_date="2026-03-16T03:00:00Z")
    assert [r["service_request_id"] for r in open_] == ["LAP-00000001", "LAP-00000003"]
    closed = client.get_service_requests(status="closed")
    one = closed if fmt == "json" else [closed]  # xmltodict makes a single element a dict
    assert [(r["service_request_id"], r["status"]) for r in one] == [("LAP-00000002", "closed")]
    picked = client.get_service_requests(service_request_id="LAP-00000003,LAP-00000001")
    assert [r["service_request_id"] for r in picked] == ["LAP-00000003", "LAP-00000001"]
    request = client.get_service_request("LAP-00000001")
    assert request["service_request_id"] == "LAP-00000001" and request["status"] == "open"
    assert request["address"] == "Jl. Raya Batulicin km 3"
    assert float(request["lat"]) == -3.4412 and float(request["long"]) == 115.9963
    assert request["requested_datetime"] == "2026-03-15T10:00:00+07:00"


def test_the_client_sees_an_unknown_request_as_an_http_error(root, reports):
    with pytest.raises(requests.HTTPError) as raised:
        GeoReport(root).get_service_request("LAP-99999999")
    assert raised.value.response.status_code == 404
    assert raised.value.response.json() == [{"code": 404, "description": "service_request_id LAP-99999999 not found"}]


def test_a_form_posted_over_http_is_submitted_once_and_its_token_resolves(root, fake_intake):
    first = requests.post(f"{root}/requests.json", data=post_fields(), timeout=10)
    again = requests.post(f"{root}/requests.json", data=post_fields(), timeout=10)
    assert first.status_code == again.status_code == 200
    [answer] = first.json()
    assert again.json() == [answer] and len(fake_intake.receipts) == 1
    assert fake_intake.submissions[0].reporter.name == "Siti Rahmah"
    token = requests.get(f"{root}/tokens/{answer['token']}.xml", timeout=10)
    assert token.status_code == 200 and f"<service_request_id>{answer['service_request_id']}" in token.text
    refused = requests.post(f"{root}/requests.json", data=post_fields(api_key="salah"), timeout=10)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403
