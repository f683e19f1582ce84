"""Candidate duplicates for the verification console, through a real gRPC server and PostgreSQL: similar
text, a nearby place, or the same region with a similar location text; unrelated and old reports not."""

from datetime import timedelta

import grpc
import pytest

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (ADMIN, LIAISON, PORTAL, SLA, T0, field_violation, forward, refused, reporter,
                                  submit)
from tests.support import caller

# Pasar Batulicin, Kabupaten Tanah Bumbu, and places at known distances from it (1e-3 degree of latitude
# is about 111 m).
LAT, LON = -3.4500, 115.9900
POTHOLE = dict(title="Jalan berlubang di Batulicin",
               description="Lubang besar di Jalan Raya Batulicin dekat pasar, membahayakan pengendara motor.",
               region_code="6310", location_text="Jl. Raya Batulicin km 3")


def report(stub, key, *, at=None, clock=None, near_meters=None, **fields):
    """Submits a report; `near_meters` puts it that far north of the market."""
    if at is not None:
        clock.set(at)
    if near_meters is not None:
        fields |= dict(has_location=True, latitude=LAT + near_meters / 111_195, longitude=LON)
    return submit(stub, key, **fields)


def similar(stub, tracking_id, limit=0, metadata=ADMIN) -> list[pb.SimilarReport]:
    return list(stub.FindSimilarReports(pb.FindSimilarReportsRequest(tracking_id=tracking_id, limit=limit),
                                        metadata=metadata).reports)


@pytest.fixture
def source(stub, clock):
    return report(stub, "source", at=T0, clock=clock, near_meters=0, **POTHOLE)


def test_similar_text_nearby_places_and_the_same_place_are_found_best_first(stub, clock, source):
    later = T0 + timedelta(hours=2)
    same_and_near = report(stub, "same-near", at=later, clock=clock, near_meters=60,
                           title="Jalan rusak berlubang dekat Pasar Batulicin",
                           description="Ada lubang besar di jalan raya dekat pasar Batulicin yang berbahaya bagi "
                                       "pengendara sepeda motor.", region_code="6310")
    same_text = report(stub, "same-text", title="Lubang di jalan raya Batulicin",
                       description="Tolong perbaiki lubang di jalan raya Batulicin depan pasar, sudah ada motor jatuh.",
                       region_code="6310", location_text="Depan Pasar Batulicin")
    nearby_other = report(stub, "near", near_meters=250, title="Sampah menumpuk di pasar",
                          description="Sampah di pasar tidak diangkut selama seminggu, baunya menyengat.",
                          region_code="6310", location_text="Pasar Batulicin blok C")
    same_place = report(stub, "place", title="Lampu penerangan padam",
                        description="Lampu penerangan jalan mati sudah dua minggu, gelap di malam hari.",
                        region_code="6310", location_text="Jl. Raya Batulicin km 3")
    found = similar(stub, source)
    # The same place's exact address weighs about as much as being 250 m away: here a little more.
    assert [r.report.tracking_id for r in found] == [same_and_near, same_text, same_place, nearby_other]
    by_id = {r.report.tracking_id: r for r in found}
    assert list(by_id[same_and_near].reasons) == [pb.SIMILARITY_REASON_SIMILAR_TEXT, pb.SIMILARITY_REASON_NEARBY,
                                                  pb.SIMILARITY_REASON_SAME_PLACE_TEXT]
    assert by_id[same_and_near].has_distance and 50 < by_id[same_and_near].distance_meters < 70
    assert list(by_id[same_text].reasons) == [pb.SIMILARITY_REASON_SIMILAR_TEXT]
    assert not by_id[same_text].has_distance
    assert list(by_id[nearby_other].reasons) == [pb.SIMILARITY_REASON_NEARBY]
    assert by_id[nearby_other].text_similarity < 0.3
    assert list(by_id[same_place].reasons) == [pb.SIMILARITY_REASON_SAME_PLACE_TEXT]
    assert by_id[same_place].location_similarity == 1.0
    assert all(0 < r.score <= 1 for r in found)
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)
    # What the console shows of each: a summary, the location text.
    assert (by_id[same_text].report.title, by_id[same_text].report.region_code, by_id[same_text].location_text) == (
        "Lubang di jalan raya Batulicin", "6310", "Depan Pasar Batulicin")


def test_unrelated_far_away_and_old_reports_are_not_candidates(stub, clock, source):
    report(stub, "old", at=T0 - timedelta(days=91), clock=clock, near_meters=0, **POTHOLE)  # before the window
    clock.set(T0 + timedelta(hours=1))
    report(stub, "unrelated", title="Pelayanan KTP lambat",
           description="Pengurusan KTP elektronik di Disdukcapil sudah tiga bulan belum selesai.",
           region_code="6310", location_text="Kantor Disdukcapil")
    report(stub, "far", near_meters=2000, title="Pohon tumbang menutup jalan",
           description="Pohon besar tumbang setelah hujan deras dan menutup jalan desa.", region_code="6310",
           location_text="Desa Sungai Loban")
    report(stub, "other road", title="Jalan rusak di Simpang Empat", region_code="6310", location_text="Simpang Empat",
           description="Jalan desa di Simpang Empat rusak parah dan berlumpur saat hujan.")
    assert similar(stub, source) == []


def test_the_same_complaint_from_another_region_or_without_one_is_found_by_its_words(stub, clock, source):
    clock.set(T0 + timedelta(days=30))
    by_sms = report(stub, "sms", channel="sms", region_code="", location_text="",
                    title="Lubang besar di jalan raya Batulicin",
                    description="Lubang besar di jalan raya Batulicin dekat pasar, pengendara motor bisa celaka.",
                    reporter=pb.Reporter(phone="081234567891"))
    [found] = similar(stub, source)
    assert (found.report.tracking_id, list(found.reasons)) == (by_sms, [pb.SIMILARITY_REASON_SIMILAR_TEXT])
    assert similar(stub, by_sms)[0].report.tracking_id == source  # and the other way round


def test_reports_in_any_status_are_candidates_confidential_ones_too_but_never_the_report_itself(stub, clock, source):
    clock.set(T0 + timedelta(hours=1))
    secret = report(stub, "secret", confidential=True, near_meters=10, **POTHOLE)
    forward(stub, secret)
    assert [r.report.tracking_id for r in similar(stub, source)] == [secret]
    assert [r.report.confidential for r in similar(stub, source)] == [True]
    assert [r.report.tracking_id for r in similar(stub, secret)] == [source]


def test_the_limit_caps_the_list(stub, clock, source):
    for n in range(4):
        report(stub, f"dup-{n}", at=T0 + timedelta(minutes=n + 1), clock=clock, near_meters=10 * n, **POTHOLE)
    assert len(similar(stub, source)) == 4
    assert len(similar(stub, source, limit=2)) == 2
    for bad in (-1, 51):
        error = refused(grpc.StatusCode.INVALID_ARGUMENT, similar, stub, source, limit=bad)
        assert field_violation(error) == "limit"


def test_an_unknown_report_is_not_found(stub, source):
    refused(grpc.StatusCode.NOT_FOUND, similar, stub, "LAP-0000ZZZZ")
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, similar, stub, "not an id")
    assert field_violation(error) == "tracking_id"


@pytest.mark.parametrize("metadata", [LIAISON, caller("agency_admin", "aa-1", "tanah-bumbu-pupr"),
                                      caller("process_analyst", "pa-1"), PORTAL, SLA])
def test_only_national_administrators_look_for_duplicates(stub, source, metadata):
    refused(grpc.StatusCode.PERMISSION_DENIED, similar, stub, source, metadata=metadata)


def test_the_reporter_may_not_look_for_duplicates_of_their_own_report(stub, source):
    refused(grpc.StatusCode.PERMISSION_DENIED, similar, stub, source, metadata=reporter(source))


# Summaries for the verification queue

def summaries(stub, tracking_ids, metadata=ADMIN):
    return stub.GetReportSummaries(pb.GetReportSummariesRequest(tracking_ids=tracking_ids), metadata=metadata).reports


def test_the_queue_gets_summaries_of_its_reports_in_one_call(stub, clock, source):
    other = report(stub, "other", at=T0 + timedelta(hours=1), clock=clock, title="Lampu jalan padam",
                   description="Lampu penerangan jalan mati sudah dua minggu.", category="lingkungan")
    found = summaries(stub, [other, "LAP-0000ZZZZ", source, other])
    assert [(s.tracking_id, s.title, s.category, s.region_code) for s in found] == [
        (other, "Lampu jalan padam", "lingkungan", "6310"), (source, POTHOLE["title"], "infrastruktur", "6310")]
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, summaries, stub, [source] * 501)
    assert field_violation(error) == "tracking_ids"
    for metadata in (LIAISON, PORTAL, SLA):
        refused(grpc.StatusCode.PERMISSION_DENIED, summaries, stub, [source], metadata=metadata)
