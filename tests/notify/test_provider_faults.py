"""Providers that fail: an SMTP server stopped during a burst and started again, an SMS gateway answering
500s until the last attempt and a staff resend from the dead letters, a gateway that hangs while e-mail
goes on. Real SMTP (aiosmtpd) and HTTP servers on free ports; notify over gRPC and PostgreSQL."""

import time
from collections import Counter
from datetime import timedelta

import grpc
import psycopg
import pytest

from services.notify.domain import Channel
from services.notify.senders import SmsSender
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2 as pb
from tests.notify.fakes import BUDI, SMS_FROM, SMS_PASSWORD, SMS_USER, reporters, send, wait_until
from tests.support import caller, service_caller

ADMIN = caller("national_admin", "admin-nasional")
BASE = timedelta(seconds=60)  # the worker fixture's first back-off
MAX_ATTEMPTS = 8


def rows(database_url, channel: str) -> list[dict]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM notify.notifications WHERE channel = %s ORDER BY id", (channel,)).fetchall()


def test_an_smtp_outage_during_a_burst_delivers_everything_once_after_recovery(stub, worker, smtp, intake, clock,
                                                                              database_url):
    ids = reporters(intake, 40, channel="web")
    worker.start()
    for n, tracking_id in enumerate(ids):
        if n == 10:
            wait_until(lambda: len(smtp.mailbox.messages) >= 5)
            smtp.stop()  # the mail server goes down in the middle of the burst
        send(stub, tracking_id=tracking_id, event="received")
    # Each is sent, or has failed an attempt (attempts counts from the claim; last_error says it failed).
    wait_until(lambda: all(r["status"] == "sent" or (r["status"] == "pending" and r["last_error"])
                           for r in rows(database_url, "email")))
    waiting = [r for r in rows(database_url, "email") if r["status"] == "pending"]
    assert len(waiting) >= 30, "the burst after the outage waits in the outbox"
    # Refused connections, and the few that were in the middle of their conversation when it stopped.
    assert all(r["last_error"] for r in waiting)
    assert sum("ConnectionRefusedError" in r["last_error"] for r in waiting) >= 25

    smtp.start()
    clock.advance(BASE + timedelta(seconds=1))  # every first retry is due: jitter keeps them within one turn
    wait_until(lambda: all(r["status"] == "sent" for r in rows(database_url, "email")))
    clock.advance(timedelta(days=1))
    time.sleep(1.0)  # a few more rounds of the running worker: nothing is sent again
    worker.stop()

    delivered = Counter(m["To"] for m in smtp.mailbox.messages)
    assert set(delivered) == {f"pelapor{n}@example.id" for n in range(40)}
    assert set(delivered.values()) == {1}, "no reporter got the message twice"
    assert len({m["Message-ID"] for m in smtp.mailbox.messages}) == 40


def test_a_gateway_answering_500_is_retried_with_back_off_then_dead_lettered_and_resent_once(
        stub, worker, gateway, clock, database_url):
    gateway.status, gateway.body = 500, "Internal Server Error"
    send(stub, tracking_id=BUDI.tracking_id, event="received")
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert worker.run_once() == 1
        [sms] = rows(database_url, "sms")
        assert sms["attempts"] == attempt
        if attempt < MAX_ATTEMPTS:
            assert sms["status"] == "pending" and "HTTP 500" in sms["last_error"]
            waits.append(sms["next_attempt_at"] - clock.now())
            clock.advance(waits[-1] + timedelta(seconds=1))
    # Exponential: each wait lies in the upper half of a turn that doubles from 60 s.
    for n, waited in enumerate(waits):
        turn = BASE * 2 ** n
        assert turn / 2 - timedelta(seconds=5) <= waited <= turn + timedelta(seconds=5), (n, waited)
    assert waits[-1] > 16 * waits[0]
    assert len(gateway.requests) == MAX_ATTEMPTS

    [sms] = rows(database_url, "sms")
    assert (sms["status"], sms["next_attempt_at"]) == ("failed", None)
    assert sms["last_error"].startswith(f"gave up after {MAX_ATTEMPTS} attempts: NotAccepted: the SMS gateway answered HTTP 500")
    clock.advance(timedelta(days=2))
    assert worker.run_once() == 0, "a dead letter is not tried again by itself"

    [dead] = stub.ListDeadLetters(pb.ListDeadLettersRequest(), metadata=ADMIN).notifications
    assert (dead.id, dead.channel, dead.status, dead.attempts) == (str(sms["id"]), "sms", "failed", MAX_ATTEMPTS)
    assert "HTTP 500" in dead.last_error

    gateway.status, gateway.body = 202, "0: Accepted for delivery"
    request = pb.ResendNotificationRequest(idempotency_key="resend-1", notification_id=dead.id)
    resent = stub.ResendNotification(request, metadata=ADMIN)
    assert (resent.status, resent.attempts, resent.resends, resent.resent_by) == ("pending", 0, 1, "admin-nasional")
    assert worker.run_once() == 1
    [sms] = rows(database_url, "sms")
    assert (sms["status"], sms["attempts"], sms["last_error"]) == ("sent", 1, "")
    assert len(gateway.requests) == MAX_ATTEMPTS + 1
    assert [r.query["to"] for r in gateway.requests] == ["+" + BUDI.phone] * (MAX_ATTEMPTS + 1)
    assert list(stub.ListDeadLetters(pb.ListDeadLettersRequest(), metadata=ADMIN).notifications) == []

    # The same request again answers as the first time did and sends nothing more.
    again = stub.ResendNotification(request, metadata=ADMIN)
    assert (again.id, again.status, again.resends) == (dead.id, "sent", 1)
    with pytest.raises(grpc.RpcError) as e:  # a new request for what is no dead letter any more
        stub.ResendNotification(pb.ResendNotificationRequest(idempotency_key="resend-2", notification_id=dead.id),
                                metadata=ADMIN)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "not a dead letter" in e.value.details()
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0 and len(gateway.requests) == MAX_ATTEMPTS + 1


def test_retries_after_an_outage_are_spread_by_jitter(stub, worker, gateway, intake, clock, database_url):
    gateway.status = 503
    for tracking_id in reporters(intake, 12, channel="sms"):
        send(stub, tracking_id=tracking_id, event="received")
    while worker.run_once():
        pass
    waits = [r["next_attempt_at"] - clock.now() for r in rows(database_url, "sms")]
    assert len(waits) == 12
    assert all(BASE / 2 - timedelta(seconds=5) <= w <= BASE + timedelta(seconds=5) for w in waits)
    assert max(waits) - min(waits) > timedelta(seconds=3), "not all due in the same moment"


def test_a_gateway_that_hangs_holds_up_no_email(stub, worker, gateway, smtp, intake, clock, database_url):
    worker.channel(Channel.SMS).sender = SmsSender(url=f"{gateway.url}/cgi-bin/sendsms", user=SMS_USER,
                                                   password=SMS_PASSWORD, sender=SMS_FROM, timeout=4)
    gateway.hang = 6.0  # longer than the sender waits: every SMS times out
    sms_ids = reporters(intake, 6, channel="sms")
    worker.start()
    for tracking_id in sms_ids:
        send(stub, tracking_id=tracking_id, event="received")
    wait_until(lambda: len(gateway.requests) >= 4)  # the SMS channel is stuck on its hanging requests
    started = time.monotonic()
    intake.contacts["LAP-MAIL0001"] = intake_pb2.ReporterContact(tracking_id="LAP-MAIL0001", language="id",
                                                                 email="ani@example.id", channel="web")
    send(stub, tracking_id="LAP-MAIL0001", event="received")
    wait_until(lambda: len(smtp.mailbox.messages) == 1, timeout=10)
    assert time.monotonic() - started < 2.0, "the e-mail did not wait for the SMS gateway"
    # Several SMS were in the air at once: one hanging request does not hold up the next.
    assert len(gateway.requests) >= 4
    wait_until(lambda: all(r["status"] == "failed" for r in rows(database_url, "sms")), timeout=40)
    worker.stop()
    # A request that timed out may have been taken: at most once, a dead letter for staff to judge.
    assert all("no answer" in r["last_error"] or "timed out" in r["last_error"] for r in rows(database_url, "sms"))


@pytest.mark.parametrize("metadata", [caller("agency_admin", "adm-1", "kab-tanah-bumbu"),
                                      caller("liaison_officer", "lo-1", "kab-tanah-bumbu"),
                                      caller("process_analyst", "analis"), caller("reporter", BUDI.tracking_id),
                                      service_caller("sla"), service_caller("portal")])
def test_only_a_national_administrator_resends_and_nothing_changes_otherwise(stub, worker, gateway, database_url,
                                                                            metadata):
    gateway.status = 500
    send(stub, tracking_id=BUDI.tracking_id, event="received")
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE notify.notifications SET status = 'failed', attempts = 8 WHERE channel = 'sms'")
    [sms] = rows(database_url, "sms")
    with pytest.raises(grpc.RpcError) as e:
        stub.ResendNotification(pb.ResendNotificationRequest(idempotency_key="k", notification_id=str(sms["id"])),
                                metadata=metadata)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert rows(database_url, "sms") == [sms]


@pytest.mark.parametrize("notification_id, code", [("12345", grpc.StatusCode.NOT_FOUND),
                                                   ("", grpc.StatusCode.INVALID_ARGUMENT),
                                                   ("1; DROP TABLE", grpc.StatusCode.INVALID_ARGUMENT)])
def test_resending_what_is_not_there_is_refused(stub, notification_id, code):
    with pytest.raises(grpc.RpcError) as e:
        stub.ResendNotification(pb.ResendNotificationRequest(idempotency_key="k", notification_id=notification_id),
                                metadata=ADMIN)
    assert e.value.code() == code


def test_dead_letters_page_and_filter_by_channel(stub, worker, gateway, smtp, intake, database_url):
    sms_ids = reporters(intake, 3, channel="sms")
    for tracking_id in sms_ids:
        send(stub, tracking_id=tracking_id, event="received")
    send(stub, event="received")  # Siti, by e-mail
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE notify.notifications SET status = 'failed' WHERE channel <> 'in_app'")
    first = stub.ListDeadLetters(pb.ListDeadLettersRequest(page_size=2), metadata=ADMIN)
    second = stub.ListDeadLetters(pb.ListDeadLettersRequest(page_size=2, page_token=first.next_page_token),
                                  metadata=ADMIN)
    assert [n.channel for n in first.notifications] == ["email", "sms"] and first.next_page_token
    assert [n.channel for n in second.notifications] == ["sms", "sms"] and not second.next_page_token
    ids = [int(n.id) for n in [*first.notifications, *second.notifications]]
    assert ids == sorted(ids, reverse=True)
    only_sms = stub.ListDeadLetters(pb.ListDeadLettersRequest(channel="sms"), metadata=ADMIN).notifications
    assert [n.tracking_id for n in only_sms] == list(reversed(sms_ids))
    for request in (pb.ListDeadLettersRequest(channel="fax"), pb.ListDeadLettersRequest(page_token="bogus"),
                    pb.ListDeadLettersRequest(page_size=-1)):
        with pytest.raises(grpc.RpcError) as e:
            stub.ListDeadLetters(request, metadata=ADMIN)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
