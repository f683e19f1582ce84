"""What is due is delivered in batches: the reporters' contacts asked from intake in one call, the agency
directory once per agency, and each lane's attempts recorded in two transactions, not two per message;
what went wrong with one notification stays with it. A real SMTP server, a fake intake and directory
over gRPC, PostgreSQL."""

from collections import Counter
from datetime import timedelta

import pytest

from services.notify import repository
from services.notify.domain import Channel
from sp4n.intake.v1 import intake_pb2
from tests.notify.fakes import email_rows, reporters, send, wait_until

PUPR = "kab-tanah-bumbu-dinas-pupr"


def counting(monkeypatch, *names: str) -> Counter:
    """Counts the calls of repository functions `names` (each one SQL statement)."""
    calls: Counter = Counter()
    for name in names:
        def counted(*args, _real=getattr(repository, name), _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(repository, name, counted)
    return calls


def test_the_contacts_of_a_batch_are_asked_from_intake_in_one_call(stub, worker, smtp, intake, directory):
    for tracking_id in reporters(intake, 6):
        send(stub, tracking_id=tracking_id)
    send(stub, event="new_assignment", recipient="agency", agency_id=PUPR)
    send(stub, event="deadline_missed", recipient="agency", agency_id=PUPR, params={"deadline": "tindak lanjut"})
    intake.methods.clear()
    directory.asked.clear()
    assert worker.run_once() == 8
    assert intake.methods == ["GetReporterContacts"] and intake.callers[-1] == "notify"
    assert directory.asked == [PUPR]  # once for the agency's two e-mails
    assert sorted(m["To"] for m in smtp.mailbox.messages)[:6] == [f"pelapor{n}@example.id" for n in range(6)]
    assert len(smtp.mailbox.messages) == 8


@pytest.mark.parametrize("count, lanes", [(1, 1), (3, 1), (12, 3), (20, 4)])
def test_each_lane_records_its_attempts_in_one_statement_before_and_one_after(stub, worker, smtp, intake,
                                                                               database_url, monkeypatch, count,
                                                                               lanes):
    for tracking_id in reporters(intake, count):
        send(stub, tracking_id=tracking_id)
    calls = counting(monkeypatch, "get", "mark_sending", "mark_sent")
    assert worker.run_once() == count
    # Lanes of up to 5 (a batch of 20 over 4 sending threads), filled before the next is opened.
    assert calls == {"mark_sending": lanes, "mark_sent": lanes}, "not one per message"
    assert [(r["status"], r["attempts"]) for r in email_rows(database_url)] == [("sent", 1)] * count
    assert Counter(m["To"] for m in smtp.mailbox.messages) == {f"pelapor{n}@example.id": 1 for n in range(count)}


def test_what_goes_wrong_with_one_notification_of_a_batch_stays_with_it(stub, worker, smtp, intake, database_url):
    ids = reporters(intake, 4)
    for tracking_id in ids:
        send(stub, tracking_id=tracking_id)
    del intake.contacts[ids[1]]  # intake no longer knows the report
    intake.contacts[ids[2]] = intake_pb2.ReporterContact(tracking_id=ids[2], language="id")  # address removed
    smtp.mailbox.refuse.add("pelapor3@example.id")
    assert worker.run_once() == 4
    assert [(r["tracking_id"], r["status"]) for r in email_rows(database_url)] == [
        (ids[0], "sent"), (ids[1], "failed"), (ids[2], "failed"), (ids[3], "failed")]
    errors = [r["last_error"] for r in email_rows(database_url)]
    assert errors[0] == "" and errors[1] == f"intake knows no report {ids[1]}"
    assert errors[2] == "the reporter has no e-mail address any more"
    assert errors[3].startswith("the mail server refused the address") and "pelapor3" not in errors[3]
    assert [m["To"] for m in smtp.mailbox.messages] == ["pelapor0@example.id"]


def test_intake_unavailable_for_a_batch_leaves_its_reporters_emails_for_a_retry_and_the_agencys_goes(
        stub, worker, smtp, intake, database_url):
    for tracking_id in reporters(intake, 3):
        send(stub, tracking_id=tracking_id)
    send(stub, event="new_assignment", recipient="agency", agency_id=PUPR)
    intake.failing = True
    assert worker.run_once() == 4
    to_reporters, [to_agency] = email_rows(database_url)[:3], email_rows(database_url)[3:]
    assert all(r["status"] == "pending" and "intake did not give" in r["last_error"] for r in to_reporters)
    assert to_agency["status"] == "sent" and len(smtp.mailbox.messages) == 1


def test_a_burst_queued_while_the_worker_gathers_goes_in_one_batch(stub, worker, smtp, intake):
    ids = reporters(intake, 5)
    worker.channel(Channel.EMAIL).gather_seconds = 2.0  # longer than the burst takes to queue
    worker.start()
    intake.methods.clear()
    for tracking_id in ids:
        send(stub, tracking_id=tracking_id)
    wait_until(lambda: len(smtp.mailbox.messages) == 5, timeout=10)
    worker.stop()
    assert intake.methods == ["GetReporterContact"] * 5 + ["GetReporterContacts"]  # queueing each, then one batch


def test_interrupted_and_abandoned_attempts_are_looked_for_at_most_every_ten_seconds(stub, worker, smtp, intake,
                                                                                      clock, monkeypatch):
    calls = counting(monkeypatch, "fail_interrupted", "fail_abandoned", "claim_due")
    for tracking_id in reporters(intake, 3):
        send(stub, tracking_id=tracking_id)
        worker.run_once()
    assert calls["claim_due"] == 3 * len(worker.channels)
    assert calls["fail_interrupted"] == calls["fail_abandoned"] == len(worker.channels)
    clock.advance(timedelta(seconds=11))
    worker.run_once()
    assert calls["fail_interrupted"] == calls["fail_abandoned"] == 2 * len(worker.channels)
