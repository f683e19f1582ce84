"""Open311 GeoReport v2 at /open311/v2/: every endpoint in JSON and XML, checked against the
GeoReport v2 JSON Schemas, over a stand-in intake served by real gRPC."""

from datetime import datetime, timedelta, timezone

import pytest

from services.plumbing.wire import timestamp
from services.portal import forms
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.sla.v1 import sla_pb2
from tests.portal.test_open311_fakes import (  # noqa: F401 (fixtures)
    AGENCY_NAME, KEY, NOW, OTHER_KEY, V2, api, fake_intake, fake_intake_address, from_xml, make_open311_app,
    post_fields, published_report, validate)

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def read(response, fmt: str, schema: str, root: str):
    """The response's document (XML read back into the JSON shape), validated against `schema`."""
    assert response.headers["Content-Type"] == CONTENT_TYPES[fmt]
    text = response.get_data(as_text=True)
    document = from_xml(text, schema, root) if fmt == "xml" else response.get_json()
    validate(document, schema)
    return document


def both(api, path: str, schema: str, root: str, http_status: int = 200, **params):
    """GETs `path` as .json and .xml: the same status, both valid, the same document; returns it."""
    json_response = api.get(f"{V2}/{path}.json", query_string=params)
    xml_response = api.get(f"{V2}/{path}.xml", query_string=params)
    assert json_response.status_code == xml_response.status_code == http_status, json_response.get_data(as_text=True)
    document = read(json_response, "json", schema, root)
    assert read(xml_response, "xml", schema, root) == document
    return document


def error(api, path: str, http_status: int, method: str = "GET", **params) -> str:
    """The one error GeoReport v2 answers with, checked in both formats; returns its description."""
    descriptions = []
    for fmt in FORMATS:
        call = api.get if method == "GET" else api.post
        response = call(f"{V2}/{path}.{fmt}", query_string=params) if method == "GET" else \
            call(f"{V2}/{path}.{fmt}", data=params)
        assert response.status_code == http_status, response.get_data(as_text=True)
        [entry] = read(response, fmt, "errors", "errors")
        assert entry["code"] == http_status
        descriptions.append(entry["description"])
    assert descriptions[0] == descriptions[1]
    return descriptions[0]


def wib(value: datetime) -> str:
    return value.astimezone(timezone(timedelta(hours=7))).isoformat(timespec="seconds")


def deadline(name: str, due: datetime, state: str = "open") -> sla_pb2.Deadline:
    return sla_pb2.Deadline(name=name, due_at=timestamp(due), state=state, owner="tanah-bumbu-pupr",
                            started_at=timestamp(due - timedelta(days=5)))


# Discovery, services and their definitions

def test_discovery_points_at_the_v2_endpoint_in_both_formats(api):
    document = both(api, "discovery", "discovery", "discovery")
    [endpoint] = document["endpoints"]
    assert endpoint["url"] == f"http://localhost{V2}"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}


def test_the_services_are_the_report_categories(api):
    services = both(api, "services", "services.json", "services")
    for service in services:
        validate(service, "swagger.json#/definitions/Service")
    assert [(s["service_code"], s["service_name"]) for s in services] == list(forms.CATEGORIES.items())
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in services)


@pytest.mark.parametrize("code", list(forms.CATEGORIES))
def test_every_service_has_a_definition_with_the_report_type_and_privacy_flags(api, code):
    definition = both(api, f"services/{code}", "service-definition.json", "service_definition")
    validate(definition, "swagger.json#/definitions/ServiceDefinition")
    assert definition["service_code"] == code
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert [a["order"] for a in definition["attributes"]] == list(range(1, len(attributes) + 1))
    assert attributes["type"]["datatype"] == "singlevaluelist"
    assert [v["key"] for v in attributes["type"]["values"]] == ["pengaduan", "aspirasi", "permintaan-informasi"]
    for flag in ("anonymous", "confidential"):
        assert [v["key"] for v in attributes[flag]["values"]] == ["ya", "tidak"]
    assert attributes["incident_date"]["datatype"] == "datetime"
    assert not any(a["required"] for a in attributes.values())


def test_an_unknown_service_has_no_definition(api):
    assert error(api, "services/jalan-tol", 404) == "service_code jalan-tol not found"


# Service requests: published reports

def test_service_requests_are_the_published_reports_newest_first(api, fake_intake, fake_sla):
    follow_up_due = datetime(2026, 3, 20, 16, 59, 59, tzinfo=timezone.utc)  # 23:59:59 WIB
    forwarded = fake_intake.publish(published_report(1, days_ago=2))
    fake_sla.cases[forwarded.tracking_id] = sla_pb2.Case(tracking_id=forwarded.tracking_id, deadlines=[
        deadline("verification_overdue", NOW - timedelta(days=1), state="met"),
        deadline("follow_up_overdue", follow_up_due)])
    fake_intake.publish(published_report(2, days_ago=1, category="kesehatan", status=pb.REPORT_STATUS_CLOSED,
                                         has_location=False, latitude=0, longitude=0, location_text=""))
    requests = both(api, "requests", "requests.json", "service_requests")
    for request in requests:
        validate(request, "swagger.json#/definitions/Request")
    assert [r["service_request_id"] for r in requests] == ["LAP-00000002", "LAP-00000001"]
    closed, open_ = requests
    assert open_ == {
        "service_request_id": "LAP-00000001", "status": "open", "status_notes": "Diteruskan ke instansi",
        "service_name": "Infrastruktur", "service_code": "infrastruktur",
        "description": "Jalan berlubang di Batulicin: Lubang besar di Jalan Raya Batulicin dekat pasar. "
                       "Hubungi [nomor disembunyikan].",
        "agency_responsible": AGENCY_NAME,
        "requested_datetime": "2026-03-14T10:00:00+07:00", "updated_datetime": "2026-03-14T16:00:00+07:00",
        "expected_datetime": "2026-03-20T23:59:59+07:00",
        "address": "Jl. Raya Batulicin km 3", "lat": -3.4412, "long": 115.9963,
    }
    assert closed["status"] == "closed" and closed["status_notes"] == "Selesai"
    assert closed["service_name"] == "Kesehatan"
    assert not {"expected_datetime", "address", "lat", "long"} & closed.keys()


@pytest.mark.parametrize("deadlines, expected", [
    ([deadline("verification_overdue", NOW + timedelta(days=2))], "verification"),
    ([deadline("verification_overdue", NOW - timedelta(days=2), state="met"),
      deadline("follow_up_overdue", NOW + timedelta(days=4))], "follow_up"),
    ([deadline("follow_up_overdue", NOW - timedelta(days=1), state="breached")], None),
    ([deadline("quiet_period_over", NOW + timedelta(days=9))], None),
    ([], None),
])
def test_expected_datetime_is_the_open_deadline_of_the_agency_else_of_verification(api, fake_intake, fake_sla,
                                                                                 deadlines, expected):
    report = fake_intake.publish(published_report(1))
    fake_sla.cases[report.tracking_id] = sla_pb2.Case(tracking_id=report.tracking_id, deadlines=deadlines)
    [request] = both(api, f"requests/{report.tracking_id}", "requests.json", "service_requests")
    due = {"verification": wib(NOW + timedelta(days=2)), "follow_up": wib(NOW + timedelta(days=4))}
    assert request.get("expected_datetime") == due.get(expected)


def test_a_report_sla_does_not_know_or_cannot_be_asked_about_still_shows(make_open311_app, fake_intake,
                                                                      fake_intake_address, closed_address):
    fake_intake.publish(published_report(1))
    api = make_open311_app(fake_intake_address, closed_address).test_client()
    [request] = both(api, "requests", "requests.json", "service_requests")
    assert request["service_request_id"] == "LAP-00000001" and "expected_datetime" not in request


def test_a_request_by_id_in_both_paths_and_formats(api, fake_intake):
    fake_intake.publish(published_report(7))
    [request] = both(api, "requests/LAP-00000007", "requests.json", "service_requests")
    assert request["service_request_id"] == "LAP-00000007"
    assert both(api, "request/LAP-00000007", "requests.json", "service_requests") == [request]
    assert both(api, "requests/lap-000000o7", "requests.json", "service_requests") == [request]  # as typed


def test_a_request_not_published_is_not_found_though_intake_holds_it(api, fake_intake):
    posted = api.post(f"{V2}/requests.json", data=post_fields(attribute_confidential="ya"))
    tracking_id = posted.get_json()[0]["service_request_id"]
    assert error(api, f"requests/{tracking_id}", 404) == f"service_request_id {tracking_id} not found"
    assert both(api, "requests", "requests.json", "service_requests", service_request_id=tracking_id) == []
    assert "GetReport" not in fake_intake.calls  # what the public reads comes from the published text only


@pytest.mark.parametrize("typed", ["LAP-99999999", "not-an-id", "LAP-0000000I1"])
def test_an_unknown_request_is_not_found(api, typed):
    assert error(api, f"requests/{typed}", 404) == f"service_request_id {typed} not found"


def test_descriptions_longer_than_georeport_allows_are_cut(api, fake_intake):
    fake_intake.publish(published_report(1, description="Panjang sekali. " * 300))
    [request] = both(api, "requests/LAP-00000001", "requests.json", "service_requests")
    assert len(request["description"]) == 4000 and request["description"].endswith("…")


def test_xml_carries_any_text_a_report_may_hold(api, fake_intake):
    text = 'Pipa <bocor> & "air" meluap di RT 03 — tolong\nsegera ditangani.'
    fake_intake.publish(published_report(1, title="Pipa bocor", description=text, location_text="Gg. <Mawar> & Co"))
    [request] = both(api, "requests/LAP-00000001", "requests.json", "service_requests")
    assert request["description"] == f"Pipa bocor: {text}" and request["address"] == "Gg. <Mawar> & Co"


# Filters of GET requests

def test_requests_default_to_the_last_90_days(api, fake_intake):
    fake_intake.publish(published_report(1, days_ago=89))
    fake_intake.publish(published_report(2, days_ago=91))
    requests = both(api, "requests", "requests.json", "service_requests")
    assert [r["service_request_id"] for r in requests] == ["LAP-00000001"]
    asked = fake_intake.list_requests[-1]
    before = asked.submitted_before.ToDatetime(tzinfo=timezone.utc)
    assert timedelta(0) <= before - NOW < timedelta(minutes=1)  # the clock was set to NOW and runs on
    assert before - asked.submitted_after.ToDatetime(tzinfo=timezone.utc) == timedelta(days=90, microseconds=1)
    assert list(asked.statuses) == [] and asked.category == ""


def test_start_and_end_date_both_include_their_moment(api, fake_intake):
    fake_intake.publish(published_report(1, days_ago=1))
    fake_intake.publish(published_report(2, days_ago=2))
    fake_intake.publish(published_report(3, days_ago=3))
    start, end = (NOW - timedelta(days=3)).isoformat(), (NOW - timedelta(days=1)).isoformat()
    requests = both(api, "requests", "requests.json", "service_requests", start_date=start, end_date=end)
    assert [r["service_request_id"] for r in requests] == ["LAP-00000001", "LAP-00000002", "LAP-00000003"]
    at_once = both(api, "requests", "requests.json", "service_requests", start_date=end, end_date=end)
    assert [r["service_request_id"] for r in at_once] == ["LAP-00000001"]


@pytest.mark.parametrize("status, expected", [
    ("open", ["LAP-00000001", "LAP-00000004"]),
    ("closed", ["LAP-00000002", "LAP-00000003"]),
    ("open,closed", ["LAP-00000001", "LAP-00000002", "LAP-00000003", "LAP-00000004"]),
    ("", ["LAP-00000001", "LAP-00000002", "LAP-00000003", "LAP-00000004"]),
])
def test_status_open_is_every_status_but_closed_archived_and_duplicate(api, fake_intake, status, expected):
    for number, report_status in enumerate((pb.REPORT_STATUS_FOLLOWED_UP, pb.REPORT_STATUS_ARCHIVED,
                                            pb.REPORT_STATUS_DUPLICATE, pb.REPORT_STATUS_FORWARDED), start=1):
        fake_intake.publish(published_report(number, days_ago=number, status=report_status))
    requests = both(api, "requests", "requests.json", "service_requests", status=status)
    assert sorted(r["service_request_id"] for r in requests) == expected
    assert {r["status"] for r in requests} == {"open", "closed"} & set(status.split(",") if status else
                                                                      ("open", "closed"))


def test_requests_by_service_code_and_dates(api, fake_intake):
    fake_intake.publish(published_report(1, days_ago=1))
    fake_intake.publish(published_report(2, days_ago=3, category="lingkungan"))
    fake_intake.publish(published_report(3, days_ago=5, category="kesehatan"))
    fake_intake.publish(published_report(4, days_ago=11))
    requests = both(api, "requests", "requests.json", "service_requests", service_code="infrastruktur,lingkungan",
                    start_date="2026-03-06T00:00:00+07:00", end_date="2026-03-16T10:00:00+07:00")
    assert [r["service_request_id"] for r in requests] == ["LAP-00000001", "LAP-00000002"]
    asked = {r.category: r for r in fake_intake.list_requests[-2:]}
    assert set(asked) == {"infrastruktur", "lingkungan"}
    assert asked["lingkungan"].submitted_after.ToDatetime(tzinfo=timezone.utc) == datetime(
        2026, 3, 5, 17, tzinfo=timezone.utc)
    declared_twice = api.get(f"{V2}/requests.json?service_code=lingkungan&service_code=kesehatan&status=open")
    assert [r["service_request_id"] for r in declared_twice.get_json()] == ["LAP-00000002", "LAP-00000003"]
    only_start = both(api, "requests", "requests.json", "service_requests", start_date="2026-03-08T00:00:00Z")
    assert [r["service_request_id"] for r in only_start] == ["LAP-00000001", "LAP-00000002", "LAP-00000003"]


def test_a_list_of_ids_overrides_every_other_filter(api, fake_intake):
    fake_intake.publish(published_report(1, days_ago=200))
    fake_intake.publish(published_report(2, category="kesehatan"))
    requests = both(api, "requests", "requests.json", "service_requests", status="closed",
                    service_code="lingkungan", service_request_id="LAP-00000002, lap-00000001,LAP-99999999,x")
    assert [r["service_request_id"] for r in requests] == ["LAP-00000002", "LAP-00000001"]
    assert fake_intake.list_requests == []


def test_at_most_1000_requests_newest_first_across_pages(api, fake_intake):
    for number in range(1, 1006):
        fake_intake.publish(published_report(number, days_ago=number / 20))
    response = api.get(f"{V2}/requests.json")
    requests = read(response, "json", "requests.json", "service_requests")
    assert len(requests) == 1000
    assert requests[0]["service_request_id"] == "LAP-00000001"
    assert requests[-1]["service_request_id"] == "LAP-00001000"
    assert all(r.page_size == 100 for r in fake_intake.list_requests) and len(fake_intake.list_requests) == 10


@pytest.mark.parametrize("params, description", [
    (dict(status="pending"), "status must be open, closed or both (comma delimited)"),
    (dict(service_code="jalan-tol"), "service_code jalan-tol not found"),
    (dict(start_date="kemarin"), "start_date must be a W3C date-time with its time zone, e.g. "
                                 "2026-03-16T10:00:00+07:00"),
    (dict(end_date="2026-03-16T10:00:00"), "end_date must be a W3C date-time with its time zone, e.g. "
                                           "2026-03-16T10:00:00+07:00"),
    (dict(start_date="2026-03-16T00:00:00Z", end_date="2026-03-01T00:00:00Z"),
     "end_date must not be before start_date"),
    (dict(start_date="2025-12-01T00:00:00Z", end_date="2026-03-16T00:00:00Z"),
     "start_date to end_date may span at most 90 days"),
    (dict(service_request_id=",".join(f"LAP-{n:08d}" for n in range(101))),
     "service_request_id: at most 100 ids at once"),
])
def test_bad_filters_are_refused(api, fake_intake, params, description):
    assert error(api, "requests", 400, **params) == description
    assert fake_intake.calls == []


# Tokens

def test_a_posted_requests_token_resolves_to_its_id_and_no_other_token_does(api, fake_intake):
    [answer] = api.post(f"{V2}/requests.json", data=post_fields()).get_json()
    tracking_id, token = answer["service_request_id"], answer["token"]
    assert both(api, f"tokens/{token}", "token", "service_requests") == [
        {"service_request_id": tracking_id, "token": token}]
    calls = len(fake_intake.calls)
    # A bare tracking ID, a token for another ID, and a made-up one: none was issued by this portal.
    forged = f"LAP-99999999.{token.rpartition('.')[2]}"
    for other in (tracking_id, forged, "bukan-token"):
        assert error(api, f"tokens/{other}", 404) == f"token {other} not found"
    assert len(fake_intake.calls) == calls  # resolving a token asks no service


# POST service requests

@pytest.mark.parametrize("fmt", FORMATS)
def test_a_posted_request_is_submitted_to_intake_and_answered_with_its_tracking_id(api, fake_intake, fmt):
    response = api.post(f"{V2}/requests.{fmt}", data=post_fields(
        attribute_type="aspirasi", attribute_region_code="6310", attribute_anonymous="ya",
        attribute_incident_date="2026-03-15T08:30:00+08:00"))
    assert response.status_code == 200, response.get_data(as_text=True)
    [answer] = read(response, fmt, "posted", "service_requests")
    assert answer["service_request_id"] == "LAP-00000001"
    assert "LAP-00000001" in answer["service_notice"] and "/lacak/LAP-00000001" in answer["service_notice"]
    [submitted] = fake_intake.submissions
    assert submitted.channel == "open311"
    assert submitted.type == pb.REPORT_TYPE_ASPIRATION and submitted.category == "infrastruktur"
    assert submitted.title == "Lubang besar di Jalan Raya Batulicin dekat pasar."
    assert submitted.description.endswith("Sudah dua minggu tidak diperbaiki.")
    assert submitted.has_location and (submitted.latitude, submitted.longitude) == (-3.4412, 115.9963)
    assert submitted.location_text == "Jl. Raya Batulicin km 3, Tanah Bumbu" and submitted.region_code == "6310"
    assert submitted.anonymous and not submitted.confidential
    assert submitted.reporter == pb.Reporter(name="Siti Rahmah", phone="081234567890", email="siti@contoh.id")
    assert submitted.incident_date.ToDatetime(tzinfo=timezone.utc) == datetime(2026, 3, 15, 0, 30,
                                                                                tzinfo=timezone.utc)
    assert submitted.idempotency_key.startswith("open311:") and KEY not in submitted.idempotency_key


def test_a_post_with_an_address_only_and_the_defaults(api, fake_intake):
    response = api.post(f"{V2}/requests.json", data=post_fields(
        lat="", long="", description="Sampah menumpuk", service_code="lingkungan", email="", phone="",
        first_name="", last_name="", attribute_title="Sampah di Pasar Batulicin", attribute_confidential="ya"))
    assert response.status_code == 200, response.get_data(as_text=True)
    [submitted] = fake_intake.submissions
    assert not submitted.has_location and submitted.location_text == "Jl. Raya Batulicin km 3, Tanah Bumbu"
    assert submitted.type == pb.REPORT_TYPE_COMPLAINT and submitted.title == "Sampah di Pasar Batulicin"
    assert submitted.confidential and not submitted.anonymous
    assert submitted.reporter == pb.Reporter() and not submitted.HasField("incident_date")


def test_a_retried_post_makes_one_report(api, fake_intake):
    first = api.post(f"{V2}/requests.json", data=post_fields())
    again = api.post(f"{V2}/requests.xml", data=post_fields())
    other_client = api.post(f"{V2}/requests.json", data=post_fields(api_key=OTHER_KEY))
    different = api.post(f"{V2}/requests.json", data=post_fields(description="Lubang lain di jalan yang sama."))
    ids = [first.get_json()[0]["service_request_id"], from_xml(again.get_data(as_text=True), "posted",
                                                                "service_requests")[0]["service_request_id"],
           other_client.get_json()[0]["service_request_id"], different.get_json()[0]["service_request_id"]]
    assert ids == ["LAP-00000001", "LAP-00000001", "LAP-00000002", "LAP-00000003"]
    assert len({s.idempotency_key for s in fake_intake.submissions}) == 3


def test_a_client_idempotency_key_makes_one_report_of_its_retries(api, fake_intake):
    headers = {"Idempotency-Key": "app-7f3a-0001"}
    first = api.post(f"{V2}/requests.json", data=post_fields(), headers=headers)
    edited = api.post(f"{V2}/requests.json", data=post_fields(description="Diketik ulang oleh aplikasi."),
                      headers=headers)
    assert first.get_json() == edited.get_json()
    assert len(fake_intake.receipts) == 1
    refused = api.post(f"{V2}/requests.json", data=post_fields(), headers={"Idempotency-Key": "x" * 101})
    assert refused.status_code == 400


@pytest.mark.parametrize("api_key", [None, "", "bukan-kunci", "open311-key-for-tests-1 ", "kunci-ñ"])
def test_posting_needs_a_valid_api_key(api, fake_intake, api_key):
    fields = post_fields(api_key=api_key)
    if api_key is None:
        del fields["api_key"]
    assert error(api, "requests", 403, method="POST", **fields) == "api_key is missing or not valid"
    assert fake_intake.calls == []


def test_no_key_may_post_when_none_is_configured(make_app, fake_intake_address, others_address, fake_intake):
    api = make_app(fake_intake_address, others_address, others_address).test_client()
    assert error(api, "requests", 403, method="POST", **post_fields()) == "api_key is missing or not valid"
    assert fake_intake.calls == []


@pytest.mark.parametrize("fields, description", [
    (dict(service_code=""), "service_code is required"),
    (dict(service_code="jalan-tol"), "service_code jalan-tol not found"),
    (dict(lat="", long="", address_string=""), "a location is required: lat and long, or address_string"),
    (dict(lat="", long="", address_string="", address_id="A-17"),
     "a location is required: lat and long, or address_string (address_id is not supported)"),
    (dict(long=""), "lat and long must be given together"),
    (dict(lat="91"), "lat must be a WGS84 coordinate between -90 and 90"),
    (dict(long="nan"), "long must be a WGS84 coordinate between -180 and 180"),
    (dict(description=" "), "description is required"),
    (dict(description="x" * 4001), "description: at most 4000 characters"),
    (dict(attribute_type="keluhan"), "attribute[type] must be one of pengaduan, aspirasi, permintaan-informasi"),
    (dict(attribute_confidential="true"), "attribute[confidential] must be one of ya, tidak"),
    (dict(attribute_warna="merah"), "attribute[warna] is not an attribute of this service"),
    (dict(attribute_incident_date="kemarin"), "attribute[incident_date] must be a W3C date-time with its time "
                                              "zone, e.g. 2026-03-16T10:00:00+07:00"),
])
def test_what_could_never_be_a_report_is_refused_before_intake(api, fake_intake, fields, description):
    assert error(api, "requests", 400, method="POST", **post_fields(**fields)) == description
    assert fake_intake.calls == []


@pytest.mark.parametrize("fields, description", [
    (dict(lat="51.5", long="-0.12"), "lat: must be within Indonesia"),
    (dict(description="Rusak"), "description: at least 10 characters"),
])
def test_what_intake_refuses_is_named_by_the_clients_parameter(api, fake_intake, fields, description):
    assert error(api, "requests", 400, method="POST", **post_fields(**fields)) == description


# Errors in GeoReport's form

def test_an_unavailable_intake_is_a_503_to_retry(make_open311_app, closed_address, others_address):
    api = make_open311_app(closed_address, others_address, intake_timeout=0.3).test_client()
    assert error(api, "requests", 503) == "the service is busy; try again shortly"
    assert error(api, "requests", 503, method="POST", **post_fields()) == "the service is busy; try again shortly"
    assert api.get(f"{V2}/requests.json").headers["Retry-After"] == "5"


@pytest.mark.parametrize("path, method, status", [
    ("nothing.json", "GET", 404), ("services/infrastruktur/more.xml", "GET", 404), ("", "GET", 404),
    ("services.json", "POST", 405), ("requests.xml", "DELETE", 405), ("services.csv", "GET", 404),
])
def test_unknown_paths_methods_and_formats_answer_as_the_api(api, path, method, status):
    response = api.open(f"{V2}/{path}", method=method)
    assert response.status_code == status
    fmt = "xml" if path.endswith(".xml") else "json"
    [entry] = read(response, fmt, "errors", "errors")
    assert entry["code"] == status


def test_another_jurisdiction_is_not_found_and_ours_is_served(api):
    assert error(api, "services", 404, jurisdiction_id="nyc.gov") == "jurisdiction_id nyc.gov not found"
    assert len(both(api, "services", "services.json", "services", jurisdiction_id="lapor.go.id")) == 7


def test_a_body_too_large_is_refused_in_the_api_form(api, fake_intake):
    response = api.post(f"{V2}/requests.json", data=post_fields(description="x" * 70_000))
    assert response.status_code == 413
    [entry] = read(response, "json", "errors", "errors")
    assert entry["code"] == 413 and fake_intake.calls == []


def test_public_reads_may_come_from_other_sites(api):
    assert api.get(f"{V2}/services.json").headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in api.post(f"{V2}/requests.json", data={}).headers
