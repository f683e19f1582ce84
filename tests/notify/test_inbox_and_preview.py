"""Staff inboxes of in-app notifications, and the template preview operators check edits with: notify over
gRPC and PostgreSQL, with a fake intake."""

import grpc
import psycopg
import pytest

from services.notify.domain import EVENTS, LANGUAGES, REPORTER_EVENTS, sms_room, x_room
from sp4n.notify.v1 import notify_pb2 as pb
from tests.notify.fakes import send
from tests.support import caller, field_violation, service_caller

PUPR = "kab-tanah-bumbu-dinas-pupr"
PARENT = "kab-tanah-bumbu"
ADMIN = caller("national_admin", "admin-1")
OFFICER = caller("liaison_officer", "lo-1", PUPR)
PARENT_ADMIN = caller("agency_admin", "adm-1", PARENT)
ANALYST = caller("process_analyst", "analis")
PARAMS = {"agency": "Dinas PUPR Kabupaten Tanah Bumbu", "reason": "Lokasi kurang jelas", "deadline": "tindak lanjut",
          "duplicate_of": "LAP-20261101-0007", "due_at": "2026-11-09T23:59:59+08:00"}


def inbox(stub, metadata, **fields) -> pb.ListInboxResponse:
    return stub.ListInbox(pb.ListInboxRequest(**fields), metadata=metadata)


def staff_events(stub):
    """What sla sends staff when PUPR, under Kabupaten Tanah Bumbu, misses a deadline on two reports."""
    for n in (1, 2):
        t = f"LAP-STAF000{n}"
        send(stub, tracking_id=t, event="new_assignment", recipient="agency", agency_id=PUPR)
        send(stub, tracking_id=t, event="deadline_approaching", recipient="agency", agency_id=PUPR,
             params={"deadline": "tindak lanjut"})
        send(stub, tracking_id=t, event="deadline_missed", recipient="national_admins", agency_id=PUPR,
             params={"deadline": "tindak lanjut"})
        send(stub, tracking_id=t, event="deadline_missed", recipient="agency", agency_id=PUPR,
             params={"deadline": "tindak lanjut"})
        send(stub, tracking_id=t, event="escalation", recipient="agency", agency_id=PARENT,
             params={"deadline": "tindak lanjut", "agency": "Dinas PUPR"})


def test_agency_staff_read_their_agencys_notifications_newest_first(stub):
    staff_events(stub)
    got = inbox(stub, OFFICER).notifications
    assert [(n.tracking_id, n.event) for n in got] == [
        ("LAP-STAF0002", "deadline_missed"), ("LAP-STAF0002", "deadline_approaching"),
        ("LAP-STAF0002", "new_assignment"), ("LAP-STAF0001", "deadline_missed"),
        ("LAP-STAF0001", "deadline_approaching"), ("LAP-STAF0001", "new_assignment")]
    assert {(n.recipient, n.agency_id, n.channel) for n in got} == {("agency", PUPR, "in_app")}


def test_the_parent_agency_reads_the_escalation_though_the_report_is_not_its_own(stub):
    staff_events(stub)
    got = inbox(stub, PARENT_ADMIN).notifications
    assert [(n.tracking_id, n.event) for n in got] == [("LAP-STAF0002", "escalation"), ("LAP-STAF0001", "escalation")]
    assert "Dinas PUPR" in got[0].body


def test_national_administrators_read_what_was_sent_to_national_administrators(stub):
    staff_events(stub)
    got = inbox(stub, ADMIN).notifications
    assert [(n.tracking_id, n.event, n.recipient) for n in got] == [
        ("LAP-STAF0002", "deadline_missed", "national_admins"), ("LAP-STAF0001", "deadline_missed", "national_admins")]


def test_the_inbox_pages_without_gaps_or_repeats_while_notifications_arrive(stub):
    staff_events(stub)
    first = inbox(stub, OFFICER, page_size=4)
    assert len(first.notifications) == 4 and first.next_page_token
    send(stub, tracking_id="LAP-STAF0003", event="new_assignment", recipient="agency", agency_id=PUPR)  # newer
    second = inbox(stub, OFFICER, page_size=4, page_token=first.next_page_token)
    assert len(second.notifications) == 2 and not second.next_page_token
    ids = [n.id for n in [*first.notifications, *second.notifications]]
    assert len(set(ids)) == 6
    assert inbox(stub, OFFICER).notifications[0].tracking_id == "LAP-STAF0003"


@pytest.mark.parametrize("metadata", [ANALYST, caller("reporter", "LAP-STAF0001"), service_caller("portal"),
                                      service_caller("sla"), caller("agency_admin", "adm-2", "")])
def test_who_has_no_inbox_is_refused(stub, metadata):
    with pytest.raises(grpc.RpcError) as e:
        inbox(stub, metadata)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("fields, field", [(dict(page_token="n"), "page_token"), (dict(page_token="12"), "page_token"),
                                           (dict(page_size=-5), "page_size")])
def test_a_bad_page_is_refused(stub, fields, field):
    with pytest.raises(grpc.RpcError) as e:
        inbox(stub, OFFICER, **fields)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violation(e.value) == field


# The template preview: every event, in both languages, on every channel it has a template for.

CASES = [(event, language, channel) for event in EVENTS for language in LANGUAGES
         for channel in ("in_app", "email", *(("sms", "x") if event in REPORTER_EVENTS else ()))]


@pytest.mark.parametrize("event, language, channel", CASES)
def test_every_event_renders_in_both_languages_on_each_channel(stub, event, language, channel):
    tracking_id = "LAP-20261102-0042"
    got = stub.RenderTemplate(pb.RenderTemplateRequest(event=event, channel=channel, language=language,
                                                       params={**PARAMS, "tracking_id": tracking_id}),
                              metadata=ADMIN)
    assert tracking_id in got.body
    assert "{" not in got.body and "{" not in got.subject, "every placeholder the event uses has a value"
    if channel in ("sms", "x"):
        assert not got.subject
        room = sms_room(got.body) if channel == "sms" else x_room(got.body)
        assert got.room == room >= 0
    else:
        assert got.subject and got.room == 0


def test_the_languages_of_a_preview_differ_and_a_sample_tracking_id_fills_in(stub):
    def render(language):
        return stub.RenderTemplate(pb.RenderTemplateRequest(event="received", channel="email", language=language),
                                   metadata=caller("process_analyst", "analis"))
    indonesian, english = render("id"), render("en")
    assert indonesian.subject != english.subject and "LAP-" in indonesian.body


@pytest.mark.parametrize("fields, field", [
    (dict(event="street_light", channel="email", language="id"), "event"),
    (dict(event="", channel="email", language="id"), "event"),
    (dict(event="received", channel="fax", language="id"), "channel"),
    (dict(event="received", channel="", language="id"), "channel"),
    (dict(event="received", channel="email", language="jv"), "language"),
    (dict(event="received", channel="email", language=""), "language"),
    (dict(event="escalation", channel="sms", language="id"), "channel"),  # staff are not told by SMS
    (dict(event="received", channel="email", language="id", params={"Bad Name": "x"}), "params"),
])
def test_an_unknown_template_channel_or_language_is_refused(stub, fields, field):
    with pytest.raises(grpc.RpcError) as e:
        stub.RenderTemplate(pb.RenderTemplateRequest(**fields), metadata=ADMIN)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violation(e.value) == field


@pytest.mark.parametrize("metadata", [OFFICER, caller("reporter", "LAP-STAF0001")])
def test_only_operators_preview_templates(stub, metadata):
    with pytest.raises(grpc.RpcError) as e:
        stub.RenderTemplate(pb.RenderTemplateRequest(event="received", channel="email", language="id"),
                            metadata=metadata)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_preview_writes_nothing(stub, database_url):
    stub.RenderTemplate(pb.RenderTemplateRequest(event="received", channel="email", language="id"), metadata=ADMIN)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM notify.notifications").fetchone()[0] == 0
