"""What the channel webhooks take in, read and turned into intake requests: an SMS as the SMS gateway
passes it on, and X's Account Activity events. No HTTP here; a request that cannot be read raises
Malformed, whose message is safe to answer with (it never repeats the message text)."""

import base64
import hashlib
import hmac
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from services.plumbing.text import holds_lone_surrogate
from services.portal import forms
from sp4n.intake.v1 import intake_pb2

MAX_SENDER = 30
MAX_MESSAGE_ID = 100
TITLE_LENGTH = 60  # a title is the first words of the message, cut at a word within this length
MIN_TITLE = 5  # intake's shortest title
QUOTED_TRACKING_ID = re.compile(r"(?<![0-9a-z])lap-[0-9a-z]{8}(?![0-9a-z])", re.IGNORECASE)
TWEET_ID = re.compile(r"[0-9]{1,20}")


class Malformed(ValueError):
    """A request the webhook cannot read; the message says why."""


def title_from(text: str) -> str:
    """The first words of a message, on one line, cut at a word boundary with "…" when longer."""
    flat = " ".join(text.split())
    if len(flat) <= TITLE_LENGTH:
        return flat
    cut = flat.rfind(" ", 0, TITLE_LENGTH)
    return (flat[:cut] if cut >= MIN_TITLE else flat[:TITLE_LENGTH - 1]).rstrip() + "…"


# SMS.

@dataclass(frozen=True)
class Sms:
    sender: str  # the phone number it came from, as the gateway writes it
    text: str
    message_id: str  # the gateway's own id of the message: a redelivery carries the same

    @property
    def key(self) -> str:
        """The idempotency key of whatever the message becomes (a report, a reply or a completion)."""
        return f"sms:{self.message_id}"


def sms_from(values: Mapping[str, str]) -> Sms:
    """The message in the gateway's parameters: from (%p), text (%a) and id (%I); to and ts are not used."""
    sender, message_id = values.get("from", "").strip(), values.get("id", "").strip()
    text = values.get("text", "").strip()
    if not sender or len(sender) > MAX_SENDER:
        raise Malformed(f"from: the sender's number is required, at most {MAX_SENDER} characters")
    if not message_id or len(message_id) > MAX_MESSAGE_ID:
        raise Malformed(f"id: the gateway's message id is required, at most {MAX_MESSAGE_ID} characters")
    if not text:
        raise Malformed("text: the message is empty; nothing was recorded")
    return Sms(sender, text, message_id)


def sender_number(sender: str) -> str:
    """The sender's number in one form however the gateway writes it (081…, +6281…, 62 81…), so that
    the messages of one number count together; intake checks that it is a mobile number."""
    digits = re.sub(r"[^0-9]", "", sender)
    if not digits:  # a sender name, not a number
        return sender
    return "62" + digits[1:] if digits.startswith("0") else digits


def quoted_tracking_id(text: str) -> str | None:
    """The first tracking ID a message quotes (LAP-XXXXXXXX anywhere, in any case), as intake writes it."""
    for quoted in QUOTED_TRACKING_ID.findall(text):
        if (tracking_id := forms.tracking_id(quoted)) is not None:
            return tracking_id
    return None


def sms_report(sms: Sms) -> intake_pb2.SubmitReportRequest:
    return intake_pb2.SubmitReportRequest(
        idempotency_key=sms.key, channel="sms", type=intake_pb2.REPORT_TYPE_COMPLAINT, title=title_from(sms.text),
        description=sms.text, reporter=intake_pb2.Reporter(phone=sms.sender), channel_message_id=sms.message_id)


# X.

@dataclass(frozen=True)
class Tweet:
    id: str
    text: str  # as written, HTML entities decoded
    user_id: str
    handle: str
    name: str


def x_signature(consumer_secret: str, data: bytes) -> str:
    """What X sends in X-Twitter-Webhooks-Signature for a body, and expects as the CRC response token."""
    digest = hmac.new(consumer_secret.encode(), data, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def mentions(body: bytes, account: str) -> list[Tweet]:
    """The new tweets in an Account Activity event that mention @account and are not its own (nor
    retweets of someone else's); other kinds of events are none."""
    try:
        event = json.loads(body)
    except ValueError as e:
        raise Malformed(f"the body is not JSON: {e}") from None
    except RecursionError:
        raise Malformed("the body is not JSON: nested too deep") from None
    if holds_lone_surrogate(event):
        raise Malformed("the body is not JSON: a string holds a lone surrogate")
    if not isinstance(event, dict) or not isinstance(event.get("tweet_create_events", []), list):
        raise Malformed("the body must be an object whose tweet_create_events is a list")
    own_id = str(event.get("for_user_id", ""))
    found = []
    for item in event.get("tweet_create_events", []):
        tweet, mentioned, retweet = _tweet(item)
        by_account = tweet.handle.lower() == account.lower() or tweet.user_id == own_id
        if account.lower() in mentioned and not by_account and not retweet:
            found.append(tweet)
    return found


def _tweet(item) -> tuple[Tweet, set[str], bool]:
    """The tweet in one tweet_create_events item, the handles it mentions (lowercase), and whether it
    is a retweet. Long tweets carry their whole text and entities in extended_tweet."""
    try:
        user, extended = item["user"], item.get("extended_tweet") or {}
        text = extended.get("full_text") or item.get("full_text") or item["text"]
        entities = extended.get("entities") or item.get("entities") or {}
        mentioned = {m["screen_name"].lower() for m in entities.get("user_mentions") or []}
        tweet = Tweet(id=item["id_str"], text=html.unescape(text), user_id=user["id_str"],
                      handle=user["screen_name"], name=user.get("name") or "")
    except (KeyError, TypeError, AttributeError):
        raise Malformed("a tweet_create_events item lacks id_str, text, user or its mentions") from None
    if not all(isinstance(v, str) for v in vars(tweet).values()) or not TWEET_ID.fullmatch(tweet.id):
        raise Malformed("a tweet_create_events item has an id_str, text or user that cannot be read")
    return tweet, mentioned, "retweeted_status" in item


def tweet_report(tweet: Tweet, account: str) -> intake_pb2.SubmitReportRequest:
    """A report from a tweet: its text without the mention of @account."""
    text = re.sub(rf"(?<![\w@])@{re.escape(account)}\b", "", tweet.text, flags=re.IGNORECASE)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return intake_pb2.SubmitReportRequest(
        idempotency_key=f"x:{tweet.id}", channel="x", type=intake_pb2.REPORT_TYPE_COMPLAINT, title=title_from(text),
        description=text, reporter=intake_pb2.Reporter(name=tweet.name, x_user_id=tweet.user_id,
                                                       x_handle=tweet.handle),
        channel_message_id=tweet.id)
