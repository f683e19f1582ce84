"""Open311 over the real intake server and PostgreSQL: what a client posts becomes a report, and the
public reads it only once published, redacted, and never when confidential."""

import re
from datetime import datetime, timezone

import grpc
import pytest

from services.plumbing.wire import timestamp
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.sla.v1 import sla_pb2
from tests.intake.reports import AGENCY_NAME, forward, row_counts, set_status
from tests.portal.test_open311_fakes import V2, from_xml, make_open311_app, post_fields, validate  # noqa: F401


@pytest.fixture
def api(make_open311_app, intake_address, others_address):
    return make_open311_app(intake_address, others_address).test_client()


@pytest.fixture
def intake_as_sla(intake_address):
    channel = grpc.insecure_channel(intake_address)
    yield intake_pb2_grpc.IntakeServiceStub(channel)
    channel.close()


def posted(api, **fields) -> str:
    response = api.post(f"{V2}/requests.json", data=post_fields(**fields))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()[0]["service_request_id"]


def service_requests(api, path: str = "requests", **params) -> list[dict]:
    """The JSON and XML answers, both valid and the same."""
    as_json = api.get(f"{V2}/{path}.json", query_string=params)
    as_xml = api.get(f"{V2}/{path}.xml", query_string=params)
    assert as_json.status_code == as_xml.status_code == 200, as_json.get_data(as_text=True)
    document = as_json.get_json()
    validate(document, "requests.json")
    assert from_xml(as_xml.get_data(as_text=True), "requests.json", "service_requests") == document
    return document


def test_a_posted_report_is_public_once_forwarded_redacted_and_without_its_reporter(api, intake_as_sla, fake_sla,
                                                                                  database_url):
    description = "Jembatan kayu di Desa Sungai Danau patah. Hubungi saya di 0812-3456-7890 atau siti@contoh.id."
    public = posted(api, description=description, attribute_type="aspirasi")
    [secret_answer] = api.post(f"{V2}/requests.json", data=post_fields(
        description="Pungutan liar di loket Samsat Batulicin setiap pagi.", attribute_confidential="ya")).get_json()
    secret = secret_answer["service_request_id"]
    # The reporter's access code travels in the notice: Open311 has no field of its own for it.
    assert re.search(r"kode akses [0-9A-Z]{4}(-[0-9A-Z]{4}){3}\.", secret_answer["service_notice"])
    assert posted(api, description=description, attribute_type="aspirasi") == public  # a retry
    assert row_counts(database_url)["reports"] == 2
    assert api.get(f"{V2}/tokens/{secret_answer['token']}.json").get_json() == [
        {"service_request_id": secret, "token": secret_answer["token"]}]
    for tracking_id in (public, secret):
        assert api.get(f"{V2}/requests/{tracking_id}.json").status_code == 404  # not yet verified
        forward(intake_as_sla, tracking_id, key=f"fwd-{tracking_id}")
    follow_up_due = datetime(2026, 3, 23, 16, 59, 59, tzinfo=timezone.utc)
    fake_sla.cases[public] = sla_pb2.Case(tracking_id=public, deadlines=[
        sla_pb2.Deadline(name="follow_up_overdue", state="open", due_at=timestamp(follow_up_due))])

    [listed] = service_requests(api)
    assert service_requests(api, f"requests/{public}") == [listed]
    assert listed["service_request_id"] == public and listed["status"] == "open"
    assert listed["agency_responsible"] == AGENCY_NAME and listed["service_code"] == "infrastruktur"
    assert listed["expected_datetime"] == "2026-03-23T23:59:59+07:00"
    assert (listed["lat"], listed["long"]) == (-3.4412, 115.9963)
    assert listed["description"].startswith("Jembatan kayu di Desa Sungai Danau patah.")
    text = str(listed)
    for identity in ("0812", "3456-7890", "siti@contoh.id", "Siti", "Rahmah"):
        assert identity not in text
    assert api.get(f"{V2}/requests/{secret}.json").status_code == 404
    assert service_requests(api, service_request_id=f"{public},{secret}") == [listed]

    set_status(intake_as_sla, public, pb.REPORT_STATUS_CLOSED, key="close-1")
    [closed] = service_requests(api, status="closed")
    assert closed["service_request_id"] == public and "expected_datetime" not in closed
    assert service_requests(api, status="open") == []


def test_what_intake_refuses_reaches_the_client_by_its_parameter(api, database_url):
    response = api.post(f"{V2}/requests.json", data=post_fields(lat="51.5", long="-0.12"))
    assert response.status_code == 400
    [entry] = response.get_json()
    assert entry["code"] == 400 and entry["description"].startswith("lat: must be between")
    assert row_counts(database_url)["reports"] == 0
