"""Channel webhooks at /webhooks/: SMS 1708 through the SMS gateway (Kannel), and mentions on X.

SMS: GET or POST /webhooks/sms, as Kannel smsbox's sms-service calls its get-url:
    get-url = "http://PORTAL/webhooks/sms?secret=SECRET&from=%p&to=%P&text=%a&id=%I&ts=%t"
(POST: the same fields form-encoded). `from` is the sender's number, `text` the message, `id` the
gateway's unique message id (a redelivery carries the same id and changes nothing), `to` and `ts`
are not used. The shared secret PORTAL_SMS_WEBHOOK_SECRET comes as header X-Gateway-Secret or query
parameter `secret`: missing 401, wrong (or none configured) 403, and nothing is stored.
A message that quotes a tracking ID (LAP-XXXXXXXX, any case) from the number of that report's
reporter is their reply (or, when the report waits for it, their completion); any other message
is a new complaint whose title is its first words. The answer is 200 with an empty text/plain body
(the reporter gets the tracking ID by SMS from notify; smsbox's `omit-empty = true` sends nothing
back) and the tracking ID in header X-SP4N-Tracking-ID; 400 with the reason (empty text, a sender
that is not an Indonesian mobile number, a message intake refuses), 503 when intake is unavailable
(smsbox's `http-request-retry` tries again; the id makes that safe). On a non-2xx answer smsbox
sends the sender its `reply-couldnotfetch` text.

X: GET /webhooks/x?crc_token=T answers X's challenge with {"response_token": "sha256=<base64 of
HMAC-SHA256(PORTAL_X_CONSUMER_SECRET, T)>"}; T is base64 or URL-safe text, never what could be an
event's body, or the answer would sign an event of the asker's choosing. POST /webhooks/x takes Account
Activity events signed in X-Twitter-Webhooks-Signature (sha256=<base64 HMAC-SHA256 of the raw body>;
missing or wrong 403, nothing stored; not JSON 400). Each tweet in tweet_create_events that mentions
@PORTAL_X_ACCOUNT and is not by that account (nor a retweet) becomes a complaint: the text without the
mention, the author's id, handle and name, the tweet id (a redelivered tweet changes nothing). Other
events are answered 200 and ignored. The answer: {"reports": [tracking IDs], "refused": [ids of tweets
not taken: intake would not take them, or their author has sent too many]}.

Repeated abuse is limited (rate_limits, shared by every replica): after FAILURES_PER_ADDRESS missing or
wrong secrets (SMS) or signatures (X) from one address in FAILURE_WINDOW, that address is answered 429
with Retry-After, whatever it sends, until the window ends. A sender number's messages past
SMS_PER_SENDER in SMS_WINDOW, and an X author's mentions past REPORTS_PER_X_AUTHOR in X_AUTHOR_WINDOW,
are acknowledged (200, so that the gateway or X does not send them again) and ignored: an SMS is
answered without a tracking ID, a tweet is listed in "refused". What intake took or refused counts;
what waited for an unavailable intake (503, sent again) does not.

Neither the secret, the sender's number nor the message text is ever logged: only paths, message and
tweet ids, and tracking IDs.
"""

import contextlib
import hmac
import logging
import re
from datetime import timedelta

import grpc
from flask import Blueprint, jsonify, request
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

from services.plumbing import config, process
from services.plumbing.clock import Clock, SystemClock
from services.portal import rate_limits
from services.portal import webhook_messages as messages
from services.portal.rate_limits import RateLimit
from services.portal.intake_client import UNAVAILABLE, violation
from services.portal.webhook_messages import Malformed
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc

log = logging.getLogger(__name__)

PREFIX = "/webhooks"
SECRET_HEADER = "X-Gateway-Secret"
SIGNATURE_HEADER = "X-Twitter-Webhooks-Signature"
TRACKING_ID_HEADER = "X-SP4N-Tracking-ID"
MAX_CRC_TOKEN = 200
# The CRC answer is an HMAC under the same secret that signs events: a token that could be an event's
# body (JSON) would have the portal sign a forged event. X's tokens are base64 or URL-safe text.
CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_.~-]+")
# Intake does not take the message as a reply: no such report, not its reporter's number, or a reply
# it cannot take. The message then becomes a report of its own ("no wrong door").
NOT_A_REPLY = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT)
TEXT = {"Content-Type": "text/plain; charset=utf-8"}
# The gateway and X call from servers of their own: an address that keeps failing is guessing.
FAILURE_WINDOW = timedelta(minutes=15)
FAILURES_PER_ADDRESS = 20
# A person sends a few messages an hour, replies included; more is a script or a phone gone wrong.
SMS_WINDOW = timedelta(hours=1)
SMS_PER_SENDER = 20
X_AUTHOR_WINDOW = timedelta(hours=1)
REPORTS_PER_X_AUTHOR = 10


class Refused(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.headers = headers or {}


def from_context(ctx: process.Context) -> tuple[Blueprint, str]:
    """The webhooks as the portal process serves them, configured from the environment, and their prefix."""
    return blueprint(intake=intake_pb2_grpc.IntakeServiceStub(ctx.channel("intake")), pool=ctx.pool,
                     clock=ctx.clock, sms_secret=config.get("PORTAL_SMS_WEBHOOK_SECRET"),
                     x_consumer_secret=config.get("PORTAL_X_CONSUMER_SECRET"),
                     x_account=config.get("PORTAL_X_ACCOUNT")), PREFIX


def blueprint(*, intake, pool: ConnectionPool, sms_secret: str, x_consumer_secret: str, x_account: str,
              clock: Clock | None = None, intake_timeout: float = 5.0) -> Blueprint:
    """The webhooks over a stub of intake (its channel carries the portal's identity), counting
    attempts in the portal's database by `clock`. An empty secret refuses every request of that channel."""
    bp = Blueprint("webhooks", __name__)
    x_account = x_account.strip().lstrip("@")
    clock = clock or SystemClock()

    def at_most(limit: int, window: timedelta, name: str) -> RateLimit:
        return RateLimit(pool=pool, clock=clock, name=name, limit=limit, window=window)

    bad_secrets = at_most(FAILURES_PER_ADDRESS, FAILURE_WINDOW, "webhook-sms:address")
    bad_signatures = at_most(FAILURES_PER_ADDRESS, FAILURE_WINDOW, "webhook-x:address")
    per_sender = at_most(SMS_PER_SENDER, SMS_WINDOW, "webhook-sms:sender")
    per_author = at_most(REPORTS_PER_X_AUTHOR, X_AUTHOR_WINDOW, "webhook-x:author")

    def not_blocked(failures: RateLimit, channel: str) -> str:
        """The request's address, once it is not one that has failed too often (429 otherwise)."""
        address = rate_limits.address(request.remote_addr)
        if (wait := failures.retry_after(address)) is not None:
            log.warning("webhook %s: refused an address that failed %d times in %s", channel, failures.limit,
                        failures.window)
            raise Refused(429, "too many failed attempts from this address; try again later",
                          {"Retry-After": str(wait)})
        return address

    @contextlib.contextmanager
    def counted(limit: RateLimit, key: str):
        """Counts what is done inside against `key` once it is done or refused for good (400); not what
        fails for want of intake, which the gateway or X sends again."""
        try:
            yield
        except Refused as e:
            if e.status == 400:  # refused for good counts too (the gateway texts the sender about each)
                limit.hit(key)
            raise
        limit.hit(key)

    def ask(method, message):
        try:
            return method(message, timeout=intake_timeout, wait_for_ready=True)
        except grpc.RpcError as e:
            if e.code() in UNAVAILABLE:
                log.warning("webhook: intake answered %s", e.code().name)
                raise Refused(503, "intake is unavailable; try again shortly", {"Retry-After": "5"}) from None
            raise

    def submit(report: intake_pb2.SubmitReportRequest) -> str:
        try:
            return ask(intake.SubmitReport, report).tracking_id
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                field, reason = violation(e)
                raise Refused(400, f"{field}: {reason}" if field else reason) from None
            raise

    @bp.route("/sms", methods=["GET", "POST"])
    def sms():
        address = not_blocked(bad_secrets, "sms")
        given = request.headers.get(SECRET_HEADER) or request.args.get("secret", "")
        if not given:
            bad_secrets.hit(address)
            raise Refused(401, f"the gateway secret is missing ({SECRET_HEADER} or ?secret=)",
                          {"WWW-Authenticate": f'{SECRET_HEADER} realm="sms"'})
        if not sms_secret or not hmac.compare_digest(given.encode(), sms_secret.encode()):
            bad_secrets.hit(address)
            raise Refused(403, "the gateway secret is wrong")
        message = messages.sms_from(request.values)
        sender = messages.sender_number(message.sender)
        if per_sender.exceeded(sender):
            log.warning("sms %s: acknowledged and not recorded: its sender sent more than %d messages in %s",
                        message.message_id, SMS_PER_SENDER, SMS_WINDOW)
            return "", 200, TEXT
        with counted(per_sender, sender):
            if tracking_id := reply(message):
                log.info("sms %s: the reporter's answer on report %s", message.message_id, tracking_id)
            else:
                tracking_id = submit(messages.sms_report(message))
                log.info("sms %s: report %s", message.message_id, tracking_id)
        return "", 200, {**TEXT, TRACKING_ID_HEADER: tracking_id}

    def reply(message: messages.Sms) -> str | None:
        """The report the message answers, when it quotes one and intake takes it as its reporter's reply
        or completion; None when it is not a reply."""
        tracking_id = messages.quoted_tracking_id(message.text)
        if tracking_id is None:
            return None
        # Tried in turn, whatever the report's status now: a redelivery then finds the answer it made.
        for method, answer in ((intake.PostReply, intake_pb2.PostReplyRequest),
                               (intake.CompleteReport, intake_pb2.CompleteReportRequest)):
            try:
                ask(method, answer(idempotency_key=message.key, tracking_id=tracking_id, body=message.text,
                                   sender_phone=message.sender))
                return tracking_id
            except grpc.RpcError as e:
                if e.code() in NOT_A_REPLY:
                    return None
                if e.code() != grpc.StatusCode.FAILED_PRECONDITION:  # not waiting for this kind of answer
                    raise
        return None

    @bp.get("/x")
    def x_challenge():
        if not x_consumer_secret:
            raise Refused(403, "the X webhook is not configured")
        token = request.args.get("crc_token", "")
        if not token or len(token) > MAX_CRC_TOKEN or not CRC_TOKEN.fullmatch(token):
            raise Refused(400, f"crc_token: required, at most {MAX_CRC_TOKEN} base64 or URL-safe characters")
        return jsonify(response_token=messages.x_signature(x_consumer_secret, token.encode()))

    @bp.post("/x")
    def x_events():
        address = not_blocked(bad_signatures, "x")
        body = request.get_data()
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not x_consumer_secret or not hmac.compare_digest(
                given.encode(), messages.x_signature(x_consumer_secret, body).encode()):
            bad_signatures.hit(address)
            raise Refused(403, f"{SIGNATURE_HEADER} is missing or wrong")
        reports, refused = [], []
        for tweet in messages.mentions(body, x_account):
            if per_author.exceeded(tweet.user_id):
                log.warning("tweet %s was ignored: its author sent more than %d in %s", tweet.id,
                            REPORTS_PER_X_AUTHOR, X_AUTHOR_WINDOW)
                refused.append(tweet.id)
                continue
            try:
                with counted(per_author, tweet.user_id):
                    reports.append(submit(messages.tweet_report(tweet, x_account)))
            except Refused as e:
                if e.status != 400:
                    raise
                log.warning("tweet %s was not taken as a report: %s", tweet.id, e)
                refused.append(tweet.id)
        if reports:
            log.info("x: reports %s", ", ".join(reports))
        return jsonify(reports=reports, refused=refused)

    @bp.errorhandler(Refused)
    def refused_request(error: Refused):
        return str(error) + "\n", error.status, {**TEXT, **error.headers}

    @bp.errorhandler(Malformed)
    def malformed(error: Malformed):
        return refused_request(Refused(400, str(error)))

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return refused_request(Refused(error.code or 500, error.description or error.name))

    @bp.errorhandler(Exception)
    def internal_error(error: Exception):
        log.exception("%s %s failed", request.method, request.path)  # never the query: it may hold the secret
        return refused_request(Refused(500, "internal error"))

    return bp
