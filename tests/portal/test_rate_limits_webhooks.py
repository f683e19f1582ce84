"""The webhooks' limits through real HTTP, with small limits: wrong secrets and signatures per address
(429), messages per sender number and reports per X author (acknowledged, not recorded)."""

import json
import logging
from unittest.mock import ANY

import pytest
import requests

from services.portal import webhooks
from services.portal.webhook_messages import x_signature
from tests.portal.test_rate_limits import from_address
from tests.portal.test_webhooks import (  # noqa: F401 (fixtures)
    PHONE, SMS_SECRET, TEXT, X_ACCOUNT, X_SECRET, count, portal, post_events, served_webhooks, sms, tweet)

OTHER_PHONE = "085311112222"


@pytest.fixture(autouse=True)
def small_limits(monkeypatch):
    """Limits small enough to reach in a test, set before the webhooks are made."""
    monkeypatch.setattr(webhooks, "FAILURES_PER_ADDRESS", 3)
    monkeypatch.setattr(webhooks, "SMS_PER_SENDER", 2)
    monkeypatch.setattr(webhooks, "REPORTS_PER_X_AUTHOR", 2)


@pytest.fixture
def unavailable_portal(make_app, closed_address, others_address, pool, clock):
    """Another replica of the portal, counting in the same database, whose intake does not answer."""
    with served_webhooks(make_app, closed_address, others_address, pool, clock, intake_timeout=0.2) as url:
        yield url


@pytest.fixture
def elsewhere():
    """An HTTP client on another address."""
    with from_address(requests.Session()) as session:
        yield session


def message(n: int) -> str:
    return f"{TEXT} (pesan {n})"


# SMS.

def test_messages_past_the_senders_limit_are_acknowledged_and_not_recorded(portal, database_url, clock, caplog):
    for n in range(2):
        status, headers, _ = sms(portal, message(n), message_id=f"sms-{n}")
        assert status == 200 and headers[webhooks.TRACKING_ID_HEADER]
    with caplog.at_level(logging.INFO):
        status, headers, body = sms(portal, message(2), message_id="sms-2")
    assert (status, body) == (200, "")  # the gateway is done with it: no retry, nothing sent back
    assert webhooks.TRACKING_ID_HEADER not in headers
    assert "sms-2" in caplog.text
    for secret in (PHONE, PHONE[1:], "62" + PHONE[1:], "pesan 2", TEXT[:20]):
        assert secret not in caplog.text
    # The same number, written internationally, is the same sender.
    assert webhooks.TRACKING_ID_HEADER not in sms(portal, message(3), message_id="sms-3", sender="+62 812-3456-7890")[1]
    assert count(database_url) == 2
    # Another sender is not held back; the sender is again once the hour is over.
    assert webhooks.TRACKING_ID_HEADER in sms(portal, message(4), message_id="sms-4", sender=OTHER_PHONE)[1]
    clock.advance(webhooks.SMS_WINDOW)
    assert webhooks.TRACKING_ID_HEADER in sms(portal, message(5), message_id="sms-5")[1]
    assert count(database_url) == 4


def test_messages_intake_refuses_count_and_those_it_never_saw_do_not(portal, unavailable_portal, database_url):
    for n in range(3):  # sent again and again while intake is unavailable
        assert sms(unavailable_portal, message(n), message_id=f"sms-{n}")[0] == 503
    for n in range(2):
        assert webhooks.TRACKING_ID_HEADER in sms(portal, message(n), message_id=f"sms-{n}")[1]
    assert [sms(portal, "halo", message_id=f"halo-{n}", sender=OTHER_PHONE)[0] for n in range(2)] == [400, 400]
    assert sms(portal, message(3), message_id="sms-3", sender=OTHER_PHONE) == (200, ANY, "")
    assert count(database_url) == 2


def test_an_address_that_keeps_sending_wrong_secrets_is_refused_even_the_right_one(portal, database_url, clock,
                                                                                  elsewhere):
    assert [sms(portal, secret=s)[0] for s in (None, "wrong-1", "wrong-2")] == [401, 403, 403]
    status, headers, body = sms(portal)  # the right secret, too late
    assert status == 429 and "too many failed attempts" in body
    assert 0 < int(headers["Retry-After"]) <= webhooks.FAILURE_WINDOW.total_seconds()
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert count(database_url) == 0
    # The gateway on another address is not held back.
    answer = elsewhere.get(f"{portal}/webhooks/sms", params={"secret": SMS_SECRET, "from": PHONE, "text": TEXT,
                                                             "id": "sms-elsewhere"}, timeout=10)
    assert answer.status_code == 200 and count(database_url) == 1
    clock.advance(webhooks.FAILURE_WINDOW)
    assert sms(portal, message_id="sms-later")[0] == 200
    assert count(database_url) == 2


# X.

def test_an_address_that_keeps_sending_bad_signatures_is_refused_even_a_good_one(portal, database_url, clock,
                                                                                 elsewhere):
    events = {"for_user_id": "99", "tweet_create_events": [tweet()]}
    for _ in range(3):
        assert post_events(portal, events, signature="sha256=AAAA")[0] == 403
    status, headers, body = post_events(portal, events)
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert count(database_url) == 0
    body = json.dumps(events).encode()
    answer = elsewhere.post(f"{portal}/webhooks/x", data=body, timeout=10, headers={
        "Content-Type": "application/json", webhooks.SIGNATURE_HEADER: x_signature(X_SECRET, body)})
    assert answer.status_code == 200 and count(database_url) == 1
    clock.advance(webhooks.FAILURE_WINDOW)
    events = {"for_user_id": "99", "tweet_create_events": [tweet("1790000000000000002")]}
    assert post_events(portal, events)[0] == 200
    assert count(database_url) == 2


def test_an_authors_mentions_past_the_limit_are_acknowledged_and_refused(portal, database_url, clock):
    mentions = [tweet(f"17900000000000000{n:02d}", f"@{X_ACCOUNT} {message(n)}") for n in range(3)]
    other = tweet("1790000000000000099", f"@{X_ACCOUNT} {message(9)}", handle="budi_tb", user_id="555")
    status, _, body = post_events(portal, {"for_user_id": "99", "tweet_create_events": [*mentions, other]})
    answer = json.loads(body)
    assert status == 200 and len(answer["reports"]) == 3  # two of the author's, one of another author's
    assert answer["refused"] == ["1790000000000000002"]
    assert count(database_url) == 3
    later = tweet("1790000000000000010", f"@{X_ACCOUNT} {message(10)}")
    assert json.loads(post_events(portal, {"tweet_create_events": [later]})[2]) == {
        "reports": [], "refused": ["1790000000000000010"]}
    clock.advance(webhooks.X_AUTHOR_WINDOW)
    assert len(json.loads(post_events(portal, {"tweet_create_events": [later]})[2])["reports"]) == 1
    assert count(database_url) == 4
