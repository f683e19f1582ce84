"""Intake's migrations bring the rows stored before them up to the current contract."""

import shutil

import psycopg
import pytest

from services.plumbing import db
from tests.support import ROOT

MIGRATIONS = ROOT / "services" / "intake" / "migrations"


def test_reporters_stored_before_access_codes_keep_their_number_as_e164_digits_and_have_no_code(make_database,
                                                                                                  tmp_path):
    url = make_database()
    for name in ("001_reports.sql", "002_publication.sql"):
        shutil.copy(MIGRATIONS / name, tmp_path / name)
    db.migrate(url, schema="intake", folder=tmp_path, outbox=True)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO intake.reports (tracking_id, channel, idempotency_key, type, title, description, "
                     "language, status, submitted_at) VALUES ('LAP-AAAA0001', 'sms', 'k', 'complaint', 'Jalan rusak', "
                     "'Lubang besar di jalan.', 'id', 'in_verification', now())")
        conn.execute("INSERT INTO intake.reporters (tracking_id, phone) VALUES ('LAP-AAAA0001', '+6281234567890')")
    applied = db.migrate(url, schema="intake", folder=MIGRATIONS, outbox=True)
    assert applied[0] == "003_reporters_access_attachments.sql"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT p.phone, r.access_code_hash, r.account_id FROM intake.reporters p "
                            "JOIN intake.reports r USING (tracking_id)").fetchone() == ("6281234567890", None, None)


def test_reports_stored_before_the_verification_console_keep_their_title_as_the_reporters(make_database, tmp_path):
    url = make_database()
    for name in ("001_reports.sql", "002_publication.sql", "003_reporters_access_attachments.sql"):
        shutil.copy(MIGRATIONS / name, tmp_path / name)
    db.migrate(url, schema="intake", folder=tmp_path, outbox=True)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO intake.reports (tracking_id, channel, idempotency_key, type, title, description, "
                     "language, status, submitted_at) VALUES ('LAP-AAAA0001', 'sms', 'k', 'complaint', 'Jalan rusak', "
                     "'Lubang besar di jalan.', 'id', 'in_verification', now())")
    assert db.migrate(url, schema="intake", folder=MIGRATIONS, outbox=True)[0] == "004_verification_console.sql"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT title, original_title FROM intake.reports").fetchone() == ("Jalan rusak", None)


def test_attachments_stored_before_follow_ups_had_files_stay_the_reports_own(make_database, tmp_path):
    url = make_database()
    for name in ("001_reports.sql", "002_publication.sql", "003_reporters_access_attachments.sql",
                 "004_verification_console.sql"):
        shutil.copy(MIGRATIONS / name, tmp_path / name)
    db.migrate(url, schema="intake", folder=tmp_path, outbox=True)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO intake.reports (tracking_id, channel, idempotency_key, type, title, description, "
                     "language, status, submitted_at) VALUES ('LAP-AAAA0001', 'web', 'k', 'complaint', 'Jalan rusak', "
                     "'Lubang besar di jalan.', 'id', 'in_verification', now())")
        conn.execute("INSERT INTO intake.attachments (tracking_id, number, filename, content_type, size, sha256, "
                     "content) VALUES ('LAP-AAAA0001', 5, 'foto.png', 'image/png', 3, sha256('abc'), 'abc')")
    assert db.migrate(url, schema="intake", folder=MIGRATIONS, outbox=True) == ["005_follow_up_attachments.sql"]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT number, entry_id FROM intake.attachments").fetchall() == [(5, None)]
        conn.execute("INSERT INTO intake.attachments (tracking_id, number, filename, content_type, size, sha256, "
                     "content) VALUES ('LAP-AAAA0001', 9999, 'b.png', 'image/png', 3, sha256('abc'), 'abc')")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO intake.attachments (tracking_id, number, filename, content_type, size, sha256, "
                         "content) VALUES ('LAP-AAAA0001', 10000, 'c.png', 'image/png', 3, sha256('abc'), 'abc')")
