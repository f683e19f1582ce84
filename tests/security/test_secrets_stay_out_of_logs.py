"""Reporter contact details and secrets never reach a log line, at DEBUG, in any of the six services.

The whole system runs as six processes at SP4N_LOG_LEVEL=DEBUG with every secret it can have set: the
identity key, the SMS webhook secret, the X consumer secret, an SMTP login, the SMS gateway's password
and the X bearer token. Then people use every door with what must stay private: a web report with a
name, phone and e-mail (and one whose address the mail server refuses, quoting it back), its access
code typed on the tracking page (and a wrong one), a reporter account's password, a REST API key with a
report and a read by access code, an SMS from a number written internationally (and one with a wrong
secret), a mention on X, and a staff member signing in (and failing, once with the password typed as the
username). Notifications go out by e-mail with SMTP AUTH, by SMS through a stand-in gateway and on X.
Every log file is then searched for each secret and for every way a phone number may be written.
"""

import base64
import http.server
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field

import psycopg
import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from services.plumbing import db, identity
from services.plumbing.clock import FileClock
from services.plumbing.local_system import free_port
from services.portal import api_keys
from services.portal.staff_accounts import NewStaffAccount
from services.portal.staff_service import StaffService
from services.portal.webhook_messages import x_signature
from sp4n.notify.v1 import notify_pb2
from sp4n.verification.v1 import verification_pb2
from tests.e2e.conftest import eventually, whole_system
from tests.support import IDENTITY_KEY, caller

pytestmark = pytest.mark.e2e

SMS_SECRET = "sms-webhook-secret-5a1f0c2e9d"
X_SECRET = "x-consumer-secret-7b3e9a41c6"
SMTP_USER, SMTP_PASSWORD = "notify-mailer", "smtp-password-c0ffee42"
SMS_GATEWAY_PASSWORD = "sendsms-password-d00d1e"
X_BEARER_TOKEN = "x-bearer-token-AAAAbbbbCCCC1234"
STAFF_PASSWORD = "kata-sandi-staf-rahasia-91"
REPORTER_PASSWORD = "kata-sandi-pelapor-rahasia-57"
ADMIN = caller(identity.NATIONAL_ADMIN, "admin-logs")


@dataclass
class Person:
    name: str
    phone: str  # as typed on the form: 08...
    email: str

    def phone_forms(self) -> list[str]:
        """Every way the number may be written: 0812..., 62812..., +62 812-..., the bare digits."""
        core = self.phone[1:]
        dashed = f"{core[:3]}-{core[3:7]}-{core[7:]}"
        return [self.phone, "62" + core, "+62" + core, core, dashed, "0" + dashed, "+62 " + dashed]

    def private(self) -> list[str]:
        return [self.name, *(w for w in self.name.split() if len(w) >= 6), self.email, *self.phone_forms()]


WEB = Person("Rahmawati Kusumaningrum", "081255501234", "rahmawati.kusumaningrum@contoh.id")
REFUSED_MAIL = Person("Hendrawan Prasetyoadi", "081377702345", "hendrawan.ditolak@contoh.id")
API = Person("Sulistyowati Handayani", "085299903456", "sulistyowati.handayani@contoh.id")
ACCOUNT = Person("Wicaksono Adiwinata", "087811104567", "wicaksono.adiwinata@contoh.id")
SMS = Person("", "081566605678", "")
X_PERSON = dict(handle="wargabatulicin7", name="Kartikasari Wulandari", user_id="4455667788")


@dataclass
class Leaks:
    """What must not be logged, named for the message when one is."""
    secrets: dict[str, str] = field(default_factory=dict)

    def add(self, what: str, *values: str) -> None:
        for n, value in enumerate(v for v in values if v):
            self.secrets[f"{what} ({n})" if n else what] = value


class Mailbox:
    """An SMTP server that takes a login (notify logs in when given one) and refuses addresses with
    "ditolak" in them, quoting the address back as real servers do."""

    def __init__(self):
        self.messages, self.logins = [], []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port(), auth_require_tls=False,
                                     authenticator=self.authenticate)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(), SMTP_PASSWORD.encode())
        self.logins.append(ok)
        return AuthResult(success=ok)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "ditolak" in address:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


class Gateways(http.server.ThreadingHTTPServer):
    """Kannel's sendsms and X's POST /2/tweets, recording what they were sent."""

    def __init__(self):
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class GatewayHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # sendsms
        self.server.requests.append(self.path)
        self._answer(202, b"0: Accepted for delivery", "text/plain")

    def do_POST(self):  # X's /2/tweets
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(f"{self.path} {self.headers.get('Authorization')} {body.decode()}")
        self._answer(201, json.dumps({"data": {"id": "1890000000000000001", "text": "ok"}}).encode(),
                     "application/json")

    def _answer(self, status, body, media_type):
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # not on the test's stderr
        pass


@pytest.fixture(scope="module")
def system(make_database, tmp_path_factory):
    mailbox, gateways = Mailbox(), Gateways()
    mailbox.controller.start()
    url = make_database()
    try:
        with whole_system(url, tmp_path_factory.mktemp("system"), free_port(),
                          SP4N_LOG_LEVEL="DEBUG", PORTAL_SMS_WEBHOOK_SECRET=SMS_SECRET,
                          PORTAL_X_CONSUMER_SECRET=X_SECRET, PORTAL_X_ACCOUNT="lapor1708",
                          NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(mailbox.controller.port),
                          NOTIFY_SMTP_USER=SMTP_USER, NOTIFY_SMTP_PASSWORD=SMTP_PASSWORD,
                          NOTIFY_SMS_GATEWAY_URL=gateways.url + "/cgi-bin/sendsms", NOTIFY_SMS_USER="sp4n",
                          NOTIFY_SMS_PASSWORD=SMS_GATEWAY_PASSWORD, NOTIFY_X_API_URL=gateways.url,
                          NOTIFY_X_BEARER_TOKEN=X_BEARER_TOKEN, NOTIFY_RETRY_BASE_SECONDS="1") as running:
            yield running, url, mailbox, gateways
    finally:
        mailbox.controller.stop()
        gateways.shutdown()
        gateways.server_close()


# -- people at the doors ---------------------------------------------------------------------------------
def hidden(session: requests.Session, url: str, action: str | None = None) -> dict[str, str]:
    text = session.get(url, timeout=30).text
    form = text if action is None else text[text.index(f'action="{action}"'):]
    return dict(re.findall(r'name="(nonce|csrf_token)" value="([^"]+)"', form)[:2])


def web_report(portal: str, person: Person, leaks: Leaks) -> tuple[str, str]:
    browser = requests.Session()
    form = {**hidden(browser, portal + "/"), "type": "pengaduan", "title": "Pungutan liar di loket kantor desa",
            "description": "Petugas loket kantor desa meminta uang tambahan untuk surat keterangan domisili.",
            "category": "infrastruktur", "region_code": "6310", "location_text": "Kantor Desa Sungai Loban",
            "name": person.name, "phone": person.phone, "email": person.email}
    answer = browser.post(portal + "/laporan", data=form, timeout=30)
    assert answer.url.endswith("/laporan/terkirim"), answer.text[:500]
    tracking_id = re.search(r'id="tracking-id">(LAP-[0-9A-Z]{8})<', answer.text).group(1)
    code = re.search(r'id="access-code">([0-9A-Z-]+)<', answer.text).group(1)
    leaks.add(f"access code of {tracking_id}", code, code.replace("-", ""))
    leaks.add("a session id", *browser.cookies.values())
    return tracking_id, code


def code_typed(portal: str, tracking_id: str, code: str, leaks: Leaks) -> None:
    other = requests.Session()
    path = f"{portal}/lacak/{tracking_id}"
    wrong = "ABCD-EFGH-JKMN-PQRS"
    leaks.add("a wrong access code", wrong)
    assert other.post(path, data={**hidden(other, path, path.removeprefix(portal)), "access_code": wrong},
                      timeout=30).status_code == 400
    assert other.post(path, data={**hidden(other, path, path.removeprefix(portal)), "access_code": code.lower()},
                      timeout=30, allow_redirects=False).status_code == 303
    assert 'id="status"' in other.get(path, timeout=30).text
    leaks.add("a session id", *other.cookies.values())


def reporter_account(portal: str, leaks: Leaks) -> None:
    browser = requests.Session()
    form = {**hidden(browser, portal + "/akun/daftar"), "name": ACCOUNT.name, "email": ACCOUNT.email,
            "phone": ACCOUNT.phone, "password": REPORTER_PASSWORD, "password_again": REPORTER_PASSWORD}
    assert browser.post(portal + "/akun/daftar", data=form, timeout=30, allow_redirects=False).status_code == 303
    again = requests.Session()
    signed = again.post(portal + "/akun/masuk", data={**hidden(again, portal + "/akun/masuk"), "email": ACCOUNT.email,
                                                      "password": REPORTER_PASSWORD}, timeout=30, allow_redirects=False)
    assert signed.status_code == 303
    wrong = again.post(portal + "/akun/masuk", data={**hidden(again, portal + "/akun/masuk"), "email": ACCOUNT.email,
                                                     "password": REPORTER_PASSWORD + "-salah"}, timeout=30)
    assert wrong.status_code in (200, 303, 400)
    leaks.add("a session id", *browser.cookies.values(), *again.cookies.values())


def api_report(portal: str, key: str, leaks: Leaks) -> str:
    api = requests.Session()
    body = {"type": "complaint", "title": "Jalan berlubang di Batulicin",
            "description": "Lubang besar di Jalan Raya Batulicin dekat pasar, membahayakan pengendara motor.",
            "region_code": "6310", "location_text": "Jl. Raya Batulicin km 3", "category": "infrastruktur",
            "anonymous": False, "confidential": False, "language": "id",
            "reporter": {"name": API.name, "phone": API.phone, "email": API.email}}
    made = api.post(portal + "/api/v1/reports", json=body, timeout=30,
                    headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "logs-1"})
    assert made.status_code == 201, made.text
    tracking_id, code = made.json()["tracking_id"], made.json()["access_code"]
    leaks.add(f"access code of {tracking_id}", code, code.replace("-", ""))
    read = api.get(f"{portal}/api/v1/reports/{tracking_id}", timeout=30,
                   headers={"X-API-Key": key, "X-Access-Code": code})
    assert read.status_code == 200, read.text
    bad_key = key[:-4] + "abcd"
    leaks.add("a wrong API key", bad_key, bad_key.partition(".")[2])
    assert api.get(f"{portal}/api/v1/reports/{tracking_id}", timeout=30,
                   headers={"Authorization": f"Bearer {bad_key}", "X-Access-Code": code}).status_code == 401
    return tracking_id


def sms_report(portal: str) -> str:
    sender = f"+62 {SMS.phone[1:4]}-{SMS.phone[4:8]}-{SMS.phone[8:]}"
    fields = {"from": sender, "to": "1708", "text": "Lampu jalan di Simpang Empat Batulicin mati sejak sebulan lalu",
              "id": "kannel-logs-1", "ts": "2026-11-29 08:00:00"}
    wrong = requests.get(f"{portal}/webhooks/sms", params={"secret": SMS_SECRET[::-1], **fields}, timeout=30)
    assert wrong.status_code == 403
    answer = requests.get(f"{portal}/webhooks/sms", params={"secret": SMS_SECRET, **fields}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.headers["X-SP4N-Tracking-ID"]


def x_report(portal: str) -> str:
    token = base64.b64encode(b"crc token from X for the log test").decode()
    assert requests.get(f"{portal}/webhooks/x", params={"crc_token": token}, timeout=30).status_code == 200
    body = json.dumps({"for_user_id": "99", "tweet_create_events": [{
        "id_str": "1880000000000000001", "text": "@lapor1708 Sampah menumpuk di pasar Batulicin sudah dua minggu",
        "user": {"id_str": X_PERSON["user_id"], "screen_name": X_PERSON["handle"], "name": X_PERSON["name"]},
        "entities": {"user_mentions": [{"screen_name": "lapor1708", "id_str": "99"}]}}]}).encode()
    answer = requests.post(f"{portal}/webhooks/x", data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Twitter-Webhooks-Signature": x_signature(X_SECRET, body)})
    assert answer.status_code == 200, answer.text
    reports = answer.json()["reports"]
    assert len(reports) == 1, answer.text
    return reports[0]


def staff_visit(portal: str, tracking_id: str, leaks: Leaks) -> None:
    clerk = requests.Session()
    page = portal + "/staf/masuk"
    for username, password in (("admin-log", STAFF_PASSWORD + "x"), (STAFF_PASSWORD, STAFF_PASSWORD)):
        assert clerk.post(page, data={**hidden(clerk, page, "/staf/masuk"), "username": username,
                                      "password": password}, timeout=30, allow_redirects=False).status_code != 303
    signed = clerk.post(page, data={**hidden(clerk, page, "/staf/masuk"), "username": "admin-log",
                                    "password": STAFF_PASSWORD}, timeout=30, allow_redirects=False)
    assert signed.status_code == 303, signed.text
    assert clerk.get(f"{portal}/staf/verifikasi/{tracking_id}", timeout=30).status_code == 200
    leaks.add("a staff session id", *clerk.cookies.values())


def delivered(running, tracking_id: str, channel: str, status: str = "sent") -> bool:
    listed = running.notify.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                              metadata=ADMIN).notifications
    return any(n.recipient == "reporter" and n.channel == channel and n.status == status for n in listed)


def test_no_contact_detail_or_secret_reaches_any_services_log(system):
    running, url, mailbox, gateways = system
    portal = running.portal
    leaks = Leaks()
    for person in (WEB, REFUSED_MAIL, API, ACCOUNT, SMS):
        for n, value in enumerate(person.private()):
            leaks.add(f"reporter {person.name or 'by SMS'}: {n}", value)
    leaks.add("X reporter", X_PERSON["name"], X_PERSON["handle"], *X_PERSON["name"].split())
    leaks.add("identity key", IDENTITY_KEY)
    leaks.add("SMS webhook secret", SMS_SECRET, SMS_SECRET[::-1])
    leaks.add("X consumer secret", X_SECRET)
    leaks.add("SMTP password", SMTP_PASSWORD, base64.b64encode(SMTP_PASSWORD.encode()).decode())
    leaks.add("SMS gateway password", SMS_GATEWAY_PASSWORD)
    leaks.add("X bearer token", X_BEARER_TOKEN)
    leaks.add("staff password", STAFF_PASSWORD)
    leaks.add("reporter password", REPORTER_PASSWORD)

    pool = db.open_pool(url, name="test", size=2)
    try:
        StaffService(pool=pool, clock=FileClock(running.clock.path)).create(None, NewStaffAccount(
            username="admin-log", password=STAFF_PASSWORD, role=identity.NATIONAL_ADMIN))
        with pool.connection() as conn:
            _, key = api_keys.create(conn, name="logs-app", kind="app")
    finally:
        pool.close()
    leaks.add("API key", key, key.partition(".")[2])

    web_id, code = web_report(portal, WEB, leaks)
    refused_id, _ = web_report(portal, REFUSED_MAIL, leaks)
    code_typed(portal, web_id, code, leaks)
    reporter_account(portal, leaks)
    api_id = api_report(portal, key, leaks)
    sms_id, x_id = sms_report(portal), x_report(portal)
    eventually(lambda: running.verification.GetQueueItem(verification_pb2.GetQueueItemRequest(tracking_id=web_id),
                                                         metadata=ADMIN), what="the web report queued")
    staff_visit(portal, web_id, leaks)

    # Each channel's notification went out (or, for the refused address, failed for good).
    for tracking_id, channel, status in ((web_id, "email", "sent"), (api_id, "email", "sent"),
                                         (sms_id, "sms", "sent"), (x_id, "x", "sent"),
                                         (refused_id, "email", "failed")):
        eventually(lambda: delivered(running, tracking_id, channel, status), timeout=90,
                   what=f"{tracking_id}'s {channel} notification {status}")
    assert mailbox.logins and all(mailbox.logins)
    assert any(SMS_GATEWAY_PASSWORD in r for r in gateways.requests)
    assert any(X_BEARER_TOKEN in r for r in gateways.requests)

    logs = {path.stem: path.read_text() for path in sorted(running.system.log_dir.glob("*.log"))}
    assert set(logs) >= {"intake", "verification", "routing", "sla", "notify", "portal"}
    assert any('"level": "DEBUG"' in text for text in logs.values()), "nothing logged at DEBUG: level not honoured?"
    found = [f"{what} in {service}: {line[:300]}" for service, text in logs.items() for line in text.splitlines()
             for what, value in leaks.secrets.items() if value.lower() in line.lower()]
    assert not found, "\n".join(found)
    # The last error a staff member may read of the refused e-mail does not quote the address either.
    with psycopg.connect(url) as conn:
        errors = [e for (e,) in conn.execute("SELECT last_error FROM notify.notifications WHERE last_error <> ''")]
    assert errors and not [e for e in errors if REFUSED_MAIL.email in e], errors
