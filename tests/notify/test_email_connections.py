"""The SMTP connection of a sending thread is kept between messages, and a connection the server has
closed meanwhile is replaced without losing or repeating a message. Real SMTP server (aiosmtpd)."""

import threading
from datetime import timedelta


from services.notify.senders import Mail, SmtpMailer
from tests.notify.fakes import MAIL_FROM, email_rows, reporters, send, wait_until

MESSAGE = b"From: noreply@lapor.go.id\r\nTo: ani@example.id\r\nSubject: Uji\r\n\r\nHalo.\r\n"


def test_one_connection_carries_the_emails_of_one_sending_thread(stub, worker, smtp, intake, clock):
    for tracking_id in reporters(intake, 3):
        send(stub, tracking_id=tracking_id)
        assert worker.run_once() == 1  # one at a time: sent from the worker's own thread
        clock.advance(timedelta(seconds=1))
    assert len(smtp.mailbox.messages) == 3
    assert len(set(smtp.mailbox.peers)) == 1, "a new connection per e-mail"


def test_a_connection_the_server_closed_is_replaced_and_the_email_sent_once(stub, worker, smtp, intake,
                                                                           database_url):
    first, second = reporters(intake, 2)
    send(stub, tracking_id=first)
    assert worker.run_once() == 1
    smtp.stop()  # the server goes away and comes back: the kept connection is closed under the worker
    smtp.start()
    send(stub, tracking_id=second)
    assert worker.run_once() == 1
    assert [m["To"] for m in smtp.mailbox.messages] == ["pelapor0@example.id", "pelapor1@example.id"]
    assert len(set(smtp.mailbox.peers)) == 2
    # Sent on this attempt, over the new connection; not left for a retry.
    assert [(r["status"], r["attempts"], r["last_error"]) for r in email_rows(database_url)] == [("sent", 1, "")] * 2


def test_a_connection_lost_after_the_message_went_over_it_is_not_used_to_send_it_again(stub, worker, smtp, intake,
                                                                                     clock, database_url):
    first, second = reporters(intake, 2)
    send(stub, tracking_id=first)
    assert worker.run_once() == 1
    smtp.mailbox.drop_after_data = True  # the server keeps the next message and hangs up before answering
    send(stub, tracking_id=second)
    assert worker.run_once() == 1
    assert [m["To"] for m in smtp.mailbox.messages] == ["pelapor0@example.id", "pelapor1@example.id"]
    sent, lost = email_rows(database_url)
    assert sent["status"] == "sent"
    # Not sent again over a new connection at once: the failed attempt waits for its back-off, as any
    # error while the message was being handed over does.
    assert (lost["status"], lost["attempts"]) == ("pending", 1) and "SMTPServerDisconnected" in lost["last_error"]
    assert lost["next_attempt_at"] > clock.now()


def test_stopping_the_worker_says_goodbye_on_the_kept_connection(stub, worker, smtp):
    send(stub)
    worker.run_once()
    assert smtp.mailbox.quits == []
    worker.stop()
    wait_until(lambda: smtp.mailbox.quits == smtp.mailbox.peers)


def test_closing_leaves_a_connection_in_the_middle_of_a_message_to_its_thread(smtp):
    mailer = SmtpMailer(host="127.0.0.1", port=smtp.port, timeout=5)
    smtp.mailbox.answer_after = 1.0
    sending = threading.Thread(target=mailer.send, args=(Mail(MAIL_FROM, ("ani@example.id",), MESSAGE),))
    sending.start()
    wait_until(lambda: smtp.mailbox.messages)  # the message is in; its answer is a second away
    mailer.close()
    sending.join()
    assert len(smtp.mailbox.messages) == 1
    assert smtp.mailbox.messages[0].get_content().strip() == "Halo."  # no QUIT in the middle of it
    wait_until(lambda: smtp.mailbox.quits == smtp.mailbox.peers)  # said by the thread, after its message
