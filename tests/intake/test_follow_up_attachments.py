"""An agency's follow-up with files: checked by the report's attachment rules, stored in the follow-up's
transaction, numbered on from the report's own files, given to those who may see the report and never
to the public. Through a real gRPC server and PostgreSQL."""

import grpc
import psycopg
import pytest

from services.intake import attachments
from services.intake.domain import AttachmentFile
from services.plumbing.errors import FailedPrecondition
from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (ADMIN, AGENCY, JPEG, LIAISON, OTHER_LIAISON, PDF, PNG, PORTAL, SLA, WEBP, attachment,
                                  feed, field_violation, get, publish, published, refused, reporter,
                                  row_counts, submit)
from tests.support import caller

MiB = 1024 * 1024
BODY = "Perbaikan dijadwalkan pekan depan; foto lokasi terlampir."


def upload(content: bytes, filename: str = "") -> pb.AttachmentUpload:
    return pb.AttachmentUpload(filename=filename, content=content)


def follow_up(stub, tracking_id: str, files, key: str = "fu-1", metadata=LIAISON) -> pb.TimelineEntry:
    return stub.PostFollowUp(pb.PostFollowUpRequest(idempotency_key=key, tracking_id=tracking_id, body=BODY,
                                                    attachments=files), metadata=metadata)


def stored(database_url) -> list[tuple]:
    """(number, entry_id is set, filename) of every stored attachment."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT number, entry_id IS NOT NULL, filename FROM intake.attachments "
                            "ORDER BY tracking_id, number").fetchall()


def listed(entry: pb.TimelineEntry) -> list[tuple]:
    return [(a.id, a.filename, a.content_type, a.size) for a in entry.attachments]


@pytest.fixture
def forwarded(stub):
    """A published report with two files of its own, forwarded to AGENCY."""
    return publish(stub, attachments=[upload(JPEG, "jalan.jpg"), upload(PDF, "surat.pdf")])


def test_a_follow_up_keeps_its_files_numbered_on_from_the_reports_own(stub, database_url, forwarded):
    entry = follow_up(stub, forwarded, [upload(PNG, "denah.pdf"), upload(WEBP), upload(PDF, "C:\\surat\\jadwal.pdf")])
    assert listed(entry) == [("3", "denah.pdf", "image/png", len(PNG)),
                             ("4", "lampiran-2.webp", "image/webp", len(WEBP)),
                             ("5", "jadwal.pdf", "application/pdf", len(PDF))]
    report = get(stub, forwarded)
    assert [a.id for a in report.attachments] == ["1", "2"]  # the report's own files stay the report's
    (shown,) = [e for e in report.timeline if e.kind == "follow_up"]
    assert shown.id == entry.id and listed(shown) == listed(entry)
    assert [listed(e) for e in report.timeline if e.kind != "follow_up"] == [[], []]
    assert stored(database_url) == [(1, False, "jalan.jpg"), (2, False, "surat.pdf"), (3, True, "denah.pdf"),
                                    (4, True, "lampiran-2.webp"), (5, True, "jadwal.pdf")]


def test_a_second_follow_up_numbers_its_files_after_the_first(stub, forwarded):
    follow_up(stub, forwarded, [upload(PNG, "a.png")])
    second = follow_up(stub, forwarded, [upload(JPEG, "b.jpg"), upload(PNG, "c.png")], key="fu-2")
    assert [a.id for a in second.attachments] == ["4", "5"]
    assert [[a.id for a in e.attachments] for e in get(stub, forwarded).timeline if e.kind == "follow_up"] == [
        ["3"], ["4", "5"]]


def test_a_follow_up_without_files_has_none(stub, forwarded):
    assert list(follow_up(stub, forwarded, []).attachments) == []


@pytest.mark.parametrize("metadata", [
    pytest.param(None, id="its reporter"), pytest.param(ADMIN, id="a national administrator"),
    pytest.param(LIAISON, id="the assigned agency's liaison officer"),
    pytest.param(caller("agency_admin", "aa-1", AGENCY), id="the assigned agency's administrator"),
    pytest.param(SLA, id="the process"),
])
def test_those_who_may_see_the_report_get_the_follow_ups_files(stub, forwarded, metadata):
    follow_up(stub, forwarded, [upload(PNG, "denah.png")])
    got = attachment(stub, forwarded, "3", metadata or reporter(forwarded))
    assert (got.info.filename, got.info.content_type, got.content) == ("denah.png", "image/png", PNG)


@pytest.mark.parametrize("metadata", [
    pytest.param(OTHER_LIAISON, id="another agency"), pytest.param(reporter("LAP-ZZZZZZZZ"), id="another reporter"),
    pytest.param(PORTAL, id="the portal itself"),
    pytest.param(caller("process_analyst", "pa-1", AGENCY), id="an analyst"),
])
def test_no_one_else_gets_them(stub, forwarded, metadata):
    follow_up(stub, forwarded, [upload(PNG, "denah.png")])
    refused(grpc.StatusCode.PERMISSION_DENIED, attachment, stub, forwarded, "3", metadata)


@pytest.mark.parametrize("files, field", [
    ([upload(PNG, "a.png"), upload(b"ini hanya teks, bukan foto\n", "foto.jpg")], "attachments[1]"),
    ([upload(PNG, "a.png")] * 6, "attachments"),
    ([upload(b"", "kosong.png")], "attachments[0]"),
    ([upload(b"<html><script>alert(1)</script>", "jadwal.pdf")], "attachments[0]"),
    ([upload(PNG + bytes(5 * MiB - len(PNG) + 1), "besar.png")], "attachments[0]"),
    ([upload(PNG, "x" * 197 + ".png")], "attachments[0].filename"),
])
def test_a_refused_file_refuses_the_follow_up_and_stores_nothing(stub, database_url, forwarded, files, field):
    before = row_counts(database_url), stored(database_url)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, follow_up, stub, forwarded, files)
    assert field_violation(error) == field
    assert (row_counts(database_url), stored(database_url)) == before
    assert get(stub, forwarded).status == pb.REPORT_STATUS_FORWARDED


def test_a_repeated_follow_up_returns_the_first_entry_with_its_files_and_stores_nothing(stub, database_url, forwarded):
    first = follow_up(stub, forwarded, [upload(PNG, "a.png")])
    before = row_counts(database_url), stored(database_url)
    again = follow_up(stub, forwarded, [upload(JPEG, "lain.jpg"), upload(PDF, "lain.pdf")])
    assert again == first and listed(again) == [("3", "a.png", "image/png", len(PNG))]
    assert (row_counts(database_url), stored(database_url)) == before


def test_files_from_an_agency_the_report_is_not_assigned_to_are_refused_and_not_stored(stub, database_url, forwarded):
    before = row_counts(database_url), stored(database_url)
    refused(grpc.StatusCode.PERMISSION_DENIED, follow_up, stub, forwarded, [upload(PNG, "a.png")],
            metadata=OTHER_LIAISON)
    refused(grpc.StatusCode.PERMISSION_DENIED, follow_up, stub, forwarded, [upload(PNG, "a.png")],
            metadata=reporter(forwarded))
    assert (row_counts(database_url), stored(database_url)) == before


def test_a_report_not_yet_forwarded_takes_no_follow_up_files(stub, database_url):
    waiting = submit(stub, attachments=[upload(PNG, "a.png")])
    refused(grpc.StatusCode.PERMISSION_DENIED, follow_up, stub, waiting, [upload(PNG, "b.png")])
    assert stored(database_url) == [(1, False, "a.png")]


def test_a_follow_ups_files_are_never_published(stub, forwarded):
    entry = follow_up(stub, forwarded, [upload(PNG, "denah-rahasia.png")])
    public = published(stub, forwarded)
    (shown,) = [e for e in public.timeline if e.kind == "follow_up"]
    assert shown.id == entry.id and shown.body == BODY and list(shown.attachments) == []
    assert b"denah-rahasia" not in public.SerializeToString()
    listed_in_feed = feed(stub)
    assert [r.tracking_id for r in listed_in_feed.reports] == [forwarded]
    assert b"denah-rahasia" not in listed_in_feed.SerializeToString()


def test_numbers_stop_where_attachment_ids_do():
    attachments.check_room(9995, (AttachmentFile("a.png", PNG),) * 5)
    attachments.check_room(10_000, ())
    with pytest.raises(FailedPrecondition):
        attachments.check_room(9996, (AttachmentFile("a.png", PNG),) * 5)
