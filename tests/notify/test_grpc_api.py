"""Sending and listing notifications, through a real gRPC server, PostgreSQL and a fake intake over gRPC."""

import grpc
import psycopg
import pytest

from services.notify.contacts import IntakeContacts
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2 as pb
from tests.notify.fakes import SITI, TRACKING_ID, free_port, send
from tests.support import caller, field_violation, service_caller

OFFICER = caller("liaison_officer", "lo-1", "kab-tanah-bumbu-dinas-pupr")
ADMIN = caller("national_admin", "admin-1")


def rows(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT channel, status, recipient, agency_id, language FROM notify.notifications "
                            "ORDER BY id").fetchall()


def listed(stub, tracking_id=TRACKING_ID, metadata=ADMIN):
    return list(stub.ListNotifications(pb.ListNotificationsRequest(tracking_id=tracking_id),
                                       metadata=metadata).notifications)


def test_a_reporter_is_notified_in_app_at_once_and_an_email_is_queued(stub):
    got = send(stub, event="received")
    assert (got.channel, got.status, got.recipient, got.language, got.attempts) == ("in_app", "sent", "reporter",
                                                                                   "id", 1)
    assert got.subject == f"Laporan Anda telah diterima ({TRACKING_ID})"
    assert got.sent_at.seconds > 0 and got.created_at == got.sent_at
    in_app, mail = listed(stub)
    assert in_app == got
    assert (mail.channel, mail.status, mail.attempts, mail.subject, mail.body) == (
        "email", "pending", 0, got.subject, got.body)
    assert not mail.HasField("sent_at")


@pytest.mark.parametrize("language, subject", [
    ("en", f"Your report has been received ({TRACKING_ID})"),
    ("EN", f"Your report has been received ({TRACKING_ID})"),
    ("fr", f"Laporan Anda telah diterima ({TRACKING_ID})"),  # no French templates: Indonesian
    ("", f"Laporan Anda telah diterima ({TRACKING_ID})"),
])
def test_the_reporters_language_chooses_the_template(stub, intake, language, subject):
    intake.contacts[TRACKING_ID] = intake_pb2.ReporterContact(email=SITI.email, language=language)
    got = send(stub)
    assert (got.subject, got.language) == (subject, "en" if language.lower() == "en" else "id")


def test_no_contact_detail_of_the_reporter_is_stored(stub, database_url):
    send(stub, event="forwarded", params={"agency": "Dinas PUPR Kabupaten Tanah Bumbu"})
    with psycopg.connect(database_url) as conn:
        stored = [r[0] for r in conn.execute("SELECT row_to_json(n)::text FROM notify.notifications n")]
    assert len(stored) == 2
    for row in stored:
        assert "Dinas PUPR Kabupaten Tanah Bumbu" in row
        for detail in (SITI.email, SITI.name, "Siti", SITI.phone):
            assert detail not in row


def test_the_reporter_gets_in_app_only_without_an_address(stub, intake, database_url):
    intake.contacts[TRACKING_ID] = intake_pb2.ReporterContact(phone="081234567890", language="id")
    send(stub)
    assert rows(database_url) == [("in_app", "sent", "reporter", "", "id")]


def test_the_reporter_gets_in_app_only_when_email_is_not_configured(make_stub, database_url):
    send(make_stub(channels=()))
    assert rows(database_url) == [("in_app", "sent", "reporter", "", "id")]


def test_agencies_and_national_administrators_are_notified_in_app_and_by_email_without_asking_intake(
        stub, intake, directory, database_url):
    got = send(stub, event="new_assignment", recipient="agency", agency_id="kab-tanah-bumbu-dinas-pupr")
    assert (got.channel, got.status, got.subject) == ("in_app", "sent",
                                                      f"Laporan baru untuk instansi Anda: {TRACKING_ID}")
    send(stub, event="deadline_missed", recipient="national_admins", params={"deadline": "verifikasi"})
    # E-mail too, as their liaison officers (the national desk's, for national administrators) have addresses.
    assert rows(database_url) == [("in_app", "sent", "agency", "kab-tanah-bumbu-dinas-pupr", "id"),
                                  ("email", "pending", "agency", "kab-tanah-bumbu-dinas-pupr", "id"),
                                  ("in_app", "sent", "national_admins", "", "id"),
                                  ("email", "pending", "national_admins", "", "id")]
    assert intake.callers == [] and directory.asked == ["kab-tanah-bumbu-dinas-pupr", "nasional"]
    assert 'Batas waktu "verifikasi"' in listed(stub)[2].body


def test_params_fill_the_template(stub):
    got = send(stub, event="archived", params={"reason": "laporan tidak jelas"})
    assert "Alasan: laporan tidak jelas" in got.body


def test_a_repeated_idempotency_key_returns_the_first_notification_and_writes_nothing(stub, intake, database_url):
    first = send(stub, key="n1")
    again = send(stub, key="n1", event="closed", params={"x": "y"})
    assert again == first
    assert len(rows(database_url)) == 2
    assert intake.callers == ["notify"]  # asked once, by notify in its own name


def test_an_event_is_told_once_per_recipient_and_channel(stub, intake, database_url):
    first = send(stub, key="n1", event="forwarded")
    assert send(stub, key="n2", event="forwarded") == first
    assert len(rows(database_url)) == 2 and len(intake.callers) == 1
    a = send(stub, key="a1", event="new_assignment", recipient="agency", agency_id="kab-tanah-bumbu")
    assert send(stub, key="a2", event="new_assignment", recipient="agency", agency_id="kab-tanah-bumbu") == a
    assert len(rows(database_url)) == 4  # in-app and e-mail
    # After a re-routing the next agency is another recipient, told too (in-app: it lists no e-mail).
    b = send(stub, key="a3", event="new_assignment", recipient="agency", agency_id="kementerian-pupr")
    assert b.id != a.id
    assert len(rows(database_url)) == 5
    # So is the reporter, when the event names the agency it is about.
    send(stub, key="f2", event="forwarded", agency_id="kementerian-pupr")
    assert len(rows(database_url)) == 7


def test_another_occurrence_of_an_event_with_other_params_is_told_too(stub, database_url):
    verification = send(stub, key="e1", event="deadline_missed", recipient="national_admins",
                        params={"deadline": "verifikasi"})
    follow_up = send(stub, key="e2", event="deadline_missed", recipient="national_admins",
                     params={"agency": "Dinas PUPR", "deadline": "tindak lanjut"})
    again = send(stub, key="e3", event="deadline_missed", recipient="national_admins",
                 params={"deadline": "tindak lanjut", "agency": "Dinas PUPR"})
    assert follow_up.id != verification.id and again == follow_up
    assert len(rows(database_url)) == 4  # in-app and e-mail each


@pytest.mark.parametrize("request_fields, field", [
    (dict(idempotency_key=""), "idempotency_key"),
    (dict(tracking_id="lap 1"), "tracking_id"),
    (dict(event="exploded"), "event"),
    (dict(event=""), "event"),
    (dict(recipient="mayor"), "recipient"),
    (dict(recipient=""), "recipient"),
    (dict(recipient="agency"), "agency_id"),
    (dict(recipient="agency", agency_id="Dinas PUPR"), "agency_id"),
    (dict(recipient="reporter", agency_id="Dinas PUPR"), "agency_id"),
    (dict(params={f"p{n}": "x" for n in range(21)}), "params"),
    (dict(params={"Bad Name": "x"}), "params"),
    (dict(params={"reason": "x" * 501}), "params"),
])
def test_bad_requests_name_the_field_and_write_nothing(stub, intake, database_url, request_fields, field):
    fields = dict(idempotency_key="n1", tracking_id=TRACKING_ID, event="received", recipient="reporter")
    with pytest.raises(grpc.RpcError) as e:
        stub.SendNotification(pb.SendNotificationRequest(**(fields | request_fields)),
                              metadata=service_caller("sla"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field
    assert rows(database_url) == [] and intake.callers == []


@pytest.mark.parametrize("metadata", [caller("national_admin", "admin-1"), OFFICER, service_caller("intake")])
def test_only_the_lifecycle_process_sends(stub, database_url, metadata):
    with pytest.raises(grpc.RpcError) as e:
        send(stub, metadata=metadata)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert rows(database_url) == []


def test_administrators_and_services_list_a_reports_notifications_and_no_one_unsigned(stub):
    send(stub)
    send(stub, event="new_assignment", recipient="agency", agency_id="kab-tanah-bumbu")
    assert [n.recipient for n in listed(stub)] == ["reporter", "reporter", "agency", "agency"]
    assert [n.recipient for n in listed(stub, metadata=service_caller("portal"))] == ["reporter"] * 2 + ["agency"] * 2
    assert listed(stub, tracking_id="LAP-BBBB0002") == []
    for metadata in [(), [("x-sp4n-caller", "forged.token")]]:
        with pytest.raises(grpc.RpcError) as e:
            listed(stub, metadata=metadata)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as e:
        listed(stub, tracking_id="not a tracking id")
    assert (e.value.code(), field_violation(e.value)) == (grpc.StatusCode.INVALID_ARGUMENT, "tracking_id")


def test_a_reporter_sees_only_what_was_sent_to_them_about_their_own_report(stub):
    send(stub)
    send(stub, event="new_assignment", recipient="agency", agency_id="kab-tanah-bumbu")
    mine = listed(stub, metadata=caller("reporter", TRACKING_ID))
    assert [(n.recipient, n.channel) for n in mine] == [("reporter", "in_app"), ("reporter", "email")]
    with pytest.raises(grpc.RpcError) as e:
        listed(stub, metadata=caller("reporter", "LAP-BBBB0002"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_agency_staff_see_what_was_sent_to_their_agency_while_the_report_is_theirs(stub, intake):
    send(stub)
    send(stub, event="new_assignment", recipient="agency", agency_id="kab-tanah-bumbu")
    send(stub, event="deadline_missed", recipient="agency", agency_id="kab-tanah-bumbu", params={"deadline": "x"})
    send(stub, event="new_assignment", recipient="agency", agency_id="kota-banjarmasin", key="other-agency")
    intake.assigned[TRACKING_ID] = "kab-tanah-bumbu"
    for role in ("liaison_officer", "agency_admin"):
        theirs = listed(stub, metadata=caller(role, "staff-1", "kab-tanah-bumbu"))
        assert [(n.recipient, n.event, n.channel) for n in theirs] == [
            ("agency", "new_assignment", "in_app"), ("agency", "new_assignment", "email"),
            ("agency", "deadline_missed", "in_app"), ("agency", "deadline_missed", "email")]
    # Another agency, even one told of the report before; staff of no agency; process analysts.
    for metadata in (caller("liaison_officer", "lo-2", "kota-banjarmasin"), caller("agency_admin", "aa-3"),
                     caller("process_analyst", "pa-1"), caller("reporter", "account:7")):
        with pytest.raises(grpc.RpcError) as e:
            listed(stub, metadata=metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    intake.assigned[TRACKING_ID] = "kota-banjarmasin"  # re-routed: the first agency sees nothing any more
    with pytest.raises(grpc.RpcError) as e:
        listed(stub, metadata=caller("liaison_officer", "lo-1", "kab-tanah-bumbu"))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(listed(stub, metadata=caller("liaison_officer", "lo-2", "kota-banjarmasin"))) == 1


def test_a_report_intake_does_not_know_is_not_found(stub, database_url):
    with pytest.raises(grpc.RpcError) as e:
        send(stub, tracking_id="LAP-ZZZZ9999")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert rows(database_url) == []


def test_when_intake_cannot_be_reached_the_call_is_unavailable_and_writes_nothing(make_stub, database_url):
    with grpc.insecure_channel(f"127.0.0.1:{free_port()}") as nowhere:
        stub = make_stub(contacts=IntakeContacts(intake_pb2_grpc.IntakeServiceStub(nowhere), timeout=2))
        with pytest.raises(grpc.RpcError) as e:
            send(stub)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "intake" in e.value.details()
    assert rows(database_url) == []
    # An agency's notification needs nothing from intake.
    assert send(stub, event="new_assignment", recipient="agency", agency_id="kab-tanah-bumbu").status == "sent"
