"""One published report as the public sees it, with its public timeline, and the redaction of stored
public text under new rules, through a real gRPC server and PostgreSQL."""

from datetime import timedelta, timezone

import grpc
import psycopg
import pytest

from services.intake import redaction
from services.intake.publication_service import PublicTextRefresh
from services.intake.service import IntakeService
from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (ADMIN, AGENCY_NAME, complete, feed, feed_ids, field_violation, follow_up,
                                  forward, publish, published, reply, reporter, set_status, submit, support)

REDACTED = "[disembunyikan]"
SITI = pb.Reporter(name="Siti Rahmah", phone="0812-3456-7890", email="siti@contoh.id")


def test_a_published_report_shows_its_public_timeline_redacted_with_authors_named_for_the_public(stub, clock):
    tracking_id = submit(stub, reporter=SITI, anonymous=True)
    set_status(stub, tracking_id, pb.REPORT_STATUS_NEEDS_COMPLETION, reason="Mohon sertakan lokasi persis.")
    complete(stub, tracking_id, body="Di depan rumah saya, Jl. Melati 5, WA 0812-3456-7890.")
    forward(stub, tracking_id)
    follow_up(stub, tracking_id, body="Yth. Ibu Siti Rahmah, perbaikan dijadwalkan. Info: 0511-21234 / "
                                      "humas@pupr.tanahbumbukab.go.id")
    reply(stub, tracking_id, body="Terima kasih. Saya Siti Rahmah, NIK 6310 0123 4567 0001.")
    clock.advance(timedelta(days=2))
    last = follow_up(stub, tracking_id, key="fu-2", body="Sudah diperbaiki, silakan cek.")
    reply(stub, tracking_id, key="re-2", body="Masih bocor di sisi timur.", metadata=ADMIN)

    report = published(stub, tracking_id)
    assert [(e.kind, e.author, e.body) for e in report.timeline] == [
        ("submitted", "Pelapor", ""),
        ("status", "Sistem", "Mohon sertakan lokasi persis."),
        ("status", "Sistem", AGENCY_NAME),
        ("follow_up", AGENCY_NAME, f"Yth. Ibu {REDACTED}, perbaikan dijadwalkan. Info: 0511-21234 / {REDACTED}"),
        ("reply", "Pelapor", f"Terima kasih. Saya {REDACTED}, NIK {REDACTED}."),
        ("follow_up", AGENCY_NAME, "Sudah diperbaiki, silakan cek."),
        ("reply", "Administrator", "Masih bocor di sisi timur."),
    ]  # and no completion: the reporter's added details may say who they are
    assert [e.status for e in report.timeline if e.kind == "status"] == [
        pb.REPORT_STATUS_NEEDS_COMPLETION, pb.REPORT_STATUS_FORWARDED]
    assert (report.status, report.anonymous, report.agency_name) == (pb.REPORT_STATUS_FORWARDED, True, AGENCY_NAME)
    assert report.updated_at.ToDatetime(tzinfo=timezone.utc) >= last.created_at.ToDatetime(tzinfo=timezone.utc)
    wire = report.SerializeToString()
    for identity in (b"Siti", b"Rahmah", b"siti@contoh.id", b"3456-7890", b"Melati"):
        assert identity not in wire


def test_the_published_report_and_its_feed_entry_agree(stub):
    tracking_id = publish(stub, has_location=True, latitude=-3.4167, longitude=115.9667)
    follow_up(stub, tracking_id)
    support(stub, tracking_id)
    [listed] = feed(stub).reports
    report = published(stub, tracking_id)
    assert report.timeline and not listed.timeline
    del report.timeline[:]
    assert report == listed
    assert (report.has_location, report.support_count, report.status) == (True, 1, pb.REPORT_STATUS_FOLLOWED_UP)


def test_unknown_unpublished_and_confidential_reports_are_all_not_found_alike(stub, database_url):
    waiting = submit(stub, "k1")
    confidential = publish(stub, "k2", confidential=True)
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE intake.reports SET published = true, published_at = submitted_at "
                     "WHERE tracking_id = %s", (confidential,))
    answers = []
    for tracking_id in ("LAP-ZZZZZZZZ", waiting, confidential):
        with pytest.raises(grpc.RpcError) as e:
            published(stub, tracking_id)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        answers.append(e.value.details().replace(tracking_id, "?"))
    assert len(set(answers)) == 1
    with pytest.raises(grpc.RpcError) as e:
        published(stub, "LAP-OOOOOOOO")
    assert field_violation(e.value) == "tracking_id"


def test_an_archived_report_stays_public_once_published(stub):
    tracking_id = publish(stub)
    set_status(stub, tracking_id, pb.REPORT_STATUS_ARCHIVED, reason="Sudah ditangani")
    assert published(stub, tracking_id).status == pb.REPORT_STATUS_ARCHIVED
    assert published(stub, tracking_id, metadata=reporter(tracking_id)).tracking_id == tracking_id


def test_public_text_written_under_older_rules_is_redacted_again(stub, database_url, pool, clock):
    tracking_id = publish(stub, title="Hubungi 0812-3456-7890", description="Bukti ke siti@contoh.id ya.",
                          location_text="Rumah Siti Rahmah", reporter=SITI)
    others = [publish(stub, f"k{i}") for i in range(4)]
    with psycopg.connect(database_url) as conn:  # as rows stood before redaction existed
        conn.execute("UPDATE intake.reports SET public_title = title, public_description = description, "
                     "public_location_text = location_text, redaction_version = 0, "
                     "search_document = to_tsvector('indonesian', title || ' ' || description)")
    assert feed_ids(stub, query="siti@contoh.id") == [tracking_id]  # what the refresh is there to end
    [item] = [r for r in feed(stub).reports if r.tracking_id == tracking_id]
    assert item.title == f"Hubungi {REDACTED}"  # today's rules apply on the way out meanwhile
    worker = PublicTextRefresh(IntakeService(pool=pool, clock=clock).publication, batch=2)
    assert [worker.run_once() for _ in range(4)] == [1, 1, 1, 0]  # 5 reports, 2 a batch, then done
    assert feed_ids(stub, query="siti@contoh.id") == []
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT public_title, public_description, public_location_text FROM intake.reports "
                              "WHERE tracking_id = %s", (tracking_id,)).fetchone()
        versions = conn.execute("SELECT array_agg(DISTINCT redaction_version) FROM intake.reports").fetchone()[0]
    assert stored == (f"Hubungi {REDACTED}", f"Bukti ke {REDACTED} ya.", f"Rumah {REDACTED}")
    assert versions == [redaction.VERSION]
    assert sorted(feed_ids(stub, query="jalan berlubang")) == sorted(others)
