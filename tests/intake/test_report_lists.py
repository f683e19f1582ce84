"""A signed-in reporter's own reports and an agency's assigned reports: newest first, paged, only for
those they belong to and never with the reporter's identity. Through a real gRPC server and PostgreSQL."""

from datetime import timedelta, timezone

import grpc
import psycopg
import pytest

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (ADMIN, AGENCY, AGENCY_NAME, LIAISON, OTHER_LIAISON, PORTAL, SLA, T0, create_account,
                                  field_violation, follow_up, forward, refused, report_request, reporter, row_counts,
                                  set_status, submit)
from tests.support import caller

OWNER = caller("reporter", "account:1")
OTHER_ACCOUNT = caller("reporter", "account:2")


def mine(stub, metadata=OWNER, **fields) -> pb.ListReportsResponse:
    return stub.ListReporterReports(pb.ListReporterReportsRequest(**fields), metadata=metadata)


def agency_list(stub, agency_id: str = AGENCY, metadata=LIAISON, **fields) -> pb.ListReportsResponse:
    return stub.ListAgencyReports(pb.ListAgencyReportsRequest(agency_id=agency_id, **fields), metadata=metadata)


def all_pages(list_page, **fields) -> list[str]:
    seen, token = [], ""
    while True:
        page = list_page(page_token=token, **fields)
        seen += [r.tracking_id for r in page.reports]
        if not page.next_page_token:
            return seen
        token = page.next_page_token


def newest_first(database_url, where: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [r[0] for r in conn.execute(f"SELECT tracking_id FROM intake.reports WHERE {where} "
                                           "ORDER BY submitted_at DESC, tracking_id DESC")]


@pytest.fixture
def accounts(stub):
    create_account(stub, "acc-1", "siti@contoh.id")
    create_account(stub, "acc-2", "budi@contoh.id")


@pytest.fixture
def many(stub, clock, database_url, accounts):
    """23 reports of account:1, forwarded to the agency; five share one submission time (as reports
    submitted in one batch might), so that only their tracking IDs order them."""
    made = []
    for i in range(23):
        made.append(submit(stub, f"k{i}", account_id="account:1", title=f"Jalan rusak nomor {i}"))
        forward(stub, made[-1], key=f"fwd-{i}")
        clock.advance(timedelta(minutes=1))
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE intake.reports SET submitted_at = %s WHERE tracking_id = ANY(%s)",
                     (T0, made[4:9]))
    return made


def test_a_report_submitted_from_an_account_is_in_its_list_only(stub, accounts):
    own = submit(stub, "k1", account_id="account:1")
    submit(stub, "k2", account_id="account:2")
    submit(stub, "k3")
    assert [r.tracking_id for r in mine(stub).reports] == [own]
    summary = mine(stub).reports[0]
    assert (summary.title, summary.status, summary.type, summary.anonymous, summary.confidential) == (
        "Jalan berlubang di Batulicin", pb.REPORT_STATUS_IN_VERIFICATION, pb.REPORT_TYPE_COMPLAINT, False, False)


@pytest.mark.parametrize("account_id, reason", [("account:3", "names no reporter account"),
                                                ("account:0", "must be a reporter account id such as account:12"),
                                                ("akun:1", "must be a reporter account id such as account:12"),
                                                ("1", "must be a reporter account id such as account:12")])
def test_a_submission_from_an_account_that_does_not_exist_is_refused_and_stores_nothing(stub, database_url, accounts,
                                                                                        account_id, reason):
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, stub.SubmitReport, report_request(account_id=account_id),
                    metadata=PORTAL)
    assert (field_violation(error), error.details()) == ("account_id", f"account_id: {reason}")
    assert row_counts(database_url) == {"reports": 0, "reporters": 0, "timeline": 0, "outbox": 0}


@pytest.mark.parametrize("page_size", [1, 4, 5, 22, 23, 100])
def test_paging_sees_every_report_once_newest_first(stub, database_url, many, page_size):
    expected = newest_first(database_url, "account_id = 1")
    assert all_pages(lambda **f: mine(stub, **f), page_size=page_size) == expected
    assert all_pages(lambda **f: agency_list(stub, **f), page_size=page_size) == expected
    assert sorted(expected) == sorted(many)


def test_the_default_page_is_twenty_and_a_page_holds_at_most_a_hundred(stub, many):
    assert len(mine(stub).reports) == 20 and len(agency_list(stub).reports) == 20
    for size in (-1, 101):
        assert field_violation(refused(grpc.StatusCode.INVALID_ARGUMENT, mine, stub, page_size=size)) == "page_size"
        assert field_violation(refused(grpc.StatusCode.INVALID_ARGUMENT, agency_list, stub,
                                       page_size=size)) == "page_size"


def test_a_page_token_goes_only_with_the_list_it_was_made_for(stub, many):
    token = mine(stub, page_size=5).next_page_token
    agency_token = agency_list(stub, page_size=5, statuses=[pb.REPORT_STATUS_FORWARDED]).next_page_token
    for call in (lambda: mine(stub, OTHER_ACCOUNT, page_token=token),
                 lambda: agency_list(stub, page_token=token),
                 lambda: agency_list(stub, page_token=agency_token),
                 lambda: agency_list(stub, page_token=agency_token, statuses=[pb.REPORT_STATUS_CLOSED]),
                 lambda: mine(stub, page_token=token[:-2] + ("AA" if not token.endswith("AA") else "BB")),
                 lambda: mine(stub, page_token="not-a-token")):
        assert field_violation(refused(grpc.StatusCode.INVALID_ARGUMENT, call)) == "page_token"
    again = agency_list(stub, page_token=agency_token, statuses=[pb.REPORT_STATUS_FORWARDED,
                                                                 pb.REPORT_STATUS_FORWARDED])
    assert len(again.reports) == 18  # the rest, after the first five


def test_only_a_signed_in_reporter_has_a_list_of_their_own(stub, accounts):
    tracking_id = submit(stub, account_id="account:1")
    for metadata in (reporter(tracking_id), caller("reporter", "account:x"), ADMIN, PORTAL, SLA, LIAISON):
        refused(grpc.StatusCode.PERMISSION_DENIED, mine, stub, metadata)


def test_an_agency_list_holds_the_reports_assigned_to_it_now_with_their_latest_change(stub, clock):
    ours, theirs, rerouted, waiting = (submit(stub, f"k{i}") for i in range(4))
    forward(stub, ours)
    forward(stub, theirs, agency_id="kota-banjarmasin", agency_name="Kota Banjarmasin")
    forward(stub, rerouted)
    forward(stub, rerouted, key="fwd-2", agency_id="kota-banjarmasin", agency_name="Kota Banjarmasin")
    clock.advance(timedelta(hours=2))
    entry = follow_up(stub, ours)
    [summary] = agency_list(stub).reports
    assert (summary.tracking_id, summary.agency_id, summary.agency_name, summary.status) == (
        ours, AGENCY, AGENCY_NAME, pb.REPORT_STATUS_FOLLOWED_UP)
    assert summary.updated_at == entry.created_at
    assert summary.updated_at.ToDatetime(tzinfo=timezone.utc) >= T0 + timedelta(hours=2)
    assert {r.tracking_id for r in agency_list(stub, "kota-banjarmasin", OTHER_LIAISON).reports} == {theirs, rerouted}
    assert waiting not in {r.tracking_id for r in agency_list(stub, metadata=ADMIN).reports}


def test_an_agency_list_filters_by_status(stub):
    tracking_ids = [submit(stub, f"k{i}") for i in range(3)]
    for tracking_id in tracking_ids:
        forward(stub, tracking_id)
    follow_up(stub, tracking_ids[0])
    set_status(stub, tracking_ids[1], pb.REPORT_STATUS_CLOSED)
    listed = agency_list(stub, statuses=[pb.REPORT_STATUS_FOLLOWED_UP, pb.REPORT_STATUS_CLOSED]).reports
    assert {r.tracking_id for r in listed} == set(tracking_ids[:2])
    assert [r.tracking_id for r in agency_list(stub, statuses=[pb.REPORT_STATUS_FORWARDED]).reports] == \
        [tracking_ids[2]]


def test_only_the_agencys_own_staff_and_national_administrators_list_its_reports(stub):
    forward(stub, submit(stub))
    assert len(agency_list(stub, metadata=caller("agency_admin", "aa-1", AGENCY)).reports) == 1
    assert len(agency_list(stub, metadata=ADMIN).reports) == 1
    for metadata in (OTHER_LIAISON, caller("liaison_officer", "lo-9"), caller("process_analyst", "pa-1", AGENCY),
                     SLA, PORTAL, OWNER):
        refused(grpc.StatusCode.PERMISSION_DENIED, agency_list, stub, metadata=metadata)


@pytest.mark.parametrize("fields, field", [(dict(agency_id=""), "agency_id"), (dict(agency_id="Dinas PUPR"),
                                                                                "agency_id"),
                                           (dict(statuses=[99]), "statuses")])
def test_a_bad_agency_list_request_names_the_field(stub, fields, field):
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, agency_list, stub, **({"agency_id": AGENCY} | fields))
    assert field_violation(error) == field


def test_a_summary_never_carries_the_reporters_identity(stub, accounts):
    forward(stub, submit(stub, account_id="account:1", anonymous=True))
    for summary in (*mine(stub).reports, *agency_list(stub, metadata=ADMIN).reports):
        assert summary.anonymous
        assert "Siti" not in str(summary) and "6281234567890" not in str(summary)
    assert not {"reporter", "reporter_name", "account_id"} & set(pb.ReportSummary.DESCRIPTOR.fields_by_name)
