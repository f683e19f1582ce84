"""A report's life after submission: forwarding, status changes, follow-ups, replies and completion,
through a real gRPC server and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import grpc
import pytest

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (T0, ADMIN, AGENCY, AGENCY_NAME, LIAISON, OTHER_LIAISON, PORTAL, SLA, complete,
                                  field_violation, follow_up, forward, get, outbox_rows, refused, reply, reporter,
                                  row_counts, set_status, submit)
from tests.support import caller


@pytest.fixture
def forwarded(stub):
    tracking_id = submit(stub)
    forward(stub, tracking_id)
    return tracking_id


@pytest.fixture
def followed_up(stub, forwarded):
    follow_up(stub, forwarded)
    return forwarded


def test_forwarding_assigns_the_agency_and_publishes_the_report(stub, clock):
    tracking_id = submit(stub)
    clock.advance(timedelta(days=1))
    report = forward(stub, tracking_id)
    assert (report.status, report.agency_id, report.agency_name, report.published) == (
        pb.REPORT_STATUS_FORWARDED, AGENCY, AGENCY_NAME, True)
    assert report.published_at.ToDatetime(tzinfo=timezone.utc) >= T0 + timedelta(days=1)
    assert [(e.kind, e.status, e.body) for e in report.timeline] == [
        ("submitted", pb.REPORT_STATUS_UNSPECIFIED, ""), ("status", pb.REPORT_STATUS_FORWARDED, AGENCY_NAME)]


def test_a_confidential_report_is_forwarded_but_never_published(stub):
    report = forward(stub, submit(stub, confidential=True))
    assert (report.status, report.published, report.HasField("published_at")) == (
        pb.REPORT_STATUS_FORWARDED, False, False)


def test_a_repeated_forward_returns_the_current_report_and_writes_nothing(stub, database_url, forwarded):
    before = row_counts(database_url)
    again = forward(stub, forwarded, agency_id="someone-else", agency_name="Instansi Lain")
    assert (again.agency_id, len(again.timeline)) == (AGENCY, 2)
    assert row_counts(database_url) == before


def test_re_routing_keeps_the_first_publication_time(stub, forwarded):
    first = get(stub, forwarded).published_at
    report = forward(stub, forwarded, key="fwd-2", agency_id="kalsel-pupr", agency_name="Dinas PUPR Kalsel")
    assert (report.agency_id, report.published_at) == ("kalsel-pupr", first)


@pytest.mark.parametrize("fields, field", [
    (dict(agency_id=""), "agency_id"), (dict(agency_name="  "), "agency_name"), (dict(key=""), "idempotency_key"),
])
def test_a_forward_without_an_agency_names_the_field(stub, database_url, fields, field):
    tracking_id = submit(stub)
    before = row_counts(database_url)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, forward, stub, tracking_id, **fields)
    assert field_violation(error) == field
    assert row_counts(database_url) == before


def test_the_process_moves_the_status_with_a_reason_on_the_timeline(stub):
    tracking_id = submit(stub)
    report = set_status(stub, tracking_id, pb.REPORT_STATUS_NEEDS_COMPLETION, reason="Lokasi kurang jelas")
    assert report.status == pb.REPORT_STATUS_NEEDS_COMPLETION
    assert (report.timeline[-1].kind, report.timeline[-1].status, report.timeline[-1].body) == (
        "status", pb.REPORT_STATUS_NEEDS_COMPLETION, "Lokasi kurang jelas")
    again = set_status(stub, tracking_id, pb.REPORT_STATUS_ARCHIVED)  # same key: the first answer stands
    assert (again.status, len(again.timeline)) == (pb.REPORT_STATUS_NEEDS_COMPLETION, 2)


@pytest.mark.parametrize("status, reason", [
    (pb.REPORT_STATUS_FORWARDED, ""), (pb.REPORT_STATUS_FOLLOWED_UP, ""), (pb.REPORT_STATUS_UNSPECIFIED, ""),
    (99, ""), (pb.REPORT_STATUS_ON_HOLD, "x" * 2001),
])
def test_a_status_the_process_may_not_set_is_refused(stub, database_url, status, reason):
    tracking_id = submit(stub)
    before = row_counts(database_url)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, set_status, stub, tracking_id, status, reason=reason)
    assert field_violation(error) == ("reason" if reason else "status")
    assert row_counts(database_url) == before


def test_a_closed_report_changes_no_more(stub, followed_up):
    set_status(stub, followed_up, pb.REPORT_STATUS_CLOSED)
    refused(grpc.StatusCode.FAILED_PRECONDITION, set_status, stub, followed_up, pb.REPORT_STATUS_ON_HOLD, key="s2")
    refused(grpc.StatusCode.FAILED_PRECONDITION, forward, stub, followed_up, key="fwd-2")
    refused(grpc.StatusCode.FAILED_PRECONDITION, follow_up, stub, followed_up, key="fu-2")


def test_only_sla_forwards_and_sets_statuses(stub):
    tracking_id = submit(stub)
    for metadata in (PORTAL, ADMIN, LIAISON):
        refused(grpc.StatusCode.PERMISSION_DENIED, stub.ForwardReport, pb.ForwardReportRequest(
            idempotency_key="f", tracking_id=tracking_id, agency_id=AGENCY, agency_name=AGENCY_NAME),
            metadata=metadata)
        refused(grpc.StatusCode.PERMISSION_DENIED, stub.SetReportStatus, pb.SetReportStatusRequest(
            idempotency_key="s", tracking_id=tracking_id, status=pb.REPORT_STATUS_CLOSED), metadata=metadata)
    refused(grpc.StatusCode.NOT_FOUND, forward, stub, "LAP-ZZZZZZZZ")


def test_the_agency_posts_its_follow_up_and_the_process_hears_of_it(stub, database_url, forwarded):
    entry = follow_up(stub, forwarded)
    assert (entry.kind, entry.author, entry.body) == ("follow_up", AGENCY_NAME, "Perbaikan dijadwalkan pekan depan.")
    assert get(stub, forwarded).status == pb.REPORT_STATUS_FOLLOWED_UP
    kind, tracking_id, payload = outbox_rows(database_url)[-1]
    assert (kind, tracking_id, payload["entry_id"], payload["agency_id"]) == (
        "follow_up_posted", forwarded, entry.id, AGENCY)
    assert datetime.fromisoformat(payload["posted_at"]) == entry.created_at.ToDatetime(tzinfo=timezone.utc)


def test_a_repeated_follow_up_returns_the_first_entry_and_writes_nothing(stub, database_url, forwarded):
    first = follow_up(stub, forwarded)
    before = row_counts(database_url)
    assert follow_up(stub, forwarded, body="Teks lain") == first
    assert row_counts(database_url) == before


def test_an_agency_may_post_a_second_follow_up_before_the_reporter_answers(stub, followed_up):
    follow_up(stub, followed_up, key="fu-2", metadata=caller("agency_admin", "aa-1", AGENCY))
    assert [e.kind for e in get(stub, followed_up).timeline].count("follow_up") == 2


def test_only_staff_of_the_assigned_agency_post_follow_ups(stub, database_url, forwarded):
    before = row_counts(database_url)
    for metadata in (OTHER_LIAISON, caller("liaison_officer", "lo-3"), ADMIN, reporter(forwarded), SLA,
                     caller("process_analyst", "pa-1", AGENCY)):
        refused(grpc.StatusCode.PERMISSION_DENIED, follow_up, stub, forwarded, metadata=metadata)
    assert row_counts(database_url) == before


def test_no_follow_up_before_the_report_is_forwarded(stub):
    tracking_id = submit(stub)
    refused(grpc.StatusCode.PERMISSION_DENIED, follow_up, stub, tracking_id)  # no agency yet
    set_status(stub, tracking_id, pb.REPORT_STATUS_ON_HOLD, reason="menunggu")
    refused(grpc.StatusCode.PERMISSION_DENIED, follow_up, stub, tracking_id)


def test_a_follow_up_needs_a_body(stub, forwarded):
    for body in ("", "   ", "x" * 5001):
        error = refused(grpc.StatusCode.INVALID_ARGUMENT, follow_up, stub, forwarded, body=body)
        assert field_violation(error) == "body"


def test_the_reporter_replies_and_the_agency_must_answer_again(stub, database_url, followed_up):
    entry = reply(stub, followed_up)
    assert (entry.kind, entry.author) == ("reply", "reporter")
    assert get(stub, followed_up).status == pb.REPORT_STATUS_FORWARDED
    kind, _, payload = outbox_rows(database_url)[-1]
    assert (kind, payload["entry_id"], payload["author"]) == ("reply_posted", entry.id, "reporter")
    refused(grpc.StatusCode.FAILED_PRECONDITION, reply, stub, followed_up, key="re-2")  # the agency's turn
    follow_up(stub, followed_up, key="fu-2")
    assert reply(stub, followed_up, key="re-2", metadata=ADMIN).author == "administrator"


def test_a_repeated_reply_returns_the_first_entry_even_after_the_status_moved(stub, database_url, followed_up):
    first = reply(stub, followed_up)
    before = row_counts(database_url)
    assert reply(stub, followed_up) == first
    assert row_counts(database_url) == before


def test_no_reply_without_a_follow_up_or_on_a_closed_report(stub, forwarded, followed_up):
    other = submit(stub, "web-2")
    forward(stub, other)
    refused(grpc.StatusCode.FAILED_PRECONDITION, reply, stub, other)
    set_status(stub, followed_up, pb.REPORT_STATUS_CLOSED)
    error = refused(grpc.StatusCode.FAILED_PRECONDITION, reply, stub, followed_up)
    assert error.details() == "report is closed"


def test_only_the_reporter_of_this_report_or_an_administrator_replies(stub, followed_up):
    for metadata in (reporter("LAP-AAAA0001"), LIAISON, PORTAL, caller("agency_admin", "aa-1", AGENCY)):
        refused(grpc.StatusCode.PERMISSION_DENIED, reply, stub, followed_up, metadata=metadata)


def test_the_reporter_completes_a_report_sent_back_to_them(stub, database_url):
    tracking_id = submit(stub)
    set_status(stub, tracking_id, pb.REPORT_STATUS_NEEDS_COMPLETION, reason="Lokasi kurang jelas")
    entry = complete(stub, tracking_id)
    assert (entry.kind, entry.author, entry.body) == ("completion", "reporter", "Lokasinya di depan SDN 2 Batulicin.")
    assert get(stub, tracking_id).status == pb.REPORT_STATUS_IN_VERIFICATION
    kind, _, payload = outbox_rows(database_url)[-1]
    assert (kind, payload["entry_id"]) == ("report_completed", entry.id)
    assert datetime.fromisoformat(payload["completed_at"]) == entry.created_at.ToDatetime(tzinfo=timezone.utc)
    before = row_counts(database_url)
    assert complete(stub, tracking_id) == entry
    assert row_counts(database_url) == before


def test_completion_only_when_asked_for_and_only_by_the_reporter(stub):
    tracking_id = submit(stub)
    refused(grpc.StatusCode.FAILED_PRECONDITION, complete, stub, tracking_id)
    set_status(stub, tracking_id, pb.REPORT_STATUS_NEEDS_COMPLETION, reason="Lokasi kurang jelas")
    for metadata in (ADMIN, reporter("LAP-AAAA0001"), PORTAL):
        refused(grpc.StatusCode.PERMISSION_DENIED, complete, stub, tracking_id, metadata=metadata)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, complete, stub, tracking_id, body="")
    assert field_violation(error) == "body"


def test_the_timeline_tells_the_whole_story_in_order(stub, clock):
    tracking_id = submit(stub)
    set_status(stub, tracking_id, pb.REPORT_STATUS_NEEDS_COMPLETION, reason="Lokasi kurang jelas")
    complete(stub, tracking_id)
    forward(stub, tracking_id)
    follow_up(stub, tracking_id)
    reply(stub, tracking_id)
    follow_up(stub, tracking_id, key="fu-2", body="Sudah diperbaiki.")
    clock.advance(timedelta(days=14))
    set_status(stub, tracking_id, pb.REPORT_STATUS_CLOSED, key="status-2")
    timeline = get(stub, tracking_id).timeline
    assert [(e.kind, e.author) for e in timeline] == [
        ("submitted", "reporter"), ("status", "system"), ("completion", "reporter"), ("status", "system"),
        ("follow_up", AGENCY_NAME), ("reply", "reporter"), ("follow_up", AGENCY_NAME), ("status", "system")]
    assert timeline[-1].status == pb.REPORT_STATUS_CLOSED
    times = [e.created_at.ToDatetime() for e in timeline]
    assert times == sorted(times)
