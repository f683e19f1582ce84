"""SMS through the SMS gateway's sendsms API and replies on X through the X API, each against a local
HTTP server that records what it is sent; the reporter's contact is asked from a fake intake over gRPC."""

import json
import logging
from datetime import timedelta

import psycopg
import pytest

from services.notify.domain import Channel
from services.notify.senders import SmsSender
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2
from tests.notify.fakes import assert_waits_its_turn, BUDI, PUBLIC_URL, RINA, SMS_FROM, SMS_PASSWORD, SMS_USER, X_TOKEN, send
from tests.support import service_caller

BASE = timedelta(seconds=60)  # the worker fixture's first back-off


def row(database_url, channel: str) -> dict:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM notify.notifications WHERE channel = %s", (channel,)).fetchone()


def channels(database_url) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [r[0] for r in conn.execute("SELECT channel FROM notify.notifications ORDER BY id")]


def test_a_reporter_who_came_by_sms_is_answered_by_sms(stub, worker, gateway, database_url):
    send(stub, tracking_id=BUDI.tracking_id, event="received")
    assert channels(database_url) == ["in_app", "sms"]  # no e-mail address was left
    assert worker.run_once() == 1
    [request] = gateway.requests
    assert (request.method, request.path) == ("GET", "/cgi-bin/sendsms")
    assert {k: request.query[k] for k in ("username", "password", "from", "to", "charset")} == {
        "username": SMS_USER, "password": SMS_PASSWORD, "from": SMS_FROM, "to": "+6281298765432", "charset": "UTF-8"}
    assert "coding" not in request.query  # GSM-7 carries it
    text = request.query["text"]
    assert BUDI.tracking_id in text and f"{PUBLIC_URL}/lacak/{BUDI.tracking_id}" in text
    assert text == row(database_url, "sms")["body"]
    sms = row(database_url, "sms")
    assert (sms["status"], sms["attempts"], sms["last_error"]) == ("sent", 1, "")
    assert worker.run_once() == 0 and len(gateway.requests) == 1


def test_an_sms_the_gateway_does_not_accept_is_retried_with_back_off_and_sent_once(stub, worker, gateway, clock,
                                                                                   database_url):
    gateway.status, gateway.body = 500, "internal error"
    send(stub, tracking_id=BUDI.tracking_id, event="forwarded", params={"agency": "Dinas PUPR"})
    assert worker.run_once() == 1
    sms = row(database_url, "sms")
    assert (sms["status"], sms["attempts"]) == ("pending", 1)
    assert sms["last_error"] == "NotAccepted: the SMS gateway answered HTTP 500: internal error"
    assert_waits_its_turn(sms["next_attempt_at"], clock.now(), BASE)
    assert worker.run_once() == 0  # not due yet

    gateway.status, gateway.body = 403, "Authorization failed for sendsms"
    clock.advance(BASE + timedelta(seconds=1))
    assert worker.run_once() == 1  # refused again: the wait doubles
    sms = row(database_url, "sms")
    assert (sms["status"], sms["attempts"]) == ("pending", 2)
    assert_waits_its_turn(sms["next_attempt_at"], clock.now(), 2 * BASE)

    gateway.status, gateway.body = 202, "0: Accepted for delivery"
    clock.advance(2 * BASE + timedelta(seconds=1))
    assert worker.run_once() == 1
    assert (row(database_url, "sms")["status"], row(database_url, "sms")["attempts"]) == ("sent", 3)
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0
    assert len(gateway.requests) == 3  # one accepted, two refused


def test_a_gateway_that_cannot_be_reached_is_tried_again(stub, worker, clock, database_url):
    worker.channel(Channel.SMS).sender = SmsSender(url="http://127.0.0.1:9/cgi-bin/sendsms", user=SMS_USER,
                                            password=SMS_PASSWORD, sender=SMS_FROM, timeout=2)
    send(stub, tracking_id=BUDI.tracking_id)
    assert worker.run_once() == 1
    sms = row(database_url, "sms")
    assert (sms["status"], sms["attempts"]) == ("pending", 1)
    assert sms["last_error"].startswith("ConnectionError: ConnectionRefusedError")


def test_an_sms_whose_answer_never_comes_is_not_sent_again(stub, worker, gateway, clock, database_url):
    worker.channel(Channel.SMS).sender = SmsSender(url=f"{gateway.url}/cgi-bin/sendsms", user=SMS_USER,
                                            password=SMS_PASSWORD, sender=SMS_FROM, timeout=0.5)
    gateway.hang = 2.0  # the gateway may have taken it: at most once
    send(stub, tracking_id=BUDI.tracking_id)
    assert worker.run_once() == 1
    sms = row(database_url, "sms")
    assert (sms["status"], sms["attempts"]) == ("failed", 1)
    assert "outcome unknown" in sms["last_error"]
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0 and len(gateway.requests) == 1


def test_the_gateway_password_and_the_phone_number_stay_out_of_errors_and_logs(stub, worker, gateway, database_url,
                                                                              caplog):
    gateway.status, gateway.body = 400, "Number(s) not accepted"
    send(stub, tracking_id=BUDI.tracking_id)
    with caplog.at_level(logging.DEBUG):
        worker.run_once()
    seen = row(database_url, "sms")["last_error"] + caplog.text
    assert "Number(s) not accepted" in seen
    assert SMS_PASSWORD not in seen and BUDI.phone[2:] not in seen


def test_text_that_gsm7_cannot_carry_goes_as_ucs2(stub, worker, gateway):
    send(stub, tracking_id=BUDI.tracking_id, event="archived",
         params={"reason": "Laporan “ganda” – lihat LAP-AAAA0009"})
    worker.run_once()
    [request] = gateway.requests
    assert request.query["coding"] == "2" and "“ganda”" in request.query["text"]


def test_the_phone_number_is_asked_from_intake_when_sending(stub, worker, gateway, intake, database_url):
    send(stub, tracking_id=BUDI.tracking_id)
    intake.contacts[BUDI.tracking_id] = intake_pb2.ReporterContact(phone="6285311112222", channel="sms")
    worker.run_once()
    assert [r.query["to"] for r in gateway.requests] == ["+6285311112222"]


def test_a_reporter_without_a_phone_number_any_more_gets_no_sms(stub, worker, gateway, intake, database_url):
    send(stub, tracking_id=BUDI.tracking_id)
    intake.contacts[BUDI.tracking_id] = intake_pb2.ReporterContact(channel="sms", language="id")
    worker.run_once()
    sms = row(database_url, "sms")
    assert (sms["status"], sms["last_error"]) == ("failed", "the reporter has no phone number any more")
    assert gateway.requests == []


def test_a_reporter_who_came_by_x_gets_a_reply_to_their_tweet(stub, worker, x_api, database_url):
    send(stub, tracking_id=RINA.tracking_id, event="received")
    assert channels(database_url) == ["in_app", "x"]
    assert worker.run_once() == 1
    [request] = x_api.requests
    assert (request.method, request.path) == ("POST", "/2/tweets")
    assert request.headers["Authorization"] == f"Bearer {X_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    posted = json.loads(request.body)
    assert posted["reply"] == {"in_reply_to_tweet_id": RINA.channel_message_id}
    assert posted["text"].startswith("@rina_bjm ")  # the handle is added when sending, never stored
    assert f"{PUBLIC_URL}/lacak/{RINA.tracking_id}" in posted["text"]
    assert "@" not in row(database_url, "x")["body"] and row(database_url, "x")["language"] == "en"
    assert row(database_url, "x")["status"] == "sent"


def test_a_reply_x_does_not_take_is_retried_with_back_off_and_posted_once(stub, worker, x_api, clock, database_url):
    x_api.status, x_api.body = 503, '{"title": "Service Unavailable"}'
    send(stub, tracking_id=RINA.tracking_id, event="closed")
    assert worker.run_once() == 1
    reply = row(database_url, "x")
    assert (reply["status"], reply["attempts"]) == ("pending", 1)
    assert reply["last_error"].startswith("NotAccepted: X answered HTTP 503")
    x_api.status = 201
    assert worker.run_once() == 0  # waits for its turn
    clock.advance(BASE + timedelta(seconds=1))
    assert worker.run_once() == 1
    assert row(database_url, "x")["status"] == "sent"
    clock.advance(timedelta(days=1))
    assert worker.run_once() == 0 and len(x_api.requests) == 2


def test_channels_that_are_not_configured_are_not_queued(make_stub, database_url):
    stub = make_stub(channels={Channel.EMAIL})
    send(stub, tracking_id=BUDI.tracking_id)
    send(stub, tracking_id=RINA.tracking_id)
    assert channels(database_url) == ["in_app", "in_app"]


def test_staff_events_are_never_sent_by_sms(stub, database_url):
    send(stub, tracking_id=BUDI.tracking_id, event="deadline_missed", params={"deadline": "verifikasi"})
    assert channels(database_url) == ["in_app"]


@pytest.mark.parametrize("tracking_id", [BUDI.tracking_id, RINA.tracking_id])
def test_the_answer_on_the_reporters_channel_is_listed_with_the_others(stub, tracking_id):
    send(stub, tracking_id=tracking_id)
    listed = stub.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                    metadata=service_caller("portal")).notifications
    assert [(n.channel, n.status) for n in listed][1:] in ([("sms", "pending")], [("x", "pending")])
    assert listed[1].subject == listed[0].subject and tracking_id in listed[1].body
