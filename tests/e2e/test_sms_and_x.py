"""SMS 1708 through the real Kannel gateway, and X through its webhook and a stand-in for its API, with
every service running as its own process.

A phone is Kannel's fake SMS centre (fakesmsc): what it sends goes through bearerbox and smsbox to the
portal's webhook, and what notify sends through smsbox's sendsms API comes back to it, printed on its
output. Kannel is required: CI installs it (`make system-deps`), so its absence fails these tests.
"""

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from services.plumbing.local_system import free_port
from services.portal.webhook_messages import x_signature
from sp4n.intake.v1 import intake_pb2
from sp4n.verification.v1 import verification_pb2
from tests.e2e.conftest import eventually, port_open, whole_system
from tests.e2e.test_report_lifecycle import ADMIN, case, reporter_notifications
from tests.notify.fakes import RecordingHttpServer
from tests.support import caller, service_caller

pytestmark = pytest.mark.e2e

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
SMS_SECRET, X_SECRET = "e2e-gateway-secret-0123456789", "e2e-x-consumer-secret"
GATEWAY_USER, GATEWAY_PASSWORD = "sp4n", "e2e-gateway-password"
PHONE, INTERNATIONAL = "081234567890", "+6281234567890"
PUBLIC_URL = "https://www.lapor.go.id"
REFUSAL = "SP4N-LAPOR!: Maaf, pesan Anda belum dapat diproses. Tulis laporan Anda dengan lebih lengkap."

KANNEL_CONF = """\
group = core
admin-port = {admin_port}
admin-password = {admin_password}
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox_port}
box-allow-ip = "127.0.0.1"
sms-resend-freq = 1
log-file = "{folder}/bearerbox.log"
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = {smsc_port}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = "127.0.0.1"
sendsms-port = {sendsms_port}
log-file = "{folder}/smsbox.log"
log-level = 1
http-request-retry = 3
http-queue-delay = 1
reply-couldnotfetch = "{refusal}"

group = sendsms-user
username = {user}
password = {password}
max-messages = 3
concatenation = true

group = sms-service
keyword = default
get-url = "http://127.0.0.1:{portal_port}/webhooks/sms?secret={secret}&from=%p&to=%P&text=%a&id=%I&ts=%t"
max-messages = 1
omit-empty = true
"""


class Kannel:
    """bearerbox and smsbox on free ports, with fakesmsc as the phone that talks to them."""

    def __init__(self, folder: Path, portal_port: int):
        for binary in (BEARERBOX, SMSBOX, FAKESMSC):
            assert Path(binary).is_file(), f"{binary} is missing: install kannel and kannel-extras (make system-deps)"
        self.folder = folder
        self.smsc_port, self.sendsms_port, smsbox_port = free_port(), free_port(), free_port()
        self.config = folder / "kannel.conf"
        self.config.write_text(KANNEL_CONF.format(
            admin_port=free_port(), admin_password="e2e-admin", smsbox_port=smsbox_port, smsc_port=self.smsc_port,
            sendsms_port=self.sendsms_port, folder=folder, user=GATEWAY_USER, password=GATEWAY_PASSWORD,
            portal_port=portal_port, secret=SMS_SECRET, refusal=REFUSAL))
        self.processes: list[subprocess.Popen] = []
        self.phone: subprocess.Popen | None = None
        self.start(BEARERBOX, smsbox_port)
        self.start(SMSBOX, self.sendsms_port)

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def start(self, binary: str, port: int) -> None:
        name = Path(binary).name
        with open(self.folder / f"{name}.out", "ab") as out:
            self.processes.append(subprocess.Popen([binary, str(self.config)], stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 20
        while not port_open(port):
            assert self.processes[-1].poll() is None and time.monotonic() < deadline, \
                f"{name} did not start:\n{self.logs()}"
            time.sleep(0.1)

    def send_from_phone(self, sender: str, text: str) -> None:
        """fakesmsc sends one message to 1708 and stays connected for the answers (one phone at a time)."""
        self.hang_up()
        with open(self.folder / "fakesmsc.out", "ab") as out:
            self.phone = subprocess.Popen([FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", "0.1",
                                           "-m", "1", f"{sender} 1708 text {text}"],
                                          stdout=out, stderr=subprocess.STDOUT)

    def received(self) -> list[tuple[str, str, str]]:
        """(from, to, text) of every message the phone received, concatenated parts joined."""
        output = (self.folder / "fakesmsc.out").read_text(errors="replace")
        messages, parts = [], []
        for sender, receiver, kind, rest in re.findall(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$", output, re.M):
            if kind == "text":
                messages.append((sender, receiver, rest))
            elif kind == "udh":  # "<udh> data <url-encoded part>"; the udh ends with the part count and number
                udh, _, data = rest.split(" ", 2)
                total, number = urllib.parse.unquote_to_bytes(udh)[-2:]
                parts.append(urllib.parse.unquote_plus(data))
                if number == total:
                    messages.append((sender, receiver, "".join(parts)))
                    parts = []
        return messages

    def hang_up(self) -> None:
        if self.phone is not None:
            stop(self.phone)
            self.phone = None

    def stop(self) -> None:
        self.hang_up()
        for process in reversed(self.processes):  # smsbox first
            stop(process)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.folder.glob("*.out")) + sorted(self.folder.glob("*.log")))


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def x_api():
    with RecordingHttpServer(201, '{"data": {"id": "1790000000000000999", "text": "..."}}') as server:
        yield server


@pytest.fixture(scope="module")
def channels(make_database, tmp_path_factory, x_api):
    """The whole system with the SMS and X channels configured, and Kannel in front of the portal."""
    folder = tmp_path_factory.mktemp("channels")
    http_port = free_port()
    kannel = Kannel(folder, http_port)
    try:
        with whole_system(make_database(), folder, http_port, NOTIFY_POLL_SECONDS="0.2",
                          NOTIFY_RETRY_BASE_SECONDS="1", SP4N_PUBLIC_URL=PUBLIC_URL,
                          PORTAL_SMS_WEBHOOK_SECRET=SMS_SECRET, NOTIFY_SMS_GATEWAY_URL=kannel.sendsms_url,
                          NOTIFY_SMS_USER=GATEWAY_USER, NOTIFY_SMS_PASSWORD=GATEWAY_PASSWORD,
                          NOTIFY_SMS_FROM="1708", PORTAL_X_CONSUMER_SECRET=X_SECRET, PORTAL_X_ACCOUNT="lapor1708",
                          NOTIFY_X_API_URL=x_api.url, NOTIFY_X_BEARER_TOKEN="e2e-x-token") as running:
            running.kannel = kannel
            yield running
    finally:
        kannel.stop()


def report(channels, tracking_id: str) -> intake_pb2.Report:
    """The report as its process (sla) reads it."""
    return channels.intake.GetReport(intake_pb2.GetReportRequest(tracking_id=tracking_id),
                                     metadata=service_caller("sla"))


def sms_to(channels, phone: str, containing: str, timeout: float = 30.0) -> str:
    """The text of the first message the phone received that contains `containing`."""
    def arrived():
        return next((text for _, to, text in channels.kannel.received() if to == phone and containing in text), None)
    try:
        return eventually(arrived, timeout=timeout, what=f"an SMS containing {containing!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{channels.kannel.logs()}") from None


def test_an_sms_becomes_a_report_and_the_tracking_id_comes_back_by_sms(channels):
    channels.kannel.send_from_phone(PHONE, "Lampu jalan di Jl. Raya Batulicin mati sejak sebulan lalu")
    text = sms_to(channels, INTERNATIONAL, "diterima")
    tracking_id = re.search(r"LAP-[0-9A-Z]{8}", text).group(0)
    assert text.startswith(f"SP4N-LAPOR!: Laporan Anda diterima, nomor pelacakan {tracking_id}.")
    assert f"{PUBLIC_URL}/lacak/{tracking_id}" in text
    submitted = report(channels, tracking_id)
    assert submitted.channel == "sms" and submitted.description.startswith("Lampu jalan di Jl. Raya Batulicin")
    assert ("received", "sms", "sent") in reporter_notifications(channels, tracking_id)
    assert [sender for sender, to, _ in channels.kannel.received() if to == INTERNATIONAL] == ["1708"]


def test_a_message_the_portal_cannot_take_is_answered_by_the_gateway(channels):
    before = len(channels.kannel.received())
    channels.kannel.send_from_phone("085299990000", "halo")  # too short to be a report: 400, tried again, refused
    eventually(lambda: [text for _, to, text in channels.kannel.received()[before:] if to == "085299990000"]
               == [REFUSAL], timeout=30, what="the gateway's notice")


def send_a_report(channels, text: str) -> str:
    """The phone sends a new report; its tracking ID, from the receipt SMS that comes back."""
    before = len(channels.kannel.received())
    channels.kannel.send_from_phone(PHONE, text)
    receipt = eventually(lambda: next((text for _, to, text in channels.kannel.received()[before:]
                                       if to == INTERNATIONAL and "diterima" in text), None),
                         timeout=30, what="the receipt SMS")
    return re.search(r"LAP-[0-9A-Z]{8}", receipt).group(0)


def test_the_reporter_answers_a_follow_up_by_sms(channels):
    tracking_id = send_a_report(channels, "Jalan berlubang di depan Pasar Batulicin membahayakan pengendara")
    eventually(lambda: any(i.tracking_id == tracking_id for i in channels.verification.ListQueue(
        verification_pb2.ListQueueRequest(limit=500), metadata=ADMIN).items), what="the report reaching the queue")
    channels.verification.DecideReport(verification_pb2.DecideReportRequest(
        idempotency_key=f"e2e-{tracking_id}", tracking_id=tracking_id, outcome=verification_pb2.OUTCOME_FORWARD,
        category="infrastruktur"), metadata=ADMIN)
    forwarded = eventually(lambda: (r := report(channels, tracking_id)).agency_id and r, what="forwarding")
    sms_to(channels, INTERNATIONAL, f"Laporan {tracking_id} telah diverifikasi dan diteruskan")
    channels.intake.PostFollowUp(intake_pb2.PostFollowUpRequest(
        idempotency_key=f"fu-{tracking_id}", tracking_id=tracking_id, body="Lubang akan ditambal pekan ini."),
        metadata=caller("liaison_officer", "lo-e2e", forwarded.agency_id))
    sms_to(channels, INTERNATIONAL, f"telah menindaklanjuti laporan {tracking_id}")
    eventually(lambda: list(case(channels, tracking_id).waiting_for) == ["reply_posted"], what="waiting for a reply")

    answer = f"{tracking_id.lower()} sampai hari ini belum ditambal"
    channels.kannel.send_from_phone(PHONE, answer)
    eventually(lambda: [e.body for e in report(channels, tracking_id).timeline if e.kind == "reply"] == [answer],
               what="the reply by SMS")
    eventually(lambda: "follow_up_posted" in case(channels, tracking_id).waiting_for,
               what="the process waiting for the agency again")


def test_a_mention_on_x_becomes_a_report_and_is_answered_with_a_reply(channels, x_api):
    event = {"for_user_id": "99", "tweet_create_events": [{
        "id_str": "1790000000000000123", "text": "@lapor1708 Banjir di Jalan Veteran Banjarmasin sejak pagi",
        "user": {"id_str": "1234567890", "screen_name": "rina_bjm", "name": "Rina"},
        "entities": {"user_mentions": [{"screen_name": "lapor1708", "id_str": "99"}]}}]}
    body = json.dumps(event).encode()
    request = urllib.request.Request(f"{channels.portal}/webhooks/x", data=body, headers={
        "Content-Type": "application/json", "X-Twitter-Webhooks-Signature": x_signature(X_SECRET, body)})
    with urllib.request.urlopen(request, timeout=10) as response:
        [tracking_id] = json.loads(response.read())["reports"]
    assert report(channels, tracking_id).channel == "x"

    posted = eventually(lambda: [json.loads(r.body) for r in x_api.requests if tracking_id in r.body.decode()],
                        timeout=30, what="the reply on X")
    assert posted == [{"text": f"@rina_bjm Terima kasih, laporan Anda kami terima dengan nomor pelacakan "
                               f"{tracking_id}. Pantau perkembangannya di {PUBLIC_URL}/lacak/{tracking_id}",
                       "reply": {"in_reply_to_tweet_id": "1790000000000000123"}}]
    assert x_api.requests[-1].headers["Authorization"] == "Bearer e2e-x-token"
    eventually(lambda: ("received", "x", "sent") in reporter_notifications(channels, tracking_id),
               what="the reply recorded as sent")
