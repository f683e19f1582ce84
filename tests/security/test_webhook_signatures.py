"""Every webhook refuses what its sender did not sign, and a refused or replayed delivery stores nothing.

tests/portal/test_webhooks.py has the missing, empty and wrong SMS secret and the missing and wrong X
signature; this adds what an attacker who sees or guesses part of the exchange would try: a signature of
another body, a signature in another encoding, the secret in the wrong place, a redelivery of a signed
event, and making the portal sign a body for them through X's CRC challenge (which answers with an HMAC of
any token under the same consumer secret that signs events).
"""

import base64
import hashlib
import hmac
import json
import urllib.parse

import pytest

from services.portal import webhooks
from services.portal.webhook_messages import x_signature
from tests.portal.test_webhooks import (  # noqa: F401 (portal: a fixture)
    SMS_SECRET, TEXT, X_ACCOUNT, X_SECRET, call, count, portal, post_events, sms, tweet)


def events(*tweets) -> bytes:
    return json.dumps({"for_user_id": "99", "tweet_create_events": list(tweets)}).encode()


def signed_post(portal: str, body: bytes, signature: str):
    return call(f"{portal}/webhooks/x", data=body,
                headers={"Content-Type": "application/json", webhooks.SIGNATURE_HEADER: signature})


def test_a_signature_of_another_body_does_not_sign_this_one(portal, database_url):
    signed = events(tweet("1790000000000000001", text=f"@{X_ACCOUNT} Terima kasih atas pelayanannya"))
    tampered = events(tweet("1790000000000000001"))
    assert signed_post(portal, tampered, x_signature(X_SECRET, signed))[0] == 403
    assert count(database_url) == 0


@pytest.mark.parametrize("encoding", ["hex", "no prefix", "urlsafe base64 without padding", "sha1", "upper case"])
def test_the_signature_is_taken_in_its_one_form_only(portal, database_url, encoding):
    body = events(tweet())
    mac = hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()
    signature = {
        "hex": "sha256=" + mac.hex(),
        "no prefix": base64.b64encode(mac).decode(),
        "urlsafe base64 without padding": "sha256=" + base64.urlsafe_b64encode(mac).decode().rstrip("="),
        "sha1": "sha1=" + base64.b64encode(hmac.new(X_SECRET.encode(), body, hashlib.sha1).digest()).decode(),
        "upper case": x_signature(X_SECRET, body).upper(),
    }[encoding]
    assert signature != x_signature(X_SECRET, body)
    assert signed_post(portal, body, signature)[0] == 403
    assert count(database_url) == 0


def test_the_crc_challenge_cannot_be_made_to_sign_an_event(portal, database_url):
    """X's challenge is an HMAC of a token chosen by whoever asks, under the consumer secret that signs
    events: were any token answered, anyone could have the portal sign an event of their own."""
    body = json.dumps({"tweet_create_events": [{
        "id_str": "7", "text": f"@{X_ACCOUNT} Jalan rusak depan SDN 2 Batulicin",
        "user": {"id_str": "7", "screen_name": "p"}, "entities": {"user_mentions": [{"screen_name": X_ACCOUNT}]},
    }]}, separators=(",", ":")).encode()
    assert len(body) <= webhooks.MAX_CRC_TOKEN  # short enough to be a token
    status, _, answer = call(f"{portal}/webhooks/x?" + urllib.parse.urlencode({"crc_token": body}))
    if status == 200:  # had it answered, the answer would be a valid signature of the event
        assert signed_post(portal, body, json.loads(answer)["response_token"])[0] == 403
    else:
        assert status == 400
    assert count(database_url) == 0
    # X's own tokens (base64, URL-safe characters) are still answered.
    token = base64.b64encode(b"a challenge from X, 32 bytes....").decode()
    status, _, answer = call(f"{portal}/webhooks/x?" + urllib.parse.urlencode({"crc_token": token}))
    assert status == 200 and json.loads(answer) == {"response_token": x_signature(X_SECRET, token.encode())}


def test_a_replayed_signed_event_makes_nothing_new(portal, database_url):
    body = events(tweet())
    first = signed_post(portal, body, x_signature(X_SECRET, body))
    again = [signed_post(portal, body, x_signature(X_SECRET, body)) for _ in range(3)]
    assert first[0] == 200 and len(json.loads(first[2])["reports"]) == 1
    assert all(json.loads(a[2])["reports"] == json.loads(first[2])["reports"] for a in again)
    assert count(database_url) == 1


def test_a_replayed_sms_makes_nothing_new_even_posted_or_with_the_secret_in_the_header(portal, database_url):
    answers = [sms(portal), sms(portal, post=True, header=True), sms(portal, header=True)]
    assert {a[0] for a in answers} == {200}
    assert len({a[1][webhooks.TRACKING_ID_HEADER] for a in answers}) == 1
    assert count(database_url) == 1


def test_the_sms_secret_in_a_posted_form_is_not_taken(portal, database_url):
    """The secret comes in the header or the query string, where the gateway puts it; a form field named
    `secret` is the message's, not a credential."""
    body = urllib.parse.urlencode({"secret": SMS_SECRET, "from": "081234567890", "text": TEXT, "id": "sms-form-1"})
    assert call(f"{portal}/webhooks/sms", data=body.encode())[0] == 401
    assert count(database_url) == 0


def test_a_wrong_header_is_not_saved_by_a_right_query_secret(portal, database_url):
    """Either place is the gateway's secret; one that is wrong is wrong, whatever the other says."""
    query = urllib.parse.urlencode({"secret": SMS_SECRET, "from": "081234567890", "text": TEXT, "id": "sms-both-1"})
    assert call(f"{portal}/webhooks/sms?{query}", headers={webhooks.SECRET_HEADER: "wrong-secret"})[0] == 403
    assert count(database_url) == 0
