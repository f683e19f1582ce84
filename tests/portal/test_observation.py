"""The portal's part in the operational surface: a request id per HTTP request that reaches the services
it calls, an access log that names routes and never what a person sent, and HTTP request metrics."""

import json

from prometheus_client import REGISTRY

from services.plumbing import request_ids
from tests.portal.test_pages import report_form
from tests.support import JsonLogLines

GIVEN = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"


def sent(route: str, method: str, status: int) -> float:
    return REGISTRY.get_sample_value("sp4n_http_requests_total",
                                     {"method": method, "route": route, "status": str(status)}) or 0.0


def test_the_request_id_given_to_the_portal_is_in_its_log_and_in_intakes_and_no_contact_details_are(client):
    form = report_form(client)
    before = sent("/laporan", "POST", 303)
    with JsonLogLines() as logged:
        response = client.post("/laporan", data=form, headers={request_ids.HTTP_HEADER: GIVEN})

    assert response.status_code == 303
    assert response.headers[request_ids.HTTP_HEADER] == GIVEN
    (portal,) = logged.saying("POST /laporan 303")
    (intake,) = logged.saying("handled /sp4n.intake.v1.IntakeService/SubmitReport")
    assert portal["request_id"] == intake["request_id"] == GIVEN
    everything = json.dumps(logged.lines)
    for contact in (form["phone"], form["email"], form["name"]):
        assert contact not in everything
    assert sent("/laporan", "POST", 303) == before + 1
    assert REGISTRY.get_sample_value("sp4n_http_request_seconds_count", {"method": "POST", "route": "/laporan"})


def test_without_a_valid_request_id_the_portal_makes_one_per_request(client):
    with JsonLogLines() as logged:
        first = client.get("/lacak/LAP-7K3QX9MA", headers={request_ids.HTTP_HEADER: "siti@contoh.id"})
        second = client.get("/lacak/LAP-7K3QX9MA")

    made = [first.headers[request_ids.HTTP_HEADER], second.headers[request_ids.HTTP_HEADER]]
    assert all(request_ids.valid(i) for i in made) and made[0] != made[1]
    lines = logged.saying("GET /lacak/<tracking_id>")  # the route: the tracking id stays out of the log
    assert [line["request_id"] for line in lines] == made
    assert "siti@contoh.id" not in json.dumps(logged.lines)
    assert "LAP-7K3QX9MA" not in json.dumps(lines)
