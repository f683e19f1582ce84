"""The verification decision's changes reach the report when the process forwards it: an edited title
(published redacted, searched by its new words) and privacy flags that are only ever set."""

import grpc
import psycopg
import pytest

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (ADMIN, AGENCY, AGENCY_NAME, LIAISON, SLA, feed, feed_ids, field_violation, get,
                                  published, refused, row_counts, submit)

REDACTED = "[disembunyikan]"
EDITED = "Jalan berlubang di depan Pasar Batulicin, hubungi 0812-3456-7890"


def forward(stub, tracking_id, key="fwd-1", agency_id=AGENCY, agency_name=AGENCY_NAME, **changes) -> pb.Report:
    return stub.ForwardReport(pb.ForwardReportRequest(idempotency_key=key, tracking_id=tracking_id, agency_id=agency_id,
                                                      agency_name=agency_name, **changes), metadata=SLA)


def original_title(database_url, tracking_id):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT original_title FROM intake.reports WHERE tracking_id = %s",
                            (tracking_id,)).fetchone()[0]


def test_an_edited_title_is_the_reports_title_and_is_published_redacted(stub, database_url):
    tracking_id = submit(stub, title="Tolong pak jalan rusak")
    report = forward(stub, tracking_id, title=f"  {EDITED} ")
    assert (report.title, report.status, report.published) == (EDITED, pb.REPORT_STATUS_FORWARDED, True)
    assert get(stub, tracking_id, metadata=ADMIN).title == EDITED
    assert get(stub, tracking_id, metadata=LIAISON).title == EDITED
    public = f"Jalan berlubang di depan Pasar Batulicin, hubungi {REDACTED}"
    assert published(stub, tracking_id).title == public
    assert [r.title for r in feed(stub).reports] == [public]
    assert original_title(database_url, tracking_id) == "Tolong pak jalan rusak"  # kept, never shown


def test_the_search_finds_a_report_by_its_new_title_and_not_by_the_old_one(stub):
    tracking_id = submit(stub, title="Keluhan warga desa", description="Ada masalah di desa kami sejak lama.")
    forward(stub, tracking_id, title="Jembatan gantung Sungai Kusan putus")
    assert feed_ids(stub, query="jembatan gantung") == [tracking_id]
    assert feed_ids(stub, query="keluhan") == []


def test_a_forward_without_changes_keeps_the_reporters_title(stub, database_url):
    tracking_id = submit(stub)
    report = forward(stub, tracking_id)
    assert report.title == "Jalan berlubang di Batulicin"
    assert original_title(database_url, tracking_id) is None


def test_re_routing_with_the_same_decision_changes_the_title_once(stub, database_url):
    tracking_id = submit(stub, title="Judul asli pelapor")
    forward(stub, tracking_id, title="Judul dari administrator")
    again = forward(stub, tracking_id, key="fwd-2", agency_id="kalsel-pupr", agency_name="Dinas PUPR Kalsel",
                    title="Judul dari administrator")
    assert (again.title, again.agency_id) == ("Judul dari administrator", "kalsel-pupr")
    assert original_title(database_url, tracking_id) == "Judul asli pelapor"


def test_a_repeated_forward_returns_the_first_answer_whatever_it_asks(stub, database_url):
    tracking_id = submit(stub)
    first = forward(stub, tracking_id, title="Judul dari administrator")
    before = row_counts(database_url)
    again = forward(stub, tracking_id, title="Judul lain lagi", confidential=True)
    assert (again.title, again.confidential, again.published) == ("Judul dari administrator", False, True)
    assert again.timeline == first.timeline
    assert row_counts(database_url) == before


def test_setting_anonymous_hides_who_reported_from_then_on(stub):
    tracking_id = submit(stub)
    assert get(stub, tracking_id, metadata=ADMIN).reporter_name == "Siti Rahmah"
    report = forward(stub, tracking_id, anonymous=True)
    assert (report.anonymous, report.confidential, report.published) == (True, False, True)
    assert get(stub, tracking_id, metadata=ADMIN).reporter_name == ""
    assert published(stub, tracking_id).anonymous


def test_setting_confidential_at_forwarding_means_it_is_never_published(stub):
    tracking_id = submit(stub, title="Pungutan liar di sekolah")
    report = forward(stub, tracking_id, confidential=True)
    assert (report.confidential, report.published, report.HasField("published_at")) == (True, False, False)
    assert feed_ids(stub) == [] and feed_ids(stub, query="pungutan") == []
    refused(grpc.StatusCode.NOT_FOUND, published, stub, tracking_id)
    again = forward(stub, tracking_id, key="fwd-2", agency_id="kalsel-pupr", agency_name="Dinas PUPR Kalsel")
    assert (again.confidential, again.published) == (True, False)


def test_a_flag_the_reporter_set_is_never_cleared(stub):
    tracking_id = submit(stub, anonymous=True, confidential=True)
    report = forward(stub, tracking_id, anonymous=False, confidential=False)
    assert (report.anonymous, report.confidential, report.published) == (True, True, False)


@pytest.mark.parametrize("title, why", [
    ("Abc", "at least 5 characters"), ("J" * 151, "at most 150"), ("Jalan\nrusak", "line breaks"),
])
def test_a_bad_title_is_refused_and_nothing_changes(stub, database_url, title, why):
    tracking_id = submit(stub)
    before = row_counts(database_url)
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, forward, stub, tracking_id, title=title)
    assert field_violation(error) == "title" and why in error.details()
    assert row_counts(database_url) == before
    assert get(stub, tracking_id).status == pb.REPORT_STATUS_IN_VERIFICATION
