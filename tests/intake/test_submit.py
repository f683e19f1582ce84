"""Submitting and reading reports through a real gRPC server and PostgreSQL."""

import re
from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.intake import service as intake_service
from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (T0, ADMIN, LIAISON, NOTIFY, PORTAL, SLA, at, field_violation, forward, get,
                                  outbox_rows, report_request, reporter, row_counts, submit)
from tests.support import caller, service_caller

TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")


def test_a_report_gets_a_tracking_id_and_starts_its_process_in_the_same_transaction(stub, database_url):
    answer = stub.SubmitReport(report_request(), metadata=PORTAL)
    assert TRACKING_ID.fullmatch(answer.tracking_id)
    submitted_at = answer.submitted_at.ToDatetime(tzinfo=timezone.utc)
    assert T0 <= submitted_at < T0 + timedelta(minutes=1)  # the injected clock, not the wall clock
    assert row_counts(database_url) == {"reports": 1, "reporters": 1, "timeline": 1, "outbox": 1}
    [(kind, tracking_id, payload)] = outbox_rows(database_url)
    assert (kind, tracking_id) == ("start_case", answer.tracking_id)
    assert payload == {"submitted_at": payload["submitted_at"], "category": "infrastruktur", "region_code": "6310",
                       "suggested_agency_id": ""}
    assert datetime.fromisoformat(payload["submitted_at"]) == submitted_at


def test_a_submitted_report_waits_for_verification_with_a_submitted_entry(stub):
    tracking_id = submit(stub)
    report = get(stub, tracking_id)
    assert (report.status, report.type, report.channel, report.language) == (
        pb.REPORT_STATUS_IN_VERIFICATION, pb.REPORT_TYPE_COMPLAINT, "web", "id")
    assert (report.title, report.region_code, report.published, report.agency_id) == (
        "Jalan berlubang di Batulicin", "6310", False, "")
    assert [(e.kind, e.author) for e in report.timeline] == [("submitted", "reporter")]


def test_a_repeated_key_returns_the_first_report_and_writes_nothing_else(stub, database_url, clock):
    first = stub.SubmitReport(report_request("sms-77", channel="sms"), metadata=PORTAL)
    clock.advance(timedelta(hours=1))
    again = stub.SubmitReport(report_request("sms-77", channel="sms", title="Judul yang lain sama sekali"),
                              metadata=PORTAL)
    assert (again.tracking_id, again.submitted_at) == (first.tracking_id, first.submitted_at)
    assert get(stub, first.tracking_id).title == "Jalan berlubang di Batulicin"
    assert row_counts(database_url)["reports"] == 1
    assert len(outbox_rows(database_url)) == 1


def test_the_same_key_on_another_channel_is_another_report(stub):
    assert submit(stub, "msg-1", channel="sms") != submit(stub, "msg-1", channel="app")


def test_a_taken_tracking_id_is_drawn_again(stub, monkeypatch):
    drawn = iter(["LAP-AAAA0001", "LAP-AAAA0001", "LAP-BBBB0002"])
    monkeypatch.setattr(intake_service.domain, "new_tracking_id", lambda: next(drawn))
    assert submit(stub, "k1") == "LAP-AAAA0001"
    assert submit(stub, "k2") == "LAP-BBBB0002"


@pytest.mark.parametrize("fields, field", [
    (dict(idempotency_key=""), "idempotency_key"),
    (dict(idempotency_key="k" * 201), "idempotency_key"),
    (dict(channel="fax"), "channel"),
    (dict(channel=""), "channel"),
    (dict(type=pb.REPORT_TYPE_UNSPECIFIED), "type"),
    (dict(type=42), "type"),
    (dict(title="Oi"), "title"),
    (dict(title="   "), "title"),
    (dict(title="x" * 151), "title"),
    (dict(title="Jalan\nrusak parah"), "title"),
    (dict(description="rusak"), "description"),
    (dict(description="x" * 5001), "description"),
    (dict(description="Lubang besar\x00 di jalan"), "description"),
    (dict(category="c" * 101), "category"),
    (dict(region_code="631"), "region_code"),
    (dict(region_code="63100"), "region_code"),
    (dict(region_code="ab"), "region_code"),
    (dict(region_code="٦٣"), "region_code"),  # Arabic-Indic digits are digits to Python, not to BPS
    (dict(location_text="l" * 301), "location_text"),
    (dict(reporter=pb.Reporter(name="n" * 121, phone="081234567890")), "reporter.name"),
    (dict(reporter=pb.Reporter(phone="0212345678")), "reporter.phone"),  # a Jakarta landline
    (dict(reporter=pb.Reporter(phone="+1 555 123 4567")), "reporter.phone"),
    (dict(reporter=pb.Reporter(phone="0812")), "reporter.phone"),
    (dict(reporter=pb.Reporter(email="siti.contoh.id")), "reporter.email"),
    (dict(reporter=pb.Reporter(email="siti@contoh")), "reporter.email"),
    (dict(reporter=pb.Reporter(name="Siti")), "reporter"),
    (dict(language="jv"), "language"),
    (dict(incident_date=at(datetime(1999, 12, 31, tzinfo=timezone.utc))), "incident_date"),
    (dict(incident_date=at(T0 + timedelta(days=2))), "incident_date"),
    (dict(incident_date=Timestamp(seconds=253402300800)), "incident_date"),  # after 9999: no time at all
    (dict(incident_date=Timestamp(seconds=0, nanos=-1)), "incident_date"),
    (dict(has_location=True, latitude=-12.0, longitude=115.0), "latitude"),
    (dict(has_location=True, latitude=float("nan"), longitude=115.0), "latitude"),
    (dict(has_location=True, latitude=-3.4, longitude=float("inf")), "longitude"),
    (dict(has_location=True), "longitude"),  # 0, 0 is in the Gulf of Guinea
    (dict(latitude=-3.4, longitude=115.9), "has_location"),
    (dict(suggested_agency_id="Dinas PUPR"), "suggested_agency_id"),
    (dict(suggested_agency_id="x" * 101), "suggested_agency_id"),
    (dict(reporter=pb.Reporter(phone="081234567890", x_user_id="warga")), "reporter.x_user_id"),
    (dict(reporter=pb.Reporter(phone="081234567890", x_user_id="-12")), "reporter.x_user_id"),
    (dict(reporter=pb.Reporter(phone="081234567890", x_user_id="1" * 21)), "reporter.x_user_id"),
    (dict(reporter=pb.Reporter(phone="081234567890", x_handle="warga batulicin")), "reporter.x_handle"),
    (dict(reporter=pb.Reporter(phone="081234567890", x_handle="w" * 16)), "reporter.x_handle"),
    (dict(reporter=pb.Reporter(phone="081234567890", x_handle="wärga")), "reporter.x_handle"),
    (dict(channel_message_id="m" * 201), "channel_message_id"),
    (dict(channel_message_id="sms\n1"), "channel_message_id"),
])
def test_a_bad_submission_names_the_field_and_writes_nothing(stub, database_url, fields, field):
    with pytest.raises(grpc.RpcError) as e:
        stub.SubmitReport(report_request(**fields), metadata=PORTAL)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field
    assert row_counts(database_url) == {"reports": 0, "reporters": 0, "timeline": 0, "outbox": 0}


def test_incident_date_location_and_suggested_agency_are_kept_and_the_agency_goes_to_the_process(stub, database_url):
    tracking_id = submit(stub, incident_date=at(T0 - timedelta(days=3)), has_location=True, latitude=-3.4167,
                         longitude=115.9667, suggested_agency_id="tanah-bumbu-pupr")
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT incident_date, latitude, longitude, suggested_agency_id FROM intake.reports "
                              "WHERE tracking_id = %s", (tracking_id,)).fetchone()
    assert stored == (T0 - timedelta(days=3), -3.4167, 115.9667, "tanah-bumbu-pupr")
    [(_, _, payload)] = outbox_rows(database_url)
    assert payload["suggested_agency_id"] == "tanah-bumbu-pupr"


def test_without_them_nothing_is_stored_for_them(stub, database_url):
    tracking_id = submit(stub)
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT incident_date, latitude, longitude, suggested_agency_id FROM intake.reports "
                              "WHERE tracking_id = %s", (tracking_id,)).fetchone()
    assert stored == (None, None, None, "")


def test_the_report_shows_when_and_where_it_happened_and_the_suggested_agency(stub):
    tracking_id = submit(stub, incident_date=at(T0 - timedelta(days=3)), has_location=True, latitude=-3.4167,
                         longitude=115.9667, suggested_agency_id="tanah-bumbu-pupr")
    report = get(stub, tracking_id)
    assert (report.incident_date, report.has_location, report.latitude, report.longitude,
            report.suggested_agency_id) == (at(T0 - timedelta(days=3)), True, -3.4167, 115.9667, "tanah-bumbu-pupr")
    plain = get(stub, submit(stub, "web-2"))
    assert (plain.HasField("incident_date"), plain.has_location, plain.latitude, plain.suggested_agency_id) == (
        False, False, 0.0, "")


@pytest.mark.parametrize("typed", ["081234567890", "0812 3456 7890", "+6281234567890", "+62 812-3456-7890",
                                   "6281234567890", "(0812) 3456.7890"])
def test_every_way_of_writing_a_mobile_number_is_kept_as_e164_digits(stub, typed):
    tracking_id = submit(stub, reporter=pb.Reporter(phone=typed))
    contact = stub.GetReporterContact(pb.GetReporterContactRequest(tracking_id=tracking_id), metadata=NOTIFY)
    assert contact.phone == "6281234567890"


def test_a_report_from_x_keeps_its_author_and_the_tweet_to_answer(stub):
    tracking_id = submit(stub, "tweet-1893456789012345678", channel="x", channel_message_id="1893456789012345678",
                         reporter=pb.Reporter(name="Warga Batulicin", x_user_id=" 1234567890123456789 ",
                                              x_handle="@warga_batulicin"))
    contact = stub.GetReporterContact(pb.GetReporterContactRequest(tracking_id=tracking_id), metadata=NOTIFY)
    assert (contact.channel, contact.x_user_id, contact.x_handle, contact.channel_message_id, contact.phone) == (
        "x", "1234567890123456789", "warga_batulicin", "1893456789012345678", "")


def test_contact_may_be_left_out_where_the_channel_answers_the_reporter_itself(stub):
    tracking_id = submit(stub, "tweet-1", channel="x", reporter=pb.Reporter(name="@warga_batulicin"))
    assert get(stub, tracking_id).channel == "x"


def test_text_is_trimmed_and_the_language_defaults_to_indonesian(stub):
    tracking_id = submit(stub, title="  Jalan berlubang  ", language="")
    report = get(stub, tracking_id)
    assert (report.title, report.language) == ("Jalan berlubang", "id")


def test_reporter_contact_is_kept_apart_and_given_only_to_notify(stub, database_url):
    tracking_id = submit(stub, language="en")
    contact = stub.GetReporterContact(pb.GetReporterContactRequest(tracking_id=tracking_id), metadata=NOTIFY)
    assert (contact.tracking_id, contact.name, contact.phone, contact.email, contact.language, contact.channel) == (
        tracking_id, "Siti Rahmah", "6281234567890", "siti@contoh.id", "en", "web")
    with psycopg.connect(database_url) as conn:
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'intake' "
            "AND table_name NOT IN ('reporters', 'reporter_accounts')")}
    assert not columns & {"name", "phone", "email", "x_user_id", "x_handle"}
    for metadata in (PORTAL, SLA, ADMIN, reporter(tracking_id)):
        with pytest.raises(grpc.RpcError) as e:
            stub.GetReporterContact(pb.GetReporterContactRequest(tracking_id=tracking_id), metadata=metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_notify_is_not_told_the_name_of_an_anonymous_reporter(stub):
    anonymous = submit(stub, "k2", anonymous=True)
    contact = stub.GetReporterContact(pb.GetReporterContactRequest(tracking_id=anonymous), metadata=NOTIFY)
    assert (contact.name, contact.phone, contact.email) == ("", "6281234567890", "siti@contoh.id")


def test_the_reporters_name_is_shown_only_to_national_administrators_and_never_when_anonymous(stub):
    named = submit(stub, "k1")
    anonymous = submit(stub, "k2", anonymous=True)
    assert get(stub, named, ADMIN).reporter_name == "Siti Rahmah"
    assert get(stub, anonymous, ADMIN).reporter_name == ""
    forward(stub, named)
    for metadata in (SLA, LIAISON, reporter(named), caller("agency_admin", "aa-1", "tanah-bumbu-pupr")):
        report = get(stub, named, metadata)
        assert report.reporter_name == "" and report.title == "Jalan berlubang di Batulicin"


def test_an_unknown_report_is_not_found_and_a_malformed_id_is_refused(stub):
    """Not found for those who may see every report; see test_access for everyone else."""
    with pytest.raises(grpc.RpcError) as e:
        get(stub, "LAP-ZZZZZZZZ")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        get(stub, "LAP-OOOOOOOO")  # O is not in the alphabet
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == "tracking_id"


def test_only_the_portal_submits(stub, database_url):
    for metadata in (SLA, ADMIN, service_caller("notify"), caller("reporter", "LAP-AAAA0001")):
        with pytest.raises(grpc.RpcError) as e:
            stub.SubmitReport(report_request(), metadata=metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert row_counts(database_url)["reports"] == 0


def test_calls_without_a_valid_identity_are_refused(stub):
    for metadata in [(), [("x-sp4n-caller", "forged.token")]]:
        with pytest.raises(grpc.RpcError) as e:
            get(stub, "LAP-AAAA0001", metadata)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("category", ["banjir", "INFRASTRUKTUR", "infrastruktur; DROP TABLE intake.reports"])
def test_a_category_reports_do_not_carry_is_refused_and_nothing_is_stored(stub, category, database_url):
    with pytest.raises(grpc.RpcError) as e:
        stub.SubmitReport(report_request(category=category), metadata=PORTAL)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violation(e.value) == "category"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM intake.reports").fetchone()[0] == 0


def contacts(stub, tracking_ids, metadata=NOTIFY) -> list[pb.ReporterContact]:
    request = pb.GetReporterContactsRequest(tracking_ids=tracking_ids)
    return list(stub.GetReporterContacts(request, metadata=metadata).contacts)


def test_notify_gets_the_contacts_of_several_reports_in_one_call_as_one_by_one(stub):
    named, anonymous = submit(stub, "k1", language="en"), submit(stub, "k2", anonymous=True)
    found = contacts(stub, [anonymous, "LAP-ZZZZZZZZ", named, anonymous])  # unknown and repeated ones too
    assert found == [stub.GetReporterContact(pb.GetReporterContactRequest(tracking_id=t), metadata=NOTIFY)
                     for t in (anonymous, named)]
    assert [(c.tracking_id, c.name, c.language) for c in found] == [(anonymous, "", "id"), (named, "Siti Rahmah", "en")]
    assert contacts(stub, []) == []


def test_the_contacts_of_several_reports_are_given_only_to_notify(stub):
    tracking_id = submit(stub)
    for metadata in (PORTAL, SLA, ADMIN, reporter(tracking_id)):
        with pytest.raises(grpc.RpcError) as e:
            contacts(stub, [tracking_id], metadata=metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("tracking_ids", [["LAP-AAAA0001"] * 101, ["LAP-AAAA0001", "not an id"]])
def test_a_request_for_too_many_or_malformed_contacts_is_refused(stub, tracking_ids):
    with pytest.raises(grpc.RpcError) as e:
        contacts(stub, tracking_ids)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "tracking_ids" in e.value.details()
