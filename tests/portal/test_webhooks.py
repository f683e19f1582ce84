"""The SMS and X webhooks through real HTTP, served by the portal app over a real intake server and
the test database: secrets and signatures, X's challenge, redeliveries, replies by SMS, bad input."""

import contextlib
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import grpc
import psycopg
import pytest

from services.plumbing import channels, identity
from services.portal import webhooks
from services.portal.http_server import HttpServer
from services.portal.webhook_messages import x_signature
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from tests.intake import reports
from tests.support import IDENTITY_KEY

SMS_SECRET = "gateway-secret-0123456789"
X_SECRET = "x-consumer-secret-0123456789"
X_ACCOUNT = "lapor1708"
PHONE = "081234567890"
TEXT = "Jalan di depan SDN 2 Batulicin berlubang besar dan membahayakan pengendara motor"


@contextlib.contextmanager
def served_webhooks(make_app, intake_address: str, others_address: str, pool, clock, **options) -> Iterator[str]:
    """The portal app with the webhooks over intake at `intake_address`, served over HTTP on a free
    port; its URL."""
    app = make_app(intake_address, others_address, others_address)
    channel = channels.connect(intake_address, identity.ServiceSigner("portal", IDENTITY_KEY))
    app.register_blueprint(webhooks.blueprint(intake=intake_pb2_grpc.IntakeServiceStub(channel), pool=pool,
                                              clock=clock, sms_secret=SMS_SECRET, x_consumer_secret=X_SECRET,
                                              x_account=X_ACCOUNT, **options), url_prefix=webhooks.PREFIX)
    server = HttpServer(app, host="127.0.0.1", port=0)
    server.start()
    yield server.url
    server.stop()
    channel.close()


@pytest.fixture
def portal(make_app, intake_address, others_address, pool, clock):
    with served_webhooks(make_app, intake_address, others_address, pool, clock) as url:
        yield url


@pytest.fixture
def intake(intake_address):
    with grpc.insecure_channel(intake_address) as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)


def call(url: str, *, data: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) of an HTTP request, whatever the status."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read().decode()


def sms(portal: str, text: str = TEXT, *, sender: str = PHONE, message_id: str = "0f6c2b1e-sms-1",
        secret: str | None = SMS_SECRET, header: bool = False, post: bool = False):
    """The SMS gateway passing on a message, as Kannel's get-url does (or POSTed as a form)."""
    fields = {"from": sender, "to": "1708", "text": text, "id": message_id, "ts": "2026-03-16 10:00:00"}
    headers = {}
    if secret is not None and header:
        headers[webhooks.SECRET_HEADER] = secret
    elif secret is not None:
        fields = {"secret": secret, **fields}
    query = urllib.parse.urlencode(fields)
    if post:
        return call(f"{portal}/webhooks/sms", data=query.encode(), headers=headers)
    return call(f"{portal}/webhooks/sms?{query}", headers=headers)


def count(database_url, table: str = "reports") -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(f"SELECT count(*) FROM intake.{table}").fetchone()[0]


def stored(database_url, tracking_id: str) -> dict:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT r.*, p.phone, p.name FROM intake.reports r JOIN intake.reporters p "
                            "USING (tracking_id) WHERE tracking_id = %s", (tracking_id,)).fetchone()


def entries(intake, tracking_id: str) -> list[tuple[str, str]]:
    return [(e.kind, e.body) for e in reports.get(intake, tracking_id).timeline]


# SMS.

def test_an_sms_becomes_a_complaint_and_the_gateway_gets_an_empty_answer(portal, database_url):
    status, headers, body = sms(portal)
    assert (status, body) == (200, "")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    report = stored(database_url, headers[webhooks.TRACKING_ID_HEADER])
    assert (report["channel"], report["type"], report["idempotency_key"]) == ("sms", "complaint", "sms:0f6c2b1e-sms-1")
    assert report["description"] == TEXT and TEXT.startswith(report["title"].rstrip("…"))
    assert report["title"] == "Jalan di depan SDN 2 Batulicin berlubang besar dan…"
    assert report["phone"] == "6281234567890"  # as intake keeps numbers: E.164 without "+"


def test_the_sms_secret_may_come_as_a_header_and_the_message_as_a_form(portal, database_url):
    assert sms(portal, header=True)[0] == 200
    assert sms(portal, post=True, header=True, message_id="0f6c2b1e-sms-2")[0] == 200
    assert count(database_url) == 2


@pytest.mark.parametrize("secret, status", [(None, 401), ("", 401), ("wrong-secret", 403),
                                            (SMS_SECRET + "x", 403), ("ü" * 3, 403)])
@pytest.mark.parametrize("header", [False, True])
def test_an_sms_without_the_right_secret_is_refused_and_nothing_stored(portal, database_url, secret, status, header):
    assert sms(portal, secret=secret, header=header)[0] == status
    assert count(database_url) == 0


def test_a_redelivered_sms_makes_one_report(portal, database_url):
    first, second = sms(portal), sms(portal)
    assert first[0] == second[0] == 200
    assert first[1][webhooks.TRACKING_ID_HEADER] == second[1][webhooks.TRACKING_ID_HEADER]
    assert count(database_url) == 1


@pytest.mark.parametrize("fields, problem", [
    ({"text": "   "}, "text: the message is empty"),
    ({"sender": ""}, "from:"),
    ({"message_id": ""}, "id:"),
    ({"sender": "+447700900123"}, "reporter.phone"),  # not an Indonesian mobile number
    ({"text": "halo"}, "title:"),  # too short to be a report
])
def test_bad_sms_input_is_a_clear_400_and_nothing_stored(portal, database_url, fields, problem):
    status, headers, body = sms(portal, **fields)
    assert status == 400 and problem in body
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert count(database_url) == 0


def test_neither_the_secret_nor_the_text_reaches_the_logs(portal, database_url, caplog):
    with caplog.at_level(logging.DEBUG):
        sms(portal)
        sms(portal, secret="wrong-secret-abc")
        sms(portal, text="halo")
    assert caplog.text  # something was logged
    for secret in (SMS_SECRET, "wrong-secret-abc", TEXT[:20], "halo", PHONE, PHONE[1:]):
        assert secret not in caplog.text


def forwarded_with_follow_up(intake, portal) -> str:
    """A report that came by SMS from PHONE, forwarded and followed up: waiting for the reporter's reply."""
    tracking_id = sms(portal)[1][webhooks.TRACKING_ID_HEADER]
    reports.forward(intake, tracking_id)
    reports.follow_up(intake, tracking_id)
    return tracking_id


def test_an_sms_quoting_the_tracking_id_from_the_reporters_number_is_their_reply(portal, intake, database_url):
    tracking_id = forwarded_with_follow_up(intake, portal)
    text = f"Balasan {tracking_id.lower()}: lubangnya belum ditambal sampai hari ini"
    status, headers, _ = sms(portal, text, message_id="0f6c2b1e-reply-1")
    assert status == 200 and headers[webhooks.TRACKING_ID_HEADER] == tracking_id
    assert count(database_url) == 1
    assert ("reply", text) in entries(intake, tracking_id)
    assert reports.get(intake, tracking_id).status == pb.REPORT_STATUS_FORWARDED  # the agency must answer again
    assert sms(portal, text, message_id="0f6c2b1e-reply-1")[0] == 200  # redelivered
    assert [kind for kind, _ in entries(intake, tracking_id)].count("reply") == 1 and count(database_url) == 1


def test_a_reply_may_come_from_the_number_written_internationally(portal, intake, database_url):
    tracking_id = forwarded_with_follow_up(intake, portal)
    sms(portal, f"{tracking_id} masih rusak", sender="+6281234567890", message_id="0f6c2b1e-reply-2")
    assert ("reply", f"{tracking_id} masih rusak") in entries(intake, tracking_id)
    assert count(database_url) == 1


def test_an_sms_quoting_the_tracking_id_from_another_number_is_a_new_report(portal, intake, database_url):
    tracking_id = forwarded_with_follow_up(intake, portal)
    text = f"Saya juga melihat lubang yang sama seperti laporan {tracking_id} di Batulicin"
    status, headers, _ = sms(portal, text, sender="085311112222", message_id="0f6c2b1e-other-1")
    assert status == 200 and headers[webhooks.TRACKING_ID_HEADER] != tracking_id
    assert count(database_url) == 2
    assert "reply" not in [kind for kind, _ in entries(intake, tracking_id)]
    assert stored(database_url, headers[webhooks.TRACKING_ID_HEADER])["description"] == text


def test_an_sms_quoting_a_report_sent_back_for_completion_completes_it(portal, intake, database_url):
    tracking_id = sms(portal)[1][webhooks.TRACKING_ID_HEADER]
    reports.set_status(intake, tracking_id, pb.REPORT_STATUS_NEEDS_COMPLETION, reason="Sebutkan desanya.")
    text = f"{tracking_id} lokasinya di Desa Gunung Tinggi, Kecamatan Batulicin"
    for _ in range(2):  # redelivered: still one completion
        assert sms(portal, text, message_id="0f6c2b1e-complete-1")[0] == 200
    assert [e for e in entries(intake, tracking_id) if e[0] == "completion"] == [("completion", text)]
    assert reports.get(intake, tracking_id).status == pb.REPORT_STATUS_IN_VERIFICATION
    assert count(database_url) == 1


def test_an_sms_quoting_a_report_that_takes_no_answer_now_is_a_new_report(portal, intake, database_url):
    tracking_id = sms(portal)[1][webhooks.TRACKING_ID_HEADER]  # in verification: nothing to reply to
    status, headers, _ = sms(portal, f"{tracking_id} tambahan: lubangnya makin lebar", message_id="0f6c2b1e-more")
    assert status == 200 and headers[webhooks.TRACKING_ID_HEADER] != tracking_id
    assert count(database_url) == 2


def test_an_sms_quoting_an_unknown_tracking_id_is_a_new_report(portal, database_url):
    status, headers, _ = sms(portal, "LAP-ZZZZZZZZ jalan di Batulicin masih berlubang")
    assert status == 200 and headers[webhooks.TRACKING_ID_HEADER] != "LAP-ZZZZZZZZ"
    assert count(database_url) == 1


def test_an_sms_is_answered_503_when_intake_is_unavailable(make_app, closed_address, others_address,
                                                          database_url, pool):
    app = make_app(closed_address, others_address, others_address)
    channel = channels.connect(closed_address, identity.ServiceSigner("portal", IDENTITY_KEY))
    app.register_blueprint(webhooks.blueprint(intake=intake_pb2_grpc.IntakeServiceStub(channel), pool=pool,
                                              sms_secret=SMS_SECRET, x_consumer_secret=X_SECRET,
                                              x_account=X_ACCOUNT, intake_timeout=0.5), url_prefix=webhooks.PREFIX)
    server = HttpServer(app, host="127.0.0.1", port=0)
    server.start()
    try:
        status, headers, _ = sms(server.url)
    finally:
        server.stop()
        channel.close()
    assert status == 503 and headers["Retry-After"] == "5"


# X.

def tweet(tweet_id: str = "1790000000000000001", text: str = f"@{X_ACCOUNT} {TEXT}", *, handle: str = "rina_bjm",
          user_id: str = "1234567890", mentions: tuple[str, ...] = (X_ACCOUNT,), **extra) -> dict:
    return {"id_str": tweet_id, "text": text, "user": {"id_str": user_id, "screen_name": handle, "name": "Rina"},
            "entities": {"user_mentions": [{"screen_name": m, "id_str": "99"} for m in mentions]}, **extra}


def post_events(portal: str, events: dict, *, secret: str = X_SECRET, signature: str | None = None):
    body = json.dumps(events).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[webhooks.SIGNATURE_HEADER] = signature or x_signature(secret, body)
    return call(f"{portal}/webhooks/x", data=body, headers=headers)


def test_the_crc_challenge_is_answered_with_the_hmac_of_the_token(portal):
    status, _, body = call(f"{portal}/webhooks/x?crc_token=challenge-123")
    # base64(HMAC-SHA256("x-consumer-secret-0123456789", "challenge-123")), computed independently
    assert status == 200 and json.loads(body) == {"response_token": x_signature(X_SECRET, b"challenge-123")}
    assert json.loads(body)["response_token"].startswith("sha256=")
    assert call(f"{portal}/webhooks/x")[0] == 400


def test_a_mention_becomes_a_complaint_from_its_author(portal, database_url):
    status, _, body = post_events(portal, {"for_user_id": "99", "tweet_create_events": [tweet()]})
    assert status == 200
    [tracking_id] = json.loads(body)["reports"]
    report = stored(database_url, tracking_id)
    assert (report["channel"], report["idempotency_key"], report["description"]) == ("x", "x:1790000000000000001",
                                                                                      TEXT)
    assert report["name"] == "Rina" and "@" not in report["title"]


def test_a_redelivered_tweet_makes_one_report(portal, database_url):
    events = {"for_user_id": "99", "tweet_create_events": [tweet()]}
    first, second = post_events(portal, events), post_events(portal, events)
    assert json.loads(first[2])["reports"] == json.loads(second[2])["reports"]
    assert count(database_url) == 1


def test_only_mentions_by_others_become_reports(portal, database_url):
    events = {"for_user_id": "99", "tweet_create_events": [
        tweet("1", text=f"Terima kasih @rina_bjm, laporan diterima", handle=X_ACCOUNT, user_id="99"),  # our own
        tweet("2", text="Jalan rusak di Batulicin tidak kunjung diperbaiki", mentions=()),  # no mention
        tweet("3", retweeted_status={"id_str": "1790000000000000001"}),  # a retweet
        tweet("4", text=f"@{X_ACCOUNT.upper()} Lampu jalan mati sebulan di Simpang Empat", mentions=("LAPOR1708",)),
    ]}
    status, _, body = post_events(portal, events)
    assert status == 200 and len(json.loads(body)["reports"]) == 1
    assert count(database_url) == 1


def test_other_events_are_acknowledged_and_ignored(portal, database_url):
    status, _, body = post_events(portal, {"for_user_id": "99", "favorite_events": [{"id": "x"}]})
    assert status == 200 and json.loads(body) == {"reports": [], "refused": []}
    assert count(database_url) == 0


def test_a_mention_intake_refuses_is_reported_back_and_the_others_taken(portal, database_url):
    events = {"tweet_create_events": [tweet("5", text=f"@{X_ACCOUNT} halo"), tweet("6")]}
    status, _, body = post_events(portal, events)
    assert status == 200 and json.loads(body)["refused"] == ["5"] and len(json.loads(body)["reports"]) == 1


@pytest.mark.parametrize("secret, signature", [(None, None), (X_SECRET, "sha256=AAAA"), ("another-secret", None)])
def test_events_without_the_right_signature_are_refused_and_nothing_stored(portal, database_url, secret, signature):
    status, _, _ = post_events(portal, {"tweet_create_events": [tweet()]}, secret=secret, signature=signature)
    assert status == 403 and count(database_url) == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"tweet_create_events": {}}',
                                  b'{"tweet_create_events": [{"id_str": "1"}]}'])
def test_malformed_events_are_400(portal, database_url, body):
    headers = {webhooks.SIGNATURE_HEADER: x_signature(X_SECRET, body), "Content-Type": "application/json"}
    status, _, _ = call(f"{portal}/webhooks/x", data=body, headers=headers)
    assert status == 400 and count(database_url) == 0


def test_the_webhooks_refuse_everything_when_no_secret_is_configured(make_app, intake_address, others_address,
                                                                    database_url, pool):
    app = make_app(intake_address, others_address, others_address)
    channel = channels.connect(intake_address, identity.ServiceSigner("portal", IDENTITY_KEY))
    app.register_blueprint(webhooks.blueprint(intake=intake_pb2_grpc.IntakeServiceStub(channel), pool=pool,
                                              sms_secret="", x_consumer_secret="", x_account=X_ACCOUNT),
                           url_prefix=webhooks.PREFIX)
    client = app.test_client()
    assert client.get("/webhooks/sms", query_string={"secret": "", "from": PHONE, "text": TEXT, "id": "1"},
                      headers={webhooks.SECRET_HEADER: "anything"}).status_code == 403
    assert client.get("/webhooks/x", query_string={"crc_token": "t"}).status_code == 403
    body = json.dumps({"tweet_create_events": [tweet()]}).encode()
    assert client.post("/webhooks/x", data=body, headers={webhooks.SIGNATURE_HEADER: x_signature("", body)}
                       ).status_code == 403
    channel.close()
    assert count(database_url) == 0
