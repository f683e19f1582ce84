"""E-mail delivery against a real SMTP server, with the reporter's address asked from a fake intake over gRPC."""

import email
import time
from datetime import timedelta

import psycopg
import pytest

from services.notify import repository
from services.notify.domain import Channel
from services.notify.senders import message_id
from sp4n.intake.v1 import intake_pb2
from tests.notify.fakes import assert_waits_its_turn, MAIL_FROM, SITI, TRACKING_ID, send

BASE = timedelta(seconds=60)  # the worker fixture's first back-off


def email_row(database_url) -> dict:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM notify.notifications WHERE channel = 'email'").fetchone()


def test_the_email_arrives_with_the_rendered_subject(stub, worker, smtp, clock, database_url):
    in_app = send(stub, event="forwarded", params={"agency": "Dinas PUPR Kabupaten Tanah Bumbu"})
    assert worker.run_once() == 1
    [mail] = smtp.mailbox.messages
    assert mail["Subject"] == in_app.subject == f"Laporan {TRACKING_ID} telah diteruskan"
    assert (mail["To"], mail["From"], mail["Content-Language"]) == (SITI.email, MAIL_FROM, "id")
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].startswith("<sp4n-notify-") and mail["Message-ID"].endswith("@lapor.go.id>")
    assert "diteruskan kepada Dinas PUPR Kabupaten Tanah Bumbu" in mail.get_content()
    row = email_row(database_url)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, "")
    assert abs(row["sent_at"] - clock.now()) < timedelta(seconds=5)
    assert worker.run_once() == 0 and len(smtp.mailbox.messages) == 1


def test_the_address_is_asked_from_intake_when_sending(stub, worker, smtp, intake):
    send(stub)
    intake.contacts[TRACKING_ID] = intake_pb2.ReporterContact(email="siti.baru@example.id", language="en")
    worker.run_once()
    [mail] = smtp.mailbox.messages
    assert mail["To"] == "siti.baru@example.id"
    assert mail["Content-Language"] == "id"  # rendered when the event happened, in the language of then


def test_an_smtp_outage_is_retried_with_back_off_and_delivered_exactly_once(stub, worker, smtp, clock,
                                                                            database_url):
    smtp.stop()
    send(stub)
    assert worker.run_once() == 1
    row = email_row(database_url)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "ConnectionRefusedError" in row["last_error"]
    assert_waits_its_turn(row["next_attempt_at"], clock.now(), BASE)
    assert worker.run_once() == 0  # not due yet

    clock.advance(BASE + timedelta(seconds=1))
    assert worker.run_once() == 1  # still down: the wait doubles
    row = email_row(database_url)
    assert (row["status"], row["attempts"]) == ("pending", 2)
    assert_waits_its_turn(row["next_attempt_at"], clock.now(), 2 * BASE)

    smtp.start()
    assert worker.run_once() == 0  # back, but the e-mail waits for its turn
    clock.advance(2 * BASE + timedelta(seconds=1))
    assert worker.run_once() == 1
    row = email_row(database_url)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, "")
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0
    assert len(smtp.mailbox.messages) == 1


def test_after_eight_failed_attempts_the_email_fails_for_good(stub, worker, smtp, clock, database_url):
    smtp.stop()
    send(stub)
    for attempt in range(1, 9):
        assert worker.run_once() == 1
        assert email_row(database_url)["attempts"] == attempt
        clock.advance(timedelta(hours=7))  # beyond the longest back-off
    row = email_row(database_url)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", 8, None)
    assert row["last_error"].startswith("gave up after 8 attempts: ConnectionRefusedError")
    smtp.start()
    assert worker.run_once() == 0 and smtp.mailbox.messages == []


def test_a_repeated_request_sends_one_email(stub, worker, smtp, clock):
    for key in ("n1", "n1", "n2"):
        send(stub, key=key, event="closed")
    assert worker.run_once() == 1
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0
    assert [m["Subject"] for m in smtp.mailbox.messages] == [f"Laporan {TRACKING_ID} telah selesai"]


def test_an_address_the_mail_server_refuses_fails_at_once(stub, worker, smtp, clock, database_url):
    smtp.mailbox.refuse.add(SITI.email)
    send(stub)
    assert worker.run_once() == 1
    row = email_row(database_url)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "refused the address" in row["last_error"] and "550" in row["last_error"]
    assert SITI.email not in row["last_error"]  # staff read it and it is logged: the server quotes the address
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0


def test_a_reporter_who_removed_their_address_is_not_mailed(stub, worker, smtp, intake, database_url):
    send(stub)
    intake.contacts[TRACKING_ID] = intake_pb2.ReporterContact(phone=SITI.phone, language="id")
    assert worker.run_once() == 1
    row = email_row(database_url)
    assert (row["status"], row["last_error"]) == ("failed", "the reporter has no e-mail address any more")
    assert smtp.mailbox.messages == []


def test_intake_failing_at_send_time_is_retried_later(stub, worker, smtp, intake, clock, database_url):
    send(stub)
    intake.failing = True
    assert worker.run_once() == 1
    row = email_row(database_url)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "intake did not give the reporters' contacts" in row["last_error"]
    intake.failing = False
    clock.advance(BASE + timedelta(seconds=1))
    assert worker.run_once() == 1
    assert email_row(database_url)["status"] == "sent" and len(smtp.mailbox.messages) == 1


def test_the_attempt_is_committed_as_sending_before_the_message_is_handed_over(stub, worker, smtp,
                                                                              database_url):
    seen = []
    email_sender = worker.channel(Channel.EMAIL).sender
    smtp_mailer = email_sender.mailer

    class Watching:
        def send(self, message):
            seen.append(email_row(database_url)["status"])  # read from another connection: committed state
            smtp_mailer.send(message)

        close = smtp_mailer.close

    email_sender.mailer = Watching()
    send(stub)
    worker.run_once()
    assert seen == ["sending"] and email_row(database_url)["status"] == "sent"


def test_a_crash_while_handing_the_message_to_smtp_is_not_sent_again(stub, worker, smtp, clock, database_url,
                                                                    pool):
    send(stub)
    with pool.connection() as conn:  # what a worker leaves behind when it dies during the SMTP conversation
        claimed = repository.claim_due(conn, channels=[Channel.EMAIL], now=clock.now(), claim_until=clock.now(),
                                       limit=10)
        assert repository.mark_sending(conn, claimed, lease_until=clock.now() + timedelta(
            seconds=worker.lease_seconds)) == {n.id for n in claimed}
    assert worker.run_once() == 0
    clock.advance(timedelta(seconds=worker.lease_seconds + 1))
    assert worker.run_once() == 0
    row = email_row(database_url)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "outcome unknown" in row["last_error"]
    assert smtp.mailbox.messages == []


def test_a_crash_before_the_hand_over_is_tried_again_when_the_claim_runs_out(stub, worker, smtp, clock,
                                                                            database_url, pool):
    send(stub)
    with pool.connection() as conn:  # a worker that claimed the e-mail and died before sending
        repository.claim_due(conn, channels=[Channel.EMAIL], now=clock.now(),
                             claim_until=clock.now() + timedelta(seconds=120), limit=10)
    assert worker.run_once() == 0
    clock.advance(timedelta(seconds=121))
    assert worker.run_once() == 1
    row = email_row(database_url)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert len(smtp.mailbox.messages) == 1


def test_an_email_sent_but_not_recorded_as_sent_is_not_sent_again(stub, worker, smtp, clock, database_url,
                                                                  monkeypatch):
    def database_gone(*args, **kwargs):
        raise OSError("connection to the database lost")

    send(stub)
    with monkeypatch.context() as patched:
        patched.setattr(repository, "mark_sent", database_gone)
        assert worker.run_once() == 1
    assert email_row(database_url)["status"] == "sending"
    clock.advance(timedelta(seconds=worker.lease_seconds + 1))
    worker.run_once()
    assert email_row(database_url)["status"] == "failed"
    assert len(smtp.mailbox.messages) == 1


def test_an_email_whose_last_allowed_attempt_was_abandoned_fails(stub, worker, smtp, clock, database_url, pool):
    send(stub)
    with pool.connection() as conn:  # seven failed attempts, then an eighth claimed by a worker that died
        conn.execute("UPDATE notify.notifications SET attempts = 7 WHERE channel = 'email'")
        repository.claim_due(conn, channels=[Channel.EMAIL], now=clock.now(),
                             claim_until=clock.now() + timedelta(seconds=120), limit=10)
    clock.advance(timedelta(seconds=121))
    assert worker.run_once() == 0
    row = email_row(database_url)
    assert (row["status"], row["attempts"]) == ("failed", 8)
    assert "abandoned" in row["last_error"]
    assert smtp.mailbox.messages == []


def test_every_attempt_carries_the_same_message_id(stub, worker, pool):
    send(stub)
    with pool.connection() as conn:
        [notification] = [n for n in repository.for_report(conn, TRACKING_ID) if n.channel.value == "email"]
    sender = worker.channel(Channel.EMAIL).sender
    first, second = (email.message_from_bytes(sender.message(notification, [SITI.email]).data) for _ in range(2))
    assert first["Message-ID"] == second["Message-ID"] == message_id(notification, MAIL_FROM)


def test_the_running_worker_delivers_as_soon_as_a_notification_is_queued(stub, worker, smtp, database_url):
    worker.start()
    send(stub, event="follow_up_posted")
    deadline = time.monotonic() + 10
    while not smtp.mailbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert [m["Subject"] for m in smtp.mailbox.messages] == [f"Tindak lanjut atas laporan {TRACKING_ID}"]
    assert email_row(database_url)["status"] == "sent"


@pytest.mark.parametrize("address", ["not-an-address", "siti@example.id\r\nBcc: x@example.id"])
def test_an_unusable_address_from_intake_is_not_used(stub, worker, smtp, intake, database_url, address):
    send(stub)
    intake.contacts[TRACKING_ID] = intake_pb2.ReporterContact(email=address, language="id")
    worker.run_once()
    assert email_row(database_url)["status"] == "failed"
    assert smtp.mailbox.messages == []
