"""The reporter's pages through Flask's test client, against a real intake server and PostgreSQL."""

import re
from datetime import datetime, timezone

import grpc
import lxml.html
import pytest
from google.protobuf import timestamp_pb2

from services.intake import grpc_api as intake_api
from services.intake.service import IntakeService
from services.plumbing.grpc_server import GrpcServer
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2
from sp4n.sla.v1 import sla_pb2
from tests.intake.reports import AGENCY_NAME, LIAISON, follow_up, forward, reply, row_counts, set_status
from tests.support import IDENTITY_KEY

TRACKING_PATH = re.compile(r"/lacak/(LAP-[0-9A-HJKMNP-TV-Z]{8})")
NOTHING = {"reports": 0, "reporters": 0, "timeline": 0, "outbox": 0}


def page(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.get_data(as_text=True))


def nonce(client) -> str:
    return page(client.get("/")).xpath("//input[@name='nonce']/@value")[0]


def report_form(client, **fields) -> dict:
    return {"nonce": nonce(client), "type": "pengaduan", "title": "Jalan berlubang di Batulicin",
            "description": "Lubang besar di Jalan Raya Batulicin dekat pasar.", "category": "infrastruktur",
            "region_code": "6310", "location_text": "Jl. Raya Batulicin km 3", "name": "Siti Rahmah",
            "phone": "0812-3456-7890", "email": "siti@contoh.id", **fields}


def submitted(client, **fields) -> str:
    response = client.post("/laporan", data=report_form(client, **fields))
    assert response.status_code == 303, response.get_data(as_text=True)
    return TRACKING_PATH.fullmatch(response.headers["Location"]).group(1)


def field_message(response, field: str) -> str:
    """The error message shown next to a form field."""
    html = page(response)
    control = html.get_element_by_id(field)
    [error_id] = [i for i in control.get("aria-describedby", "").split() if i.endswith("-error")]
    return html.get_element_by_id(error_id).text_content().replace("Kesalahan: ", "").strip()


def test_the_form_labels_every_field_and_carries_a_nonce(client):
    response = client.get("/")
    assert response.status_code == 200
    html = page(response)
    controls = html.xpath("//form//input[not(@type='hidden')] | //form//select | //form//textarea")
    labelled = set(html.xpath("//label/@for"))
    assert len(controls) >= 12 and all(c.get("id") in labelled for c in controls)
    assert html.xpath("//html/@lang") == ["id"]
    assert len(nonce(client)) > 30 and nonce(client) != nonce(client)


def test_pages_carry_security_headers(client):
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_a_report_sent_from_the_form_lands_on_its_tracking_page(client, database_url):
    tracking_id = submitted(client)
    response = client.get(f"/lacak/{tracking_id}")
    assert response.status_code == 200
    html = page(response)
    assert html.xpath("string(//h1)") == tracking_id
    assert html.get_element_by_id("status").text_content().strip() == "Status: Menunggu verifikasi"
    assert "Kabupaten Tanah Bumbu" in response.get_data(as_text=True)
    assert row_counts(database_url) == {"reports": 1, "reporters": 1, "timeline": 1, "outbox": 1}


def test_the_tracking_page_never_shows_who_reported(client):
    text = client.get(f"/lacak/{submitted(client)}").get_data(as_text=True)
    for identity in ("Siti", "Rahmah", "81234567890", "0812-3456-7890", "siti@contoh.id"):
        assert identity not in text


def test_sending_the_same_form_twice_makes_one_report(client, database_url):
    form = report_form(client)
    first = client.post("/laporan", data=form)
    again = client.post("/laporan", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert row_counts(database_url)["reports"] == 1


def test_a_missing_title_is_shown_next_to_the_title_and_what_was_typed_is_kept(client, database_url):
    form = report_form(client, title="")
    response = client.post("/laporan", data=form)
    assert response.status_code == 400
    assert field_message(response, "title") == "Judul wajib diisi."
    html = page(response)
    assert html.get_element_by_id("title").get("aria-invalid") == "true"
    assert html.get_element_by_id("description").text_content() == form["description"]
    assert html.get_element_by_id("phone").get("value") == form["phone"]
    assert html.xpath("//input[@name='nonce']/@value") == [form["nonce"]]  # sending again stays idempotent
    assert html.xpath("//select[@id='category']/option[@selected]/@value") == ["infrastruktur"]
    assert html.xpath("//input[@id='type-pengaduan']/@checked")
    assert row_counts(database_url) == NOTHING


def test_every_problem_in_the_form_is_listed_at_once(client, database_url):
    response = client.post("/laporan", data=report_form(client, type="", title="Oi", description="", category="x",
                                                        phone="", email=""))
    assert response.status_code == 400
    summary = page(response).xpath("//div[@class='error-summary']//li")
    assert len(summary) == 5
    assert field_message(response, "title") == "Judul minimal 5 karakter (sekarang 2)."
    assert "Isi nomor ponsel atau alamat e-mail" in response.get_data(as_text=True)
    assert row_counts(database_url) == NOTHING


@pytest.mark.parametrize("fields, field, message", [
    (dict(phone="021-5551234"), "phone", "Nomor ponsel tidak valid"),
    (dict(email="siti@contoh"), "email", "Alamat e-mail tidak valid"),
    (dict(title="Jalan\x00berlubang"), "title", "Judul harus terdiri dari 5 sampai 150 karakter"),
])
def test_what_intake_refuses_is_shown_next_to_the_field_in_indonesian(client, database_url, fields, field, message):
    response = client.post("/laporan", data=report_form(client, **fields))
    assert response.status_code == 400
    assert field_message(response, field).startswith(message)
    assert row_counts(database_url) == NOTHING


@pytest.mark.parametrize("forged", ["", "not-a-nonce", "abc.0123456789abcdef0123456789abcdef"])
def test_a_form_the_portal_did_not_issue_is_refused(client, database_url, forged):
    response = client.post("/laporan", data=report_form(client, nonce=forged))
    assert response.status_code == 400
    assert "Muat ulang halaman" in response.get_data(as_text=True)
    assert row_counts(database_url) == NOTHING


def test_everything_typed_is_escaped(client):
    tracking_id = submitted(client, title="<script>alert(1)</script>", location_text='"><img src=x>')
    text = client.get(f"/lacak/{tracking_id}").get_data(as_text=True)
    assert "<script>alert" not in text and "<img src=x>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_an_oversized_form_is_refused(client, database_url):
    response = client.post("/laporan", data=report_form(client, description="x" * 70_000))
    assert response.status_code == 413
    assert row_counts(database_url) == NOTHING


def test_a_typed_tracking_id_is_read_forgivingly(client):
    tracking_id = submitted(client)
    typed = tracking_id[4:].lower().replace("0", "o").replace("1", "l")
    response = client.get("/lacak", query_string={"id": f"  {typed} "})
    assert (response.status_code, response.headers["Location"]) == (303, f"/lacak/{tracking_id}")
    response = client.get(f"/lacak/{tracking_id.lower()}")
    assert (response.status_code, response.headers["Location"]) == (301, f"/lacak/{tracking_id}")


def test_the_lookup_form_explains_a_malformed_tracking_id(client):
    assert client.get("/lacak").status_code == 200
    response = client.get("/lacak", query_string={"id": "LAP-12<b>"})
    assert response.status_code == 400
    assert field_message(response, "id").startswith("Nomor pelacakan tidak valid")


@pytest.mark.parametrize("path", ["/lacak/LAP-ZZZZZZZZ", "/lacak/bukan-nomor", "/tidak-ada"])
def test_unknown_reports_and_pages_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert page(response).xpath("string(//h1)") == "Tidak ditemukan"


def test_the_timeline_shows_forwarding_follow_ups_replies_and_status_changes(client, intake_address):
    tracking_id = submitted(client)
    with grpc.insecure_channel(intake_address) as channel:
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        forward(stub, tracking_id)
        follow_up(stub, tracking_id, body="Perbaikan dijadwalkan pekan depan.", metadata=LIAISON)
        reply(stub, tracking_id, body="Sampai sekarang belum diperbaiki.")
        set_status(stub, tracking_id, intake_pb2.REPORT_STATUS_ON_HOLD, reason="Menunggu anggaran")
    html = page(client.get(f"/lacak/{tracking_id}"))
    entries = [" ".join(e.text_content().split()) for e in html.xpath("//ol[@class='timeline']/li")]
    assert [e.split(" WIB ", 1)[1] for e in entries] == [
        "Laporan dikirim",
        f"Diteruskan ke {AGENCY_NAME}",
        f"Tindak lanjut dari {AGENCY_NAME} Perbaikan dijadwalkan pekan depan.",
        "Tanggapan pelapor Sampai sekarang belum diperbaiki.",
        "Status: Ditunda Menunggu anggaran",
    ]
    assert html.get_element_by_id("agency").text_content() == AGENCY_NAME
    assert html.get_element_by_id("status").text_content().strip() == "Status: Ditunda"


def test_the_tracking_page_shows_deadlines_and_the_reporters_notifications(client, fake_sla, fake_notify):
    tracking_id = submitted(client)
    due = timestamp_pb2.Timestamp()
    due.FromDatetime(datetime(2026, 3, 19, 16, 59, 59, tzinfo=timezone.utc))
    fake_sla.cases[tracking_id] = sla_pb2.Case(tracking_id=tracking_id, deadlines=[
        sla_pb2.Deadline(name="verification_overdue", due_at=due, state="breached"),
        sla_pb2.Deadline(name="follow_up_overdue", due_at=due, state="open")])
    fake_notify.notifications[tracking_id] = [
        notify_pb2.Notification(tracking_id=tracking_id, event="received", recipient="reporter", channel="sms",
                                status="sent", body="Halo Siti Rahmah, laporan Anda diterima."),
        notify_pb2.Notification(tracking_id=tracking_id, event="forwarded", recipient="agency", channel="email",
                                status="sent"),
    ]
    response = client.get(f"/lacak/{tracking_id}")
    text = " ".join(page(response).text_content().split())
    assert "Batas verifikasi laporan 19 Maret 2026, 23.59 WIB terlambat" in text
    assert "Batas tindak lanjut instansi 19 Maret 2026, 23.59 WIB" in text
    rows = page(response).xpath("//table[@class='notifications']/tbody/tr")
    assert [[cell.text_content() for cell in row.xpath("td")][1:] for row in rows] == [
        ["Laporan diterima", "SMS", "Terkirim"]]  # the agency's notification is not the reporter's business
    assert "Siti" not in response.get_data(as_text=True)


def test_the_tracking_page_does_without_sla_and_notify(make_app, intake_address, closed_address):
    client = make_app(intake_address, closed_address, closed_address).test_client()
    tracking_id = submitted(client)
    response = client.get(f"/lacak/{tracking_id}")
    assert response.status_code == 200
    html = page(response)
    assert html.xpath("string(//h1)") == tracking_id
    assert not html.xpath("//*[@id='deadlines-heading']")
    assert "Daftar notifikasi sedang tidak dapat ditampilkan" in html.text_content()


def test_a_report_unknown_to_sla_has_no_deadlines(client):
    html = page(client.get(f"/lacak/{submitted(client)}"))
    assert not html.xpath("//*[@id='deadlines-heading']")
    assert "Belum ada notifikasi." in html.text_content()


def test_without_intake_the_form_keeps_what_was_typed_and_asks_to_send_again(make_app, closed_address,
                                                                             others_address):
    client = make_app(closed_address, others_address, others_address, intake_timeout=0.5).test_client()
    form = report_form(client)
    response = client.post("/laporan", data=form)
    assert response.status_code == 503
    html = page(response)
    assert "Silakan kirim kembali" in html.text_content()
    assert html.get_element_by_id("title").get("value") == form["title"]
    assert html.xpath("//input[@name='nonce']/@value") == [form["nonce"]]
    assert client.get("/lacak/LAP-AAAA0001").status_code == 503


def test_a_report_refused_while_intake_was_down_goes_through_once_it_is_back(make_app, closed_address, others_address,
                                                                            pool, clock, database_url):
    client = make_app(closed_address, others_address, others_address, intake_timeout=3.0).test_client()
    form = report_form(client)
    assert client.post("/laporan", data=form).status_code == 503
    intake = GrpcServer(name="intake", identity_key=IDENTITY_KEY, threads=4)
    intake.add(*intake_api.register(IntakeService(pool=pool, clock=clock)))
    intake.start(int(closed_address.rsplit(":", 1)[1]), host="127.0.0.1")
    try:
        first, again = client.post("/laporan", data=form), client.post("/laporan", data=form)
    finally:
        intake.stop(0)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert row_counts(database_url)["reports"] == 1


def test_health(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")
