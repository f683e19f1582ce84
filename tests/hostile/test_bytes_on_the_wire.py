"""Bytes no well-behaved client sends, over real HTTP to the portal (waitress) over the real intake:
bytes that are not UTF-8 in the path and the query of every surface and in a web form; JSON whose
strings hold lone surrogates, or nested deeper than the parser's stack, on every JSON door (the REST
API's bodies, X's webhook). Each is a 4xx in its surface's form and stores nothing."""

import json
import socket

import pytest

from services.portal import webhooks
from services.portal.webhook_messages import x_signature
from tests.hostile.conftest import count
from tests.intake.reports import row_counts
from tests.portal.api_support import forward, report_body, stored, submit
from tests.portal.test_webhooks import X_SECRET, call, portal  # noqa: F401 (portal: a fixture)


def raw_request(root: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Sends bytes as they are (no client library would); the status and the body of the answer."""
    host, port = root.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + b"\r\nHost: portal\r\nConnection: close\r\n"
                           + (b"Content-Length: %d\r\n" % len(body) if body else b"") + b"\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


NOT_UTF8_TARGETS = [b"/?lang=\xff", b"/lacak?id=LAP-\xff\xfe", b"/lacak/LAP-\xed\xa0\x80", b"/publik?q=jalan\xc3\x28",
                    b"/publik/LAP-\xff", b"/staf/masuk?next=/\xff", b"/api/v1/public/reports?q=\xff",
                    b"/api/v1/public/reports/LAP-\xff", b"/api/v1/reports/LAP-\xff",
                    b"/open311/v2/requests.json?status=\xff",
                    b"/open311/v2/requests/LAP-\xff.xml", b"/webhooks/sms?text=\xff", b"/webhooks/x?crc_token=\xff"]


@pytest.mark.parametrize("target", NOT_UTF8_TARGETS)
def test_a_path_or_query_that_is_not_utf8_is_refused(root, target):
    status, _ = raw_request(root, b"GET " + target + b" HTTP/1.1")
    count("wire not-utf8 path or query", str(status))
    assert status == 400


def test_a_web_form_that_is_not_utf8_is_refused_and_stores_nothing(root, database_url):
    form = b"type=pengaduan&title=Jalan+\xff\xfe+berlubang&description=Lubang+besar+\xed\xa0\x80&category=infrastruktur"
    status, _ = raw_request(root, b"POST /laporan HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded", form)
    count("wire not-utf8 web form", str(status))
    assert status == 400  # unreadable, so without its CSRF token and nonce
    assert row_counts(database_url)["reports"] == 0


# JSON that parses in Python but can go no further.

LONE_SURROGATES = [b'{"title": "Jalan \\ud800 rusak"}', b'{"title": "Jalan \xed\xa0\x80 rusak"}',
                   b'{"reporter": {"name": "\\udfff"}}', b'{"\\ud83d": 1}']
DEEP = b'{"title": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"


@pytest.mark.parametrize("body", [*LONE_SURROGATES, DEEP], ids=["escape", "raw", "nested", "key", "deep"])
def test_json_that_no_utf8_text_can_carry_is_refused_on_every_api_body(clients, as_sla_forwarded, database_url, body):
    tracking_id, code = as_sla_forwarded
    before = stored(database_url)
    app, agency = clients["app-1"], clients["pupr"]
    if body.startswith(b'{"title"') and body is not DEEP:
        # A whole report around the hostile title: only that string is wrong.
        whole = json.dumps({k: v for k, v in report_body().items() if k != "title"}).encode()
        body = whole[:-1] + b", " + body[1:]
    answers = [
        app.post("/reports", data=body, headers={"Idempotency-Key": "k", "Content-Type": "application/json"}),
        app.post(f"/reports/{tracking_id}/replies", data=body.replace(b'"title"', b'"body"'),
                 headers={"Content-Type": "application/json", "X-Access-Code": code}),
        agency.post(f"/reports/{tracking_id}/follow-ups", data=body.replace(b'"title"', b'"body"'),
                    headers={"Content-Type": "application/json"}),
        app.post(f"/public/reports/{tracking_id}/support", data=body.replace(b'"title"', b'"supporter"'),
                 headers={"Content-Type": "application/json"}),
    ]
    for response in answers:
        count("wire json the portal cannot carry", str(response.status_code))
    assert [r.status_code for r in answers] == [400] * 4, [r.text for r in answers]
    assert all("not valid JSON" in r.json()["detail"] for r in answers)
    assert stored(database_url) == before


TWEET = b'{"tweet_create_events": [{"id_str": "1790000000000000001", "text": "@lapor1708 Jalan %s rusak", ' \
        b'"user": {"id_str": "1", "screen_name": "rina", "name": "%s"}}]}'
X_EVENTS = [TWEET % (b"\\ud800", b"Rina"), TWEET % (b"\xed\xa0\x80", b"Rina"), TWEET % (b"berlubang", b"\\udfff"),
            b'{"\\ud83d": 1}', b'{"tweet_create_events": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"]


@pytest.mark.parametrize("events", X_EVENTS, ids=["escape", "raw", "name", "key", "deep"])
def test_x_events_that_no_utf8_text_can_carry_are_refused(portal, database_url, events):  # noqa: F811
    status, _, _ = call(f"{portal}/webhooks/x", data=events, headers={
        "Content-Type": "application/json", webhooks.SIGNATURE_HEADER: x_signature(X_SECRET, events)})
    count("wire x events the portal cannot carry", str(status))
    assert status == 400
    assert row_counts(database_url)["reports"] == 0


@pytest.fixture
def as_sla_forwarded(clients, as_sla):
    """A report sent through the API and forwarded to Dinas PUPR: (tracking ID, access code)."""
    receipt = submit(clients["app-1"], "wire-1")
    forward(as_sla, receipt["tracking_id"])
    return receipt["tracking_id"], receipt["access_code"]
