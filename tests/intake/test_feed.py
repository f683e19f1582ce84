"""The public feed through a real gRPC server and PostgreSQL: only published, non-confidential reports,
their text redacted, filtered, newest first, in pages."""

from datetime import timedelta

import grpc
import psycopg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (T0, LIAISON, PORTAL, at, feed, feed_ids, field_violation, follow_up, forward,
                                  publish, published, reporter, set_status, submit, support)
from tests.support import caller

REDACTED = "[disembunyikan]"


def test_only_published_reports_are_listed_newest_published_first(stub, clock):
    first = publish(stub, "k1")
    clock.advance(timedelta(hours=1))
    submit(stub, "k2")  # waiting for verification: not published
    second = publish(stub, "k3")
    clock.advance(timedelta(hours=1))
    forward(stub, publish(stub, "k4", confidential=True))  # forwarded, never published
    assert feed_ids(stub) == [second, first]
    assert feed(stub).next_page_token == ""


def force_published(database_url, tracking_id: str) -> None:
    """What a bug or a hand-made fix might do: mark a confidential report published."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE intake.reports SET published = true, published_at = submitted_at WHERE tracking_id = %s",
                     (tracking_id,))


def test_a_confidential_report_is_never_listed_found_or_supported_even_when_marked_published(stub, database_url):
    secret = publish(stub, "k1", confidential=True, title="Rahasia pungutan liar kepala sekolah")
    force_published(database_url, secret)
    assert feed_ids(stub) == []
    assert feed_ids(stub, query="pungutan liar") == []
    assert feed_ids(stub, agency_id="tanah-bumbu-pupr", region_code="63", category="infrastruktur") == []
    for call in (lambda: published(stub, secret), lambda: support(stub, secret)):
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_feed_carries_redacted_text_and_no_reporter_identity(stub):
    tracking_id = publish(
        stub, title="Pungli oleh petugas, hubungi 0812-3456-7890",
        description="Saya Siti Rahmah (NIK 3201 2345 6789 0001) diminta Rp 500.000 pada 17-08-2026. Bukti di "
                    "siti@contoh.id atau +62 812 3456 7890.",
        location_text="Kantor desa, WA 081234567890", has_location=True, latitude=-3.4167, longitude=115.9667,
        reporter=pb.Reporter(name="Siti Rahmah", phone="0812-3456-7890", email="siti@contoh.id"))
    [item] = feed(stub).reports
    assert item.tracking_id == tracking_id
    assert item.title == f"Pungli oleh petugas, hubungi {REDACTED}"
    assert item.description == (f"Saya {REDACTED} (NIK {REDACTED}) diminta Rp 500.000 pada 17-08-2026. Bukti di "
                                f"{REDACTED} atau {REDACTED}.")
    assert item.location_text == f"Kantor desa, WA {REDACTED}"
    assert (item.has_location, item.latitude, item.longitude) == (True, -3.4167, 115.9667)
    assert (item.status, item.agency_id, item.category, item.region_code, item.anonymous) == (
        pb.REPORT_STATUS_FORWARDED, "tanah-bumbu-pupr", "infrastruktur", "6310", False)
    assert item.published_at.ToDatetime() >= item.submitted_at.ToDatetime()
    wire = item.SerializeToString()
    for identity in (b"Siti", b"Rahmah", b"siti@contoh.id", b"3456", b"7890"):
        assert identity not in wire


def test_text_never_written_with_identity_is_left_as_it_was(stub):
    publish(stub, title="Jalan berlubang di km 3", location_text="Jl. Raya Batulicin km 3, RT 008/RW 012",
            description="Sejak 17-08-2026 jalan rusak, perbaikan Rp 1.500.000 tidak cukup. Lihat LAP-7K3QX9MA.")
    [item] = feed(stub).reports
    assert (item.title, item.location_text, item.description) == (
        "Jalan berlubang di km 3", "Jl. Raya Batulicin km 3, RT 008/RW 012",
        "Sejak 17-08-2026 jalan rusak, perbaikan Rp 1.500.000 tidak cukup. Lihat LAP-7K3QX9MA.")


@pytest.fixture
def varied(stub, clock):
    """Published reports of two agencies, three categories, regions in two provinces and several
    statuses, one hour apart: their tracking IDs by name."""
    made = {}
    for name, agency, category, region in [
        ("pupr-jalan", "tanah-bumbu-pupr", "infrastruktur", "6310"),
        ("pupr-kota", "tanah-bumbu-pupr", "infrastruktur", "6371"),
        ("dinkes", "kalsel-dinkes", "kesehatan", "63"),
        ("sekolah", "kalsel-dinkes", "pendidikan", "6310"),
        ("jakarta", "dki-dinkes", "kesehatan", "3171"),
    ]:
        made[name] = publish(stub, name, agency_id=agency, category=category, region_code=region)
        clock.advance(timedelta(hours=1))
    follow_up(stub, made["pupr-jalan"])
    set_status(stub, made["dinkes"], pb.REPORT_STATUS_CLOSED)
    return made


@pytest.mark.parametrize("fields, expected", [
    (dict(agency_id="tanah-bumbu-pupr"), ["pupr-kota", "pupr-jalan"]),
    (dict(category="kesehatan"), ["jakarta", "dinkes"]),
    (dict(region_code="63"), ["sekolah", "dinkes", "pupr-kota", "pupr-jalan"]),  # the province and its own
    (dict(region_code="6310"), ["sekolah", "pupr-jalan"]),
    (dict(region_code="31"), ["jakarta"]),
    (dict(region_code="64"), []),
    (dict(statuses=[pb.REPORT_STATUS_FOLLOWED_UP]), ["pupr-jalan"]),
    (dict(statuses=[pb.REPORT_STATUS_FOLLOWED_UP, pb.REPORT_STATUS_CLOSED]), ["dinkes", "pupr-jalan"]),
    (dict(statuses=[pb.REPORT_STATUS_FORWARDED]), ["jakarta", "sekolah", "pupr-kota"]),
    (dict(agency_id="kalsel-dinkes", region_code="6310", category="pendidikan"), ["sekolah"]),
    (dict(agency_id="kalsel-dinkes", statuses=[pb.REPORT_STATUS_FORWARDED]), ["sekolah"]),
    (dict(submitted_after=at(T0 + timedelta(hours=2))), ["jakarta", "sekolah", "dinkes"]),
    (dict(submitted_before=at(T0 + timedelta(hours=1))), ["pupr-jalan"]),
    (dict(submitted_after=at(T0 + timedelta(hours=1)), submitted_before=at(T0 + timedelta(hours=3))),
     ["dinkes", "pupr-kota"]),
])
def test_filters_narrow_the_feed(stub, varied, fields, expected):
    assert feed_ids(stub, **fields) == [varied[name] for name in expected]


def test_submitted_after_includes_its_moment_and_submitted_before_excludes_it(stub, varied):
    moment = published(stub, varied["dinkes"]).submitted_at
    assert feed_ids(stub, submitted_after=moment)[-1] == varied["dinkes"]
    assert varied["dinkes"] not in feed_ids(stub, submitted_before=moment)


@pytest.mark.parametrize("fields, field", [
    (dict(page_size=101), "page_size"), (dict(page_size=-1), "page_size"),
    (dict(region_code="631"), "region_code"), (dict(region_code="ab"), "region_code"),
    (dict(agency_id="Dinas PUPR"), "agency_id"), (dict(category="c" * 101), "category"),
    (dict(query="q" * 201), "query"), (dict(query="jalan\x00rusak"), "query"),
    (dict(statuses=[pb.REPORT_STATUS_UNSPECIFIED]), "statuses"), (dict(statuses=[42]), "statuses"),
    (dict(submitted_after=at(T0), submitted_before=at(T0)), "submitted_before"),
    (dict(submitted_after=Timestamp(seconds=-10**15)), "submitted_after"),
    (dict(page_token="not-a-token"), "page_token"),
])
def test_a_bad_request_names_the_field(stub, fields, field):
    with pytest.raises(grpc.RpcError) as e:
        feed(stub, **fields)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field


def test_any_authenticated_caller_may_read_the_feed_and_no_one_else(stub):
    tracking_id = publish(stub)
    for metadata in (PORTAL, LIAISON, reporter("LAP-AAAA0001"), caller("process_analyst", "pa-1")):
        assert feed_ids(stub, metadata=metadata) == [tracking_id]
    with pytest.raises(grpc.RpcError) as e:
        feed(stub, metadata=())
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_feed_shows_support_counts(stub):
    tracking_id = publish(stub)
    support(stub, tracking_id, "a")
    support(stub, tracking_id, "b")
    assert [r.support_count for r in feed(stub).reports] == [2]


def test_a_report_submitted_before_a_moment_but_published_after_it_is_found_by_both_sides(stub, clock):
    held = submit(stub, "held")  # held back for two days before it was forwarded
    clock.advance(timedelta(days=2))
    prompt = publish(stub, "prompt")
    clock.advance(timedelta(minutes=5))
    forward(stub, held)
    day = T0 + timedelta(days=1)
    assert feed_ids(stub, submitted_before=at(day)) == [held]
    assert feed_ids(stub, submitted_after=at(day)) == [prompt]
    assert feed_ids(stub, submitted_before=at(day + timedelta(days=2))) == [held, prompt]  # newest published first
    assert feed_ids(stub, submitted_before=at(day), query="jalan berlubang") == [held]
    pages = [feed(stub, submitted_before=at(day + timedelta(days=2)), page_size=1)]
    pages.append(feed(stub, submitted_before=at(day + timedelta(days=2)), page_size=1,
                      page_token=pages[0].next_page_token))
    assert [p.reports[0].tracking_id for p in pages] == [held, prompt] and not pages[1].next_page_token


def test_a_report_is_never_published_before_it_was_submitted(stub, clock, database_url):
    tracking_id = submit(stub)
    clock.set(T0 - timedelta(days=30))  # a demo clock set back
    report = forward(stub, tracking_id)
    assert report.published_at == report.submitted_at
    with pytest.raises(psycopg.errors.CheckViolation), psycopg.connect(database_url) as conn:
        conn.execute("UPDATE intake.reports SET published_at = submitted_at - interval '1 second'")
