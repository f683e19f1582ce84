"""Reporters' access codes, and who may see, download from and answer a report, through a real gRPC
server and PostgreSQL."""

import hashlib
import re

import grpc
import psycopg
import pytest

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (ADMIN, AGENCY, LIAISON, NOTIFY, OTHER_LIAISON, PNG, PORTAL, SLA, attachment,
                                  complete, create_account, field_violation, follow_up, forward, get, outbox_rows,
                                  refused, reply, reporter, row_counts, set_status, submit, submit_for_code, verify)
from tests.support import caller

SHOWN = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")
OWNER = caller("reporter", "account:1")
OTHER_ACCOUNT = caller("reporter", "account:2")
AGENCY_ADMIN = caller("agency_admin", "aa-1", AGENCY)
OTHER_AGENCY_ADMIN = caller("agency_admin", "aa-2", "kota-banjarmasin")
ANALYST = caller("process_analyst", "pa-1", AGENCY)
UNKNOWN = "LAP-ZZZZZZZZ"


def stored_hash(database_url, tracking_id: str) -> bytes:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT access_code_hash FROM intake.reports WHERE tracking_id = %s",
                            (tracking_id,)).fetchone()[0]


def test_a_submission_answers_with_an_access_code_of_which_only_the_hash_is_kept(stub, database_url):
    tracking_id, code = submit_for_code(stub)
    assert SHOWN.fullmatch(code)
    assert stored_hash(database_url, tracking_id) == hashlib.sha256(code.replace("-", "").encode()).digest()
    with psycopg.connect(database_url) as conn:
        dump = conn.execute("SELECT r::text || p::text FROM intake.reports r JOIN intake.reporters p "
                            "USING (tracking_id)").fetchone()[0]
    assert code.replace("-", "") not in dump.replace("-", "").upper()


@pytest.mark.parametrize("typed", [
    lambda code: code, lambda code: code.lower(), lambda code: code.replace("-", ""),
    lambda code: code.replace("-", " "), lambda code: f"  {code.lower().replace('-', '')}  ",
])
def test_the_code_opens_its_report_in_any_case_with_or_without_dashes_and_spaces(stub, typed):
    tracking_id, code = submit_for_code(stub)
    assert verify(stub, tracking_id, typed(code)).tracking_id == tracking_id


def test_a_wrong_code_and_an_unknown_report_are_refused_alike(stub):
    tracking_id, code = submit_for_code(stub, "k1")
    other, other_code = submit_for_code(stub, "k2")
    errors = [refused(grpc.StatusCode.PERMISSION_DENIED, verify, stub, tracking_id, other_code),
              refused(grpc.StatusCode.PERMISSION_DENIED, verify, stub, UNKNOWN, code),
              refused(grpc.StatusCode.PERMISSION_DENIED, verify, stub, tracking_id, ""),
              refused(grpc.StatusCode.PERMISSION_DENIED, verify, stub, tracking_id, code[:-1])]
    assert len({e.details() for e in errors}) == 1
    assert verify(stub, other, other_code).tracking_id == other


def test_a_repeated_submission_gets_a_new_code_and_the_old_one_stops_working(stub, database_url):
    tracking_id, first = submit_for_code(stub)
    before = row_counts(database_url)
    again, second = submit_for_code(stub)
    assert again == tracking_id and second != first
    refused(grpc.StatusCode.PERMISSION_DENIED, verify, stub, tracking_id, first)
    assert verify(stub, tracking_id, second).tracking_id == tracking_id
    assert row_counts(database_url) == before


def test_only_the_portal_checks_codes_and_a_malformed_tracking_id_is_invalid(stub):
    tracking_id, code = submit_for_code(stub)
    for metadata in (SLA, ADMIN, reporter(tracking_id), LIAISON):
        refused(grpc.StatusCode.PERMISSION_DENIED, verify, stub, tracking_id, code, metadata=metadata)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, verify, stub, "LAP-1", code)
    assert field_violation(error) == "tracking_id"


@pytest.fixture
def report_of_account(stub):
    """A forwarded report with one attachment, submitted from account:1 (account:2 exists too)."""
    create_account(stub, "acc-1", "siti@contoh.id")
    create_account(stub, "acc-2", "budi@contoh.id")
    tracking_id = submit(stub, account_id="account:1", attachments=[pb.AttachmentUpload(filename="a.png",
                                                                                        content=PNG)])
    forward(stub, tracking_id)
    return tracking_id


READERS = [("its reporter", None), ("its account", OWNER), ("a national administrator", ADMIN),
           ("the agency's liaison officer", LIAISON), ("the agency's administrator", AGENCY_ADMIN), ("sla", SLA),
           ("notify", NOTIFY)]
OUTSIDERS = [("the portal itself", PORTAL), ("another agency", OTHER_LIAISON), ("another agency's administrator",
             OTHER_AGENCY_ADMIN), ("another reporter", reporter("LAP-AAAA0001")), ("another account", OTHER_ACCOUNT),
             ("a process analyst", ANALYST), ("staff of no agency", caller("liaison_officer", "lo-9"))]


@pytest.mark.parametrize("who, metadata", READERS)
def test_these_may_see_a_report_and_its_attachments(stub, report_of_account, who, metadata):
    metadata = metadata or reporter(report_of_account)
    report = get(stub, report_of_account, metadata)
    assert report.reporter_name == ("Siti Rahmah" if metadata is ADMIN else "")
    assert [(a.id, a.filename, a.content_type) for a in report.attachments] == [("1", "a.png", "image/png")]
    assert attachment(stub, report_of_account, "1", metadata).content == PNG


@pytest.mark.parametrize("who, metadata", OUTSIDERS)
def test_no_one_else_sees_a_report_or_its_attachments_nor_learns_whether_it_exists(stub, report_of_account, who,
                                                                                    metadata):
    seen = refused(grpc.StatusCode.PERMISSION_DENIED, get, stub, report_of_account, metadata)
    refused(grpc.StatusCode.PERMISSION_DENIED, attachment, stub, report_of_account, "1", metadata)
    refused(grpc.StatusCode.PERMISSION_DENIED, attachment, stub, report_of_account, "9", metadata)
    unknown = refused(grpc.StatusCode.PERMISSION_DENIED, get, stub, UNKNOWN, metadata)
    assert unknown.details() == seen.details().replace(report_of_account, UNKNOWN)


def test_an_unknown_report_is_not_found_only_for_those_who_see_every_report(stub):
    for metadata in (ADMIN, SLA):
        refused(grpc.StatusCode.NOT_FOUND, get, stub, UNKNOWN, metadata)
        refused(grpc.StatusCode.NOT_FOUND, attachment, stub, UNKNOWN, "1", metadata)
    for metadata in (reporter(UNKNOWN), LIAISON, OWNER):
        refused(grpc.StatusCode.PERMISSION_DENIED, get, stub, UNKNOWN, metadata)


def test_agency_staff_see_a_report_only_once_it_is_assigned_to_their_agency(stub):
    tracking_id = submit(stub)
    refused(grpc.StatusCode.PERMISSION_DENIED, get, stub, tracking_id, LIAISON)
    forward(stub, tracking_id)
    assert get(stub, tracking_id, LIAISON).agency_id == AGENCY
    forward(stub, tracking_id, key="fwd-2", agency_id="kota-banjarmasin", agency_name="Kota Banjarmasin")
    refused(grpc.StatusCode.PERMISSION_DENIED, get, stub, tracking_id, LIAISON)
    assert get(stub, tracking_id, OTHER_LIAISON).agency_id == "kota-banjarmasin"


@pytest.mark.parametrize("attachment_id", ["2", "0", "x", "", "1 ", "٣", "99999999999999999999"])
def test_an_attachment_the_report_does_not_have_is_not_found(stub, report_of_account, attachment_id):
    refused(grpc.StatusCode.NOT_FOUND, attachment, stub, report_of_account, attachment_id, reporter(report_of_account))


@pytest.fixture
def followed_up(stub, report_of_account):
    follow_up(stub, report_of_account)
    return report_of_account


@pytest.mark.parametrize("metadata, sender_phone, author", [
    (None, "", "reporter"), (OWNER, "", "reporter"), (ADMIN, "", "administrator"),
    (PORTAL, "0812-3456-7890", "reporter"), (PORTAL, "+6281234567890", "reporter"),
    (PORTAL, "6281234567890", "reporter"),
])
def test_these_may_reply(stub, database_url, followed_up, metadata, sender_phone, author):
    entry = reply(stub, followed_up, metadata=metadata or reporter(followed_up), sender_phone=sender_phone)
    assert (entry.kind, entry.author) == ("reply", author)
    assert outbox_rows(database_url)[-1][2]["author"] == author


@pytest.mark.parametrize("metadata, sender_phone", [
    (PORTAL, ""), (PORTAL, "081234567891"), (PORTAL, "bukan nomor"), (PORTAL, "+1 555 123 4567"),
    (SLA, "081234567890"), (LIAISON, ""), (AGENCY_ADMIN, ""), (OTHER_ACCOUNT, ""), (reporter("LAP-AAAA0001"), ""),
    (ANALYST, ""),
])
def test_no_one_else_may_reply_and_a_refused_reply_stores_nothing(stub, database_url, followed_up, metadata,
                                                                   sender_phone):
    before = row_counts(database_url)
    refused(grpc.StatusCode.PERMISSION_DENIED, reply, stub, followed_up, metadata=metadata, sender_phone=sender_phone)
    assert row_counts(database_url) == before


def test_a_reply_to_an_unknown_report_is_not_found_only_for_administrators(stub):
    refused(grpc.StatusCode.NOT_FOUND, reply, stub, UNKNOWN, metadata=ADMIN)
    for metadata, phone in ((reporter(UNKNOWN), ""), (OWNER, ""), (PORTAL, "081234567890")):
        refused(grpc.StatusCode.PERMISSION_DENIED, reply, stub, UNKNOWN, metadata=metadata, sender_phone=phone)


@pytest.fixture
def sent_back(stub, report_of_account):
    set_status(stub, report_of_account, pb.REPORT_STATUS_NEEDS_COMPLETION, key="back")
    return report_of_account


@pytest.mark.parametrize("metadata, sender_phone", [(None, ""), (OWNER, ""), (PORTAL, "081234567890")])
def test_the_reporter_completes_in_person_from_their_account_or_by_sms(stub, sent_back, metadata, sender_phone):
    entry = complete(stub, sent_back, metadata=metadata or reporter(sent_back), sender_phone=sender_phone)
    assert (entry.kind, entry.author) == ("completion", "reporter")


@pytest.mark.parametrize("metadata, sender_phone", [
    (ADMIN, ""), (PORTAL, ""), (PORTAL, "081234567899"), (OTHER_ACCOUNT, ""), (SLA, "081234567890")])
def test_no_one_else_completes_and_a_refused_completion_stores_nothing(stub, database_url, sent_back, metadata,
                                                                       sender_phone):
    before = row_counts(database_url)
    refused(grpc.StatusCode.PERMISSION_DENIED, complete, stub, sent_back, metadata=metadata,
            sender_phone=sender_phone)
    assert row_counts(database_url) == before
    assert get(stub, sent_back).status == pb.REPORT_STATUS_NEEDS_COMPLETION


def test_a_report_without_a_phone_number_takes_no_sms(stub):
    tracking_id = submit(stub, reporter=pb.Reporter(name="Siti", email="siti@contoh.id"))
    set_status(stub, tracking_id, pb.REPORT_STATUS_NEEDS_COMPLETION)
    refused(grpc.StatusCode.PERMISSION_DENIED, complete, stub, tracking_id, metadata=PORTAL, sender_phone="08123456789")
