"""Reports through the REST API, over real HTTP and the real intake: submitted by an app (once per
Idempotency-Key, with attachments), followed by their reporter with the access code and by their
agency, answered with follow-ups and replies; every refusal a problem that stores nothing."""

from datetime import datetime, timezone

import psycopg
import pytest

from services.plumbing.wire import timestamp
from services.portal import api
from sp4n.sla.v1 import sla_pb2
from tests.portal.conftest import PDF
from tests.portal.api_support import (PUBLIC_URL, ApiClient, b64, close, forward, png, problem,  # noqa: F401
                                      refused_fields, report_body, stored, submit, agency_api, app_api, as_sla,
                                      clients, keys, public_api, root, serve_api)

def reporter_headers(receipt: dict) -> dict:
    return {"X-Access-Code": receipt["access_code"]}


# Submitting

def test_an_app_submits_a_report_and_gets_its_tracking_id_and_access_code(app_api, database_url):
    response = app_api.post("/reports", json=report_body(), headers={"Idempotency-Key": "laporan-1"})
    assert response.status_code == 201, response.text
    receipt = response.json()
    tracking_id = receipt["tracking_id"]
    assert receipt["tracking_url"] == f"{PUBLIC_URL}/lacak/{tracking_id}"
    assert receipt["submitted_at"].startswith("2026-03-16T03:00") and receipt["access_code"]
    assert response.headers["Location"] == f"{api.PREFIX}/reports/{tracking_id}"
    assert stored(database_url)["reports"] == stored(database_url)["api_submissions"] == 1

    report = app_api.get(f"/reports/{tracking_id}", headers=reporter_headers(receipt)).json()
    assert report["channel"] == "app" and report["status"] == "in_verification"
    assert report["incident_date"] == "2026-03-10T01:00:00Z"
    assert (report["latitude"], report["longitude"]) == (-3.4412, 115.9963)
    assert report["title"] == "Jalan berlubang di Batulicin" and report["type"] == "complaint"


def test_a_repeated_request_answers_200_with_the_same_report_and_a_new_access_code(app_api, database_url):
    first = app_api.post("/reports", json=report_body(), headers={"Idempotency-Key": "laporan-1"})
    again = app_api.post("/reports", json=report_body(), headers={"Idempotency-Key": "laporan-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["tracking_id"] == first.json()["tracking_id"]
    assert again.json()["access_code"] != first.json()["access_code"]
    assert stored(database_url)["reports"] == 1
    tracking_id = first.json()["tracking_id"]
    assert problem(app_api.get(f"/reports/{tracking_id}", headers=reporter_headers(first.json())), 403)
    assert app_api.get(f"/reports/{tracking_id}", headers=reporter_headers(again.json())).status_code == 200


def test_the_same_idempotency_key_on_another_report_is_refused(app_api, database_url):
    submit(app_api, "laporan-1")
    before = stored(database_url)
    other = app_api.post("/reports", json=report_body(title="Lampu jalan mati di Batulicin"),
                         headers={"Idempotency-Key": "laporan-1"})
    assert "Idempotency-Key" in problem(other, 422)["detail"]
    assert stored(database_url) == before


def test_two_apps_with_the_same_idempotency_key_make_two_reports(clients, database_url):
    one, two = submit(clients["app-1"], "1"), submit(clients["app-2"], "1")
    assert one["tracking_id"] != two["tracking_id"] and stored(database_url)["reports"] == 2


@pytest.mark.parametrize("key", [None, "", "x" * 101, "kunci\u00e9"])
def test_a_report_needs_a_good_idempotency_key(app_api, database_url, key):
    headers = {} if key is None else {"Idempotency-Key": key.encode("utf-8").decode("latin-1")}
    response = app_api.post("/reports", json=report_body(), headers=headers)
    assert "Idempotency-Key" in refused_fields(response)
    assert stored(database_url)["reports"] == 0


def test_every_field_the_portal_cannot_accept_is_named_at_once(app_api, database_url):
    body = report_body(type="keluhan", title=None, anonymous="ya", latitude=-3.44, longitude=None,
                       reporter={"name": "Siti", "email": 42, "nik": "6310"}, incident_date="2026-03-10",
                       colour="red", attachments=[{"filename": "a.png", "content_base64": "bukan base64!"}, "x"])
    fields = refused_fields(app_api.post("/reports", json=body, headers={"Idempotency-Key": "k"}))
    assert set(fields) == {"type", "title", "anonymous", "longitude", "reporter.email", "reporter.nik",
                           "incident_date", "colour", "attachments[0].content_base64", "attachments[1]"}
    assert fields["title"] == "is required"
    assert stored(database_url) == {"reports": 0, "reporters": 0, "timeline": 0, "outbox": 0, "api_submissions": 0}


@pytest.mark.parametrize("fields, field", [
    ({"reporter": {"name": "Siti", "email": "bukan-email"}}, "reporter.email"),
    ({"title": "Ok"}, "title"),
    ({"category": "cuaca"}, "category"),
    ({"latitude": 51.5, "longitude": -0.12}, "latitude"),
    ({"incident_date": "2030-01-01T00:00:00+07:00"}, "incident_date"),
])
def test_what_intake_refuses_is_named_as_the_body_spells_it(app_api, database_url, fields, field):
    response = app_api.post("/reports", json=report_body(**fields), headers={"Idempotency-Key": "k"})
    assert field in refused_fields(response), response.text
    assert stored(database_url)["reports"] == 0


@pytest.mark.parametrize("data, content_type, status", [
    (b'{"type": "complaint",', "application/json", 400),
    (b"[]", "application/json", 400),
    (b'{"latitude": NaN}', "application/json", 400),
    (b'{"title": "\xff\xfe"}', "application/json", 400),
    (b"type=complaint", "application/x-www-form-urlencoded", 415),
    (b'{"type": "complaint"}', "text/plain", 415),
    (b'{"type": "complaint"}', None, 415),
])
def test_a_body_that_is_not_a_json_object_is_refused(app_api, database_url, data, content_type, status):
    headers = {"Idempotency-Key": "k"} | ({"Content-Type": content_type} if content_type else {})
    assert problem(app_api.post("/reports", data=data, headers=headers), status)["status"] == status
    assert stored(database_url)["reports"] == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read(app_api, agency_api, database_url):
    too_big = b" " * (api.MAX_REPORT_BYTES + 1)
    response = app_api.post("/reports", data=too_big, headers={"Idempotency-Key": "k",
                                                               "Content-Type": "application/json"})
    assert problem(response, 413)
    # A follow-up may carry files as a report does, so it has a report's limit.
    follow_up = agency_api.post("/reports/LAP-7K3QX9MA/follow-ups", data=too_big,
                                headers={"Content-Type": "application/json"})
    assert problem(follow_up, 413)
    chunked = agency_api.post("/reports/LAP-7K3QX9MA/follow-ups", data=iter([too_big, b"  "]),
                              headers={"Content-Type": "application/json"})
    assert problem(chunked, 413)
    assert stored(database_url)["reports"] == 0
    receipt = submit(app_api)
    before = stored(database_url)
    reply = app_api.post(f"/reports/{receipt['tracking_id']}/replies", data=b" " * (api.MAX_JSON_BYTES + 1),
                         headers={"Content-Type": "application/json", **reporter_headers(receipt)})
    assert problem(reply, 413)
    assert stored(database_url) == before


# Attachments

def test_a_picture_is_kept_and_listed_with_its_report(app_api):
    receipt = submit(app_api, attachments=[{"filename": "lubang.png", "content_base64": b64(png())}])
    report = app_api.get(f"/reports/{receipt['tracking_id']}", headers=reporter_headers(receipt)).json()
    [attachment] = report["attachments"]
    assert attachment["filename"] == "lubang.png" and attachment["content_type"] == "image/png"
    assert attachment["size"] == len(png())


def test_a_text_file_is_refused_naming_the_attachment(app_api, database_url):
    body = report_body(attachments=[{"filename": "foto.png", "content_base64": b64(png())},
                                    {"filename": "catatan.jpg", "content_base64": b64(b"bukan gambar\n")}])
    fields = refused_fields(app_api.post("/reports", json=body, headers={"Idempotency-Key": "k"}))
    assert list(fields) == ["attachments[1]"]
    assert stored(database_url)["reports"] == 0


def test_more_than_five_attachments_or_one_over_5_mib_are_refused(app_api, database_url):
    picture = {"filename": "a.png", "content_base64": b64(png())}
    assert "attachments" in refused_fields(app_api.post("/reports", json=report_body(attachments=[picture] * 6),
                                                        headers={"Idempotency-Key": "k"}))
    big = {"filename": "besar.png", "content_base64": b64(png() + bytes(5 * 1024 * 1024))}
    assert "attachments[0].content_base64" in refused_fields(
        app_api.post("/reports", json=report_body(attachments=[big]), headers={"Idempotency-Key": "k"}))
    assert stored(database_url)["reports"] == 0


def test_five_attachments_of_5_mib_fit_the_limit(app_api):
    full = png() + bytes(5 * 1024 * 1024 - len(png()))
    body = report_body(attachments=[{"filename": f"{i}.png", "content_base64": b64(full)} for i in range(5)])
    response = app_api.post("/reports", json=body, headers={"Idempotency-Key": "besar"})
    assert response.status_code == 201, response.text


# Following a report

def test_the_reporter_reads_the_report_with_its_deadlines_and_timeline(app_api, fake_sla):
    receipt = submit(app_api)
    tracking_id = receipt["tracking_id"]
    due = datetime(2026, 3, 19, 16, 59, 59, tzinfo=timezone.utc)
    fake_sla.cases[tracking_id] = sla_pb2.Case(tracking_id=tracking_id, deadlines=[
        sla_pb2.Deadline(name="verification_overdue", state="open", owner="national", due_at=timestamp(due))])
    report = app_api.get(f"/reports/{tracking_id}", headers=reporter_headers(receipt)).json()
    assert report["deadlines"] == [{"name": "verification_overdue", "state": "open", "due_at": "2026-03-19T16:59:59Z",
                                    "owner": "national"}]
    assert [e["kind"] for e in report["timeline"]] == ["submitted"]
    assert "reporter_name" not in report


def test_deadlines_are_left_out_when_sla_does_not_answer(serve_api, intake_address, closed_address, keys):
    client = ApiClient(serve_api(intake_address, closed_address), keys["app-1"][1])
    receipt = submit(client)
    report = client.get(f"/reports/{receipt['tracking_id']}", headers=reporter_headers(receipt))
    assert report.status_code == 200 and "deadlines" not in report.json()
    client.close()


@pytest.mark.parametrize("code", [None, "", "7K3Q-X9MA-PD2R-WT5B", "x" * 300])
def test_a_reporter_without_the_right_access_code_is_forbidden(app_api, code):
    receipt = submit(app_api)
    headers = {} if code is None else {"X-Access-Code": code}
    assert problem(app_api.get(f"/reports/{receipt['tracking_id']}", headers=headers), 403)
    assert problem(app_api.post(f"/reports/{receipt['tracking_id']}/replies", json={"body": "Halo"},
                                headers=headers), 403)


def test_an_access_code_opens_only_its_own_report(app_api):
    one, two = submit(app_api, "1"), submit(app_api, "2")
    assert problem(app_api.get(f"/reports/{two['tracking_id']}", headers=reporter_headers(one)), 403)


def test_an_unknown_report_is_not_found_or_forbidden_as_intake_says(app_api, agency_api):
    assert problem(agency_api.get("/reports/bukan-nomor"), 404)
    assert problem(app_api.get("/reports/LAP-7K3QX9MA", headers={"X-Access-Code": "7K3Q-X9MA-PD2R-WT5B"}), 403)
    assert problem(agency_api.get("/reports/LAP-7K3QX9MA"), 403)


def test_the_agency_reads_its_reports_without_who_reported(app_api, agency_api, clients, as_sla):
    receipt = submit(app_api)
    tracking_id = receipt["tracking_id"]
    assert problem(agency_api.get(f"/reports/{tracking_id}"), 403)  # not assigned yet
    forward(as_sla, tracking_id)
    report = agency_api.get(f"/reports/{tracking_id}")
    assert report.status_code == 200
    assert report.json()["agency_id"] == "tanah-bumbu-pupr" and "reporter_name" not in report.json()
    assert "Siti" not in report.text and "081234567890" not in report.text
    assert problem(clients["banjarmasin"].get(f"/reports/{tracking_id}"), 403)


def test_follow_up_and_reply_move_the_report_along(app_api, agency_api, clients, as_sla, database_url):
    receipt = submit(app_api)
    tracking_id = receipt["tracking_id"]
    assert problem(agency_api.post(f"/reports/{tracking_id}/follow-ups", json={"body": "Sudah kami cek."}), 403)
    forward(as_sla, tracking_id)
    assert problem(app_api.post(f"/reports/{tracking_id}/replies", json={"body": "Bagaimana?"},
                                headers=reporter_headers(receipt)), 409)
    assert problem(clients["banjarmasin"].post(f"/reports/{tracking_id}/follow-ups",
                                               json={"body": "Bukan kami."}), 403)

    posted = agency_api.post(f"/reports/{tracking_id}/follow-ups", json={"body": "Perbaikan dijadwalkan Senin."},
                             headers={"Idempotency-Key": "fu-1"})
    assert posted.status_code == 201 and posted.json()["kind"] == "follow_up"
    again = agency_api.post(f"/reports/{tracking_id}/follow-ups", json={"body": "Perbaikan dijadwalkan Senin."},
                            headers={"Idempotency-Key": "fu-1"})
    assert again.json()["id"] == posted.json()["id"]

    replied = app_api.post(f"/reports/{tracking_id}/replies", json={"body": "Terima kasih, kami tunggu."},
                           headers=reporter_headers(receipt))
    assert replied.status_code == 201 and replied.json()["author"] == "reporter"
    report = app_api.get(f"/reports/{tracking_id}", headers=reporter_headers(receipt)).json()
    assert [e["kind"] for e in report["timeline"]][-2:] == ["follow_up", "reply"]
    assert report["status"] == "forwarded"

    close(as_sla, tracking_id)
    before = stored(database_url)
    assert problem(agency_api.post(f"/reports/{tracking_id}/follow-ups", json={"body": "Tambahan."}), 409)
    assert stored(database_url) == before


@pytest.mark.parametrize("body, field", [({}, "body"), ({"body": ""}, "body"), ({"body": 5}, "body"),
                                         ({"body": "Ok", "extra": 1}, "extra"), ({"body": "x" * 5001}, "body")])
def test_a_follow_up_needs_a_body(agency_api, app_api, as_sla, body, field):
    tracking_id = submit(app_api)["tracking_id"]
    forward(as_sla, tracking_id)
    assert field in refused_fields(agency_api.post(f"/reports/{tracking_id}/follow-ups", json=body))


def attachments_stored(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.attachments").fetchone()[0]


def test_a_follow_up_takes_files_which_its_reporter_and_agency_see_and_the_public_never(
        app_api, agency_api, public_api, as_sla, database_url):
    receipt = submit(app_api)
    tracking_id = receipt["tracking_id"]
    forward(as_sla, tracking_id)
    files = [{"filename": "sesudah.png", "content_base64": b64(png())},
             {"filename": "berita-acara.pdf", "content_base64": b64(PDF)}]
    posted = agency_api.post(f"/reports/{tracking_id}/follow-ups",
                             json={"body": "Sudah ditambal.", "attachments": files}, headers={"Idempotency-Key": "fu-1"})
    assert posted.status_code == 201, posted.text
    expected = [{"id": "1", "filename": "sesudah.png", "content_type": "image/png", "size": len(png())},
                {"id": "2", "filename": "berita-acara.pdf", "content_type": "application/pdf", "size": len(PDF)}]
    assert posted.json()["attachments"] == expected
    again = agency_api.post(f"/reports/{tracking_id}/follow-ups", json={"body": "Lain.", "attachments": files[:1]},
                            headers={"Idempotency-Key": "fu-1"})
    assert again.json() == posted.json() and attachments_stored(database_url) == 2
    for report in (agency_api.get(f"/reports/{tracking_id}").json(),
                   app_api.get(f"/reports/{tracking_id}", headers=reporter_headers(receipt)).json()):
        assert report["timeline"][-1]["attachments"] == expected and report["attachments"] == []
    public = public_api.get(f"/public/reports/{tracking_id}")
    assert public.status_code == 200 and "Sudah ditambal." in public.text
    assert "attachments" not in public.text and "sesudah.png" not in public.text
    feed = public_api.get("/public/reports")
    assert tracking_id in feed.text and "sesudah.png" not in feed.text


@pytest.mark.parametrize("attachments, field", [
    ([{"filename": "a.png", "content_base64": "bukan base64!"}], "attachments[0].content_base64"),
    ([{"filename": "a.png"}], "attachments[0].content_base64"),
    ([{"filename": "skrip.png", "content_base64": b64(b"#!/bin/sh\necho bukan gambar\n")}], "attachments[0]"),
    ([{"filename": "a.png", "content_base64": b64(png())}] * 6, "attachments"),
    ([{"filename": "a.png", "content_base64": b64(png()), "type": "image/png"}], "attachments[0].type"),
])
def test_a_refused_file_refuses_the_follow_up_and_stores_nothing(app_api, agency_api, as_sla, database_url,
                                                                  attachments, field):
    tracking_id = submit(app_api)["tracking_id"]
    forward(as_sla, tracking_id)
    before = stored(database_url), attachments_stored(database_url)
    response = agency_api.post(f"/reports/{tracking_id}/follow-ups",
                               json={"body": "Foto terlampir.", "attachments": attachments})
    assert field in refused_fields(response)
    assert (stored(database_url), attachments_stored(database_url)) == before


def test_the_agency_lists_its_reports_by_status_a_page_at_a_time(app_api, agency_api, clients, as_sla):
    ids = [submit(app_api, str(i))["tracking_id"] for i in range(3)]
    for tracking_id in ids:
        forward(as_sla, tracking_id)
    close(as_sla, ids[0])
    other = submit(app_api, "other")["tracking_id"]
    forward(as_sla, other, agency_id="kota-banjarmasin", agency_name="Pemerintah Kota Banjarmasin")

    first = agency_api.get("/agency/reports", params={"page_size": 2}).json()
    assert len(first["reports"]) == 2 and first["next_page_token"]
    second = agency_api.get("/agency/reports", params={"page_size": 2, "page_token": first["next_page_token"]}).json()
    assert "next_page_token" not in second
    assert sorted(r["tracking_id"] for r in first["reports"] + second["reports"]) == sorted(ids)
    closed = agency_api.get("/agency/reports", params={"status": "closed"}).json()
    assert [r["tracking_id"] for r in closed["reports"]] == [ids[0]]
    both = agency_api.get("/agency/reports", params={"status": "closed,forwarded"}).json()
    assert len(both["reports"]) == 3
    assert [r["tracking_id"] for r in clients["banjarmasin"].get("/agency/reports").json()["reports"]] == [other]


@pytest.mark.parametrize("params, field", [({"status": "open"}, "status"), ({"page_size": "0"}, "page_size"),
                                           ({"page_size": "101"}, "page_size"), ({"page_size": "dua"}, "page_size"),
                                           ({"page_token": "bukan-token"}, "page_token")])
def test_a_bad_list_parameter_is_named(agency_api, params, field):
    assert field in refused_fields(agency_api.get("/agency/reports", params=params))


# When intake is away

def test_intake_unavailable_is_503_with_retry_after(serve_api, closed_address, others_address, keys, database_url):
    root = serve_api(closed_address, others_address, intake_timeout=0.5)
    app_client, agency_client = ApiClient(root, keys["app-1"][1]), ApiClient(root, keys["pupr"][1])
    responses = [app_client.post("/reports", json=report_body(), headers={"Idempotency-Key": "k"}),
                 agency_client.get("/agency/reports"), ApiClient(root).get("/public/reports")]
    for response in responses:
        assert problem(response, 503) and response.headers["Retry-After"] == "5"
    assert stored(database_url)["api_submissions"] == 0


def test_requests_to_the_server_are_answered_in_utf8_json(app_api):
    response = app_api.post("/reports", json=report_body(title="Jalan rusak — “parah”"),
                            headers={"Idempotency-Key": "utf"})
    report = app_api.get(f"/reports/{response.json()['tracking_id']}", headers=reporter_headers(response.json()))
    assert "“parah”".encode() in report.content and report.json()["title"] == "Jalan rusak — “parah”"


def test_nothing_answers_500_for_odd_input(app_api, agency_api):
    odd = [app_api.get("/reports/%00"), app_api.get("/reports/LAP-" + "9" * 500),
           agency_api.get("/agency/reports", params={"status": "\x00"}),
           app_api.post("/reports", data=b"\x00", headers={"Idempotency-Key": "k", "Content-Type": "application/json"})]
    assert all(400 <= r.status_code < 500 for r in odd), [r.status_code for r in odd]

