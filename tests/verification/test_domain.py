"""The rules of a decision, without I/O."""

from datetime import datetime, timezone

from services.intake import domain as intake_domain
from services.verification.domain import (ARCHIVE_REASONS, MAX_REASON, TITLE_LENGTH, ArchiveReason, Decision,
                                          Outcome)

T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)
NOTIFY_MAX_PARAM = 500  # notify's bound on a notification param (services/notify/domain.MAX_PARAM_VALUE)


def decision(**fields) -> Decision:
    values = dict(id="1", tracking_id="LAP-AAAA0001", outcome=Outcome.ARCHIVE, reason="", category="", agency_id="",
                  duplicate_of="", decided_by="admin-1", decided_at=T0) | fields
    return Decision(**values)


def test_an_edited_title_is_held_to_the_bounds_intake_holds_titles_to():
    # Verification refuses what intake would refuse when the process forwards the report: otherwise the
    # forwarding step would fail for good after the decision was taken.
    assert TITLE_LENGTH == intake_domain.TITLE_LENGTH


def test_every_reason_the_reporter_reads_fits_in_a_notification():
    from services.notify.domain import MAX_PARAM_VALUE
    assert MAX_PARAM_VALUE == NOTIFY_MAX_PARAM
    for label in ARCHIVE_REASONS:
        longest = decision(archive_reason=label.reason, reason="x" * MAX_REASON)
        assert len(longest.reporter_reason()) <= NOTIFY_MAX_PARAM
    assert len(decision(outcome=Outcome.NEEDS_COMPLETION, reason="x" * MAX_REASON).reporter_reason()) <= 500


def test_an_archive_reason_reads_as_its_label_with_any_text():
    assert decision(archive_reason=ArchiveReason.NOT_PUBLIC_SERVICE).reporter_reason() == (
        "Bukan kewenangan pelayanan publik")
    assert decision(archive_reason=ArchiveReason.FORMAT_ERROR, reason="Isi laporan kosong").reporter_reason() == (
        "Format tidak sesuai: Isi laporan kosong")
    assert decision(outcome=Outcome.HOLD, reason="Menunggu data").reporter_reason() == "Menunggu data"
