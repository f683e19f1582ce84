"""The report form, its confirmation and the tracking page, through real HTTP against the portal
served by waitress, with a real intake server and PostgreSQL.

The helpers at the top work with a `Visitor` (tests/portal/conftest.py) and with Flask's test
client alike: both keep cookies and answer with status_code, headers and text."""

import re
import socket
from datetime import datetime, timezone

import lxml.html
import psycopg
import pytest
from google.protobuf import timestamp_pb2

from services.intake import grpc_api as intake_api
from services.intake.service import IntakeService
from services.plumbing import categories
from services.plumbing.grpc_server import GrpcServer
from services.portal import tracking, web
from services.portal.http_server import MAX_BODY_BYTES
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2
from sp4n.sla.v1 import sla_pb2
from tests.intake.reports import AGENCY_NAME, LIAISON, follow_up, forward, row_counts, set_status
from tests.support import IDENTITY_KEY

TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")
NOTHING = {"reports": 0, "reporters": 0, "timeline": 0, "outbox": 0}


def page(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.text)


def text_of(response) -> str:
    return " ".join(page(response).text_content().split())


def hidden_in(response, action: str | None = None) -> dict[str, str]:
    """The hidden fields (CSRF token, nonce) of a form in a response: the first in <main>, or the
    one posting to `action`."""
    form = page(response).xpath(f"//form[@action='{action}']" if action else "//main//form")[0]
    return {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}


def hidden(client, path: str = "/", action: str | None = None) -> dict[str, str]:
    """The hidden fields of a form on the page at `path` (see hidden_in)."""
    return hidden_in(client.get(path), action)


def nonce(client) -> str:
    return hidden(client)["nonce"]


def report_form(client, **fields) -> dict:
    return {**hidden(client), "type": "pengaduan", "title": "Jalan berlubang di Batulicin",
            "description": "Lubang besar di Jalan Raya Batulicin dekat pasar.", "category": "infrastruktur",
            "region_code": "6310", "location_text": "Jl. Raya Batulicin km 3", "name": "Siti Rahmah",
            "phone": "0812-3456-7890", "email": "siti@contoh.id", **fields}


def confirmed(client, response) -> tuple[str, str]:
    """The tracking ID and access code the confirmation page shows after a report was sent."""
    assert (response.status_code, response.headers["Location"]) == (303, "/laporan/terkirim"), response.text
    html = page(client.get("/laporan/terkirim"))
    code = html.xpath("string(//*[@id='access-code'])")
    return html.get_element_by_id("tracking-id").text_content(), code


def submitted_with_code(client, **fields) -> tuple[str, str]:
    return confirmed(client, client.post("/laporan", data=report_form(client, **fields)))


def submitted(client, **fields) -> str:
    return submitted_with_code(client, **fields)[0]


def field_message(response, field: str) -> str:
    """The error message shown next to a form field."""
    html = page(response)
    control = html.get_element_by_id(field)
    [error_id] = [i for i in control.get("aria-describedby", "").split() if i.endswith("-error")]
    error = html.get_element_by_id(error_id)
    said_to_screen_readers = error.xpath("string(span[@class='visually-hidden'])")  # "Kesalahan: "
    return error.text_content()[len(said_to_screen_readers):].strip()


def enter_code(client, tracking_id: str, code: str, **fields):
    path = f"/lacak/{tracking_id}"
    return client.post(path, data={**hidden(client, path, action=path), "access_code": code, **fields})


@pytest.fixture
def person(visitor):
    return visitor()


def test_the_form_labels_every_field_and_carries_a_nonce_and_a_csrf_token(person):
    response = person.get("/")
    assert response.status_code == 200
    html = page(response)
    controls = html.xpath("//main//form//input[not(@type='hidden')] | //main//form//select | //main//form//textarea")
    labelled = set(html.xpath("//label/@for"))
    assert len(controls) >= 14 and all(c.get("id") in labelled for c in controls)
    assert html.xpath("//html/@lang") == ["id"]
    fields = hidden(person)
    assert len(fields["nonce"]) > 30 and fields["nonce"] != nonce(person)
    assert len(fields["csrf_token"]) > 30 and fields["csrf_token"] == hidden(person)["csrf_token"]
    assert html.xpath("//input[@id='attachments']/@multiple")
    assert html.xpath("//input[@id='incident_date']/@type") == ["date"]
    assert "paling banyak 5 berkas, masing-masing paling besar 5 MiB" in html.get_element_by_id("attachments-hint").text


def test_the_form_offers_every_category_reports_carry_in_order_each_by_its_label(person):
    html = page(person.get("/"))
    options = html.xpath("//select[@id='category']/option[@value!='']")
    assert [o.get("value") for o in options] == list(categories.CODES)
    assert options[0].text_content().strip() == "Infrastruktur"
    assert options[-1].text_content().strip() == "Lainnya"


def test_pages_carry_security_headers_and_a_session_cookie_only_the_server_reads(person):
    response = person.get("/")
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("sp4n_sesi=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie and "Expires" not in cookie  # plain HTTP here; expiry is kept by the server


def test_the_session_cookie_is_secure_over_https(app):
    response = app.test_client().get("/", base_url="https://portal.example")
    assert "Secure" in response.headers["Set-Cookie"]


def test_only_a_hash_of_the_session_id_is_stored(person, database_url):
    person.get("/")
    session_id = person.http.cookies["sp4n_sesi"]
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT encode(id_hash, 'hex') FROM portal.sessions").fetchall()
    assert len(stored) == 1 and session_id not in stored[0][0]


def test_a_report_sent_from_the_form_is_confirmed_with_its_tracking_id_and_access_code_once(person, database_url):
    response = person.post("/laporan", data=report_form(person))
    assert "access" not in response.headers["Location"] and "kode" not in response.headers["Location"]
    confirmation = person.get("/laporan/terkirim")
    html = page(confirmation)
    tracking_id = html.get_element_by_id("tracking-id").text_content()
    code = html.get_element_by_id("access-code").text_content()
    assert TRACKING_ID.fullmatch(tracking_id) and re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    assert "Catat atau simpan kode ini sekarang." in text_of(confirmation)
    again = person.get("/laporan/terkirim")
    assert tracking_id in again.text and code not in again.text  # shown once
    assert row_counts(database_url) == {"reports": 1, "reporters": 1, "timeline": 1, "outbox": 1}
    with psycopg.connect(database_url) as conn:
        [[data]] = conn.execute("SELECT data::text FROM portal.sessions").fetchall()
    assert code not in data and code.replace("-", "") not in data  # not kept once shown


def test_the_session_that_sent_a_report_follows_it_at_once(person):
    tracking_id = submitted(person)
    response = person.get(f"/lacak/{tracking_id}")
    assert response.status_code == 200
    html = page(response)
    assert html.xpath("string(//h1)") == tracking_id
    assert html.get_element_by_id("status").text_content().strip() == "Status: Menunggu verifikasi"
    assert "Kabupaten Tanah Bumbu" in response.text


def test_the_session_id_changes_when_the_session_gains_access_to_a_report(person, visitor):
    person.get("/")
    before = person.http.cookies["sp4n_sesi"]
    tracking_id = submitted(person)
    assert person.http.cookies["sp4n_sesi"] != before
    fixated = visitor()
    fixated.http.cookies.set("sp4n_sesi", before)
    assert "access_code" in fixated.get(f"/lacak/{tracking_id}").text  # the old id is worth nothing


def test_the_tracking_page_never_shows_who_reported(person):
    text = person.get(f"/lacak/{submitted(person)}").text
    for who in ("Siti", "Rahmah", "81234567890", "0812-3456-7890", "siti@contoh.id"):
        assert who not in text


def test_sending_the_same_form_twice_makes_one_report(person, visitor, database_url):
    form = report_form(person)
    first = person.post("/laporan", data=form)
    first_id, _code = confirmed(person, first)
    # The session was renewed when it was given access: the form's token is stale, but sending the
    # form shown again (same nonce) gives the same report, and the code shown now is the one that works.
    again = person.post("/laporan", data=form)
    assert again.status_code == 400 and row_counts(database_url)["reports"] == 1
    resent = person.post("/laporan", data={**form, **hidden_in(again)})
    tracking_id, code = confirmed(person, resent)
    assert tracking_id == first_id and row_counts(database_url)["reports"] == 1
    assert enter_code(visitor(), tracking_id, code).status_code == 303


def test_a_missing_title_is_shown_next_to_the_title_and_what_was_typed_is_kept(person, database_url):
    form = report_form(person, title="")
    response = person.post("/laporan", data=form)
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


def test_every_problem_in_the_form_is_listed_at_once(person, database_url):
    response = person.post("/laporan", data=report_form(person, type="", title="Oi", description="", category="x",
                                                        phone="", email="", incident_date="31/02/2026"))
    assert response.status_code == 400
    summary = page(response).xpath("//div[@class='error-summary']//li")
    assert len(summary) == 6
    assert field_message(response, "title") == "Judul minimal 5 karakter (sekarang 2)."
    assert field_message(response, "incident_date") == "Tanggal kejadian tidak valid. Contoh: 16/03/2026."
    assert "Isi nomor ponsel atau alamat e-mail" in response.text
    assert row_counts(database_url) == NOTHING


@pytest.mark.parametrize("fields, field, message", [
    (dict(phone="021-5551234"), "phone", "Nomor ponsel tidak valid"),
    (dict(email="siti@contoh"), "email", "Alamat e-mail tidak valid"),
    (dict(title="Jalan\x00berlubang"), "title", "Judul harus terdiri dari 5 sampai 150 karakter"),
    (dict(incident_date="1999-12-31"), "incident_date", "Tanggal kejadian harus antara 1 Januari 2000 dan hari ini"),
    (dict(incident_date="2026-03-18"), "incident_date", "Tanggal kejadian harus antara 1 Januari 2000 dan hari ini"),
])
def test_what_cannot_be_accepted_is_shown_next_to_the_field_in_indonesian(person, database_url, fields, field,
                                                                          message):
    response = person.post("/laporan", data=report_form(person, **fields))
    assert response.status_code == 400
    assert field_message(response, field).startswith(message)
    assert row_counts(database_url) == NOTHING


def test_the_incident_date_reaches_the_report(person):
    tracking_id = submitted(person, incident_date="14/03/2026")
    html = page(person.get(f"/lacak/{tracking_id}"))
    assert html.xpath("string(//dt[.='Tanggal kejadian']/following-sibling::dd[1])") == "14 Maret 2026"


@pytest.mark.parametrize("forged", ["", "not-a-nonce", "abc.0123456789abcdef0123456789abcdef"])
def test_a_form_the_portal_did_not_issue_is_refused(person, database_url, forged):
    response = person.post("/laporan", data=report_form(person, nonce=forged))
    assert response.status_code == 400
    assert "Muat ulang halaman" in response.text
    assert row_counts(database_url) == NOTHING


@pytest.mark.parametrize("token", [None, "", "bukan-token-sesi-ini"])
def test_a_report_without_the_sessions_csrf_token_is_refused_and_what_was_typed_is_kept(person, visitor,
                                                                                        database_url, token):
    form = report_form(person, csrf_token=token)
    if token is None:
        del form["csrf_token"]
    response = person.post("/laporan", data=form)
    assert response.status_code == 400
    assert "Halaman ini sudah terlalu lama dibuka" in response.text
    assert page(response).get_element_by_id("title").get("value") == form["title"]
    other = visitor()  # another browser, with the first one's token
    assert other.post("/laporan", data={**report_form(person), "csrf_token": hidden(person)["csrf_token"]}) \
        .status_code == 400
    assert row_counts(database_url) == NOTHING


def test_everything_typed_is_escaped(person):
    tracking_id = submitted(person, title="<script>alert(1)</script>", location_text='"><img src=x>')
    text = person.get(f"/lacak/{tracking_id}").text
    assert "<script>alert" not in text and "<img src=x>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_an_oversized_form_is_refused(person, database_url):
    response = person.post("/laporan", data=report_form(person, description="x" * 70_000))
    assert response.status_code == 413
    assert row_counts(database_url) == NOTHING


def test_a_typed_tracking_id_is_read_forgivingly(person):
    tracking_id = submitted(person)
    typed = tracking_id[4:].lower().replace("0", "o").replace("1", "l")
    response = person.get("/lacak", params={"id": f"  {typed} "})
    assert (response.status_code, response.headers["Location"]) == (303, f"/lacak/{tracking_id}")
    response = person.get(f"/lacak/{tracking_id.lower()}")
    assert (response.status_code, response.headers["Location"]) == (301, f"/lacak/{tracking_id}")


def test_the_lookup_form_explains_a_malformed_tracking_id(person):
    assert person.get("/lacak").status_code == 200
    response = person.get("/lacak", params={"id": "LAP-12<b>"})
    assert response.status_code == 400
    assert field_message(response, "id").startswith("Nomor pelacakan tidak valid")


@pytest.mark.parametrize("path", ["/lacak/bukan-nomor", "/tidak-ada", "/lacak/LAP-AAAA0001/lampiran/1"])
def test_unknown_pages_are_not_found(person, path):
    response = person.get(path)
    assert response.status_code == 404
    assert page(response).xpath("string(//h1)") == "Tidak ditemukan"


def test_without_access_the_tracking_page_asks_for_the_code_and_shows_nothing_of_the_report(person, visitor):
    tracking_id = submitted(person, title="Pungutan liar di kantor kelurahan")
    stranger = visitor()
    known, unknown = stranger.get(f"/lacak/{tracking_id}"), stranger.get("/lacak/LAP-ZZZZZZZZ")
    assert known.status_code == unknown.status_code == 200
    for response in (known, unknown):
        html = page(response)
        assert html.xpath("//label[@for='access_code']/text()") == ["Kode akses"]
        assert not html.xpath("//*[@id='status']") and not html.xpath("//ol[@class='timeline']")
    assert "Pungutan liar" not in known.text
    # Whether a tracking ID exists is not told either.
    assert text_of(known).replace(tracking_id, "X") == text_of(unknown).replace("LAP-ZZZZZZZZ", "X")


def test_the_access_code_opens_the_report_in_another_browser(person, visitor):
    tracking_id, code = submitted_with_code(person)
    other = visitor()
    response = enter_code(other, tracking_id, f"  {code.lower()} ")
    assert (response.status_code, response.headers["Location"]) == (303, f"/lacak/{tracking_id}")
    assert page(other.get(f"/lacak/{tracking_id}")).get_element_by_id("status") is not None


@pytest.mark.parametrize("code", ["AAAA-BBBB-CCCC-DDDD", "salah", "x" * 101])
def test_a_wrong_code_is_told_next_to_the_field_without_detail(person, visitor, code):
    tracking_id, _right = submitted_with_code(person)
    other = visitor()
    for target in (tracking_id, "LAP-ZZZZZZZZ"):
        response = enter_code(other, target, code)
        assert response.status_code == 400
        assert field_message(response, "access_code") == ("Kode akses salah. Periksa kembali kode yang Anda terima "
                                                          "saat mengirim laporan.")
        assert page(response).get_element_by_id("access_code").get("value") is None  # not echoed
    assert "access_code" in other.get(f"/lacak/{tracking_id}").text


def test_a_code_without_the_sessions_csrf_token_is_refused(person, visitor):
    tracking_id, code = submitted_with_code(person)
    other = visitor()
    response = enter_code(other, tracking_id, code, csrf_token="palsu")
    assert response.status_code == 400
    assert "access_code" in other.get(f"/lacak/{tracking_id}").text


def test_a_code_for_one_report_does_not_open_another(person, visitor):
    first, code = submitted_with_code(person)
    second = submitted(visitor())
    assert enter_code(person, second, code).status_code == 400
    assert "access_code" in person.get(f"/lacak/{second}").text


def test_repeated_wrong_codes_are_refused_for_a_while(person, visitor, clock):
    tracking_id, code = submitted_with_code(visitor())
    for _ in range(10):
        assert enter_code(person, tracking_id, "AAAA-BBBB-CCCC-DDDD").status_code == 400
    refused = enter_code(person, tracking_id, code)
    assert refused.status_code == 429
    assert page(refused).xpath("string(//h1)") == "Terlalu banyak percobaan"
    clock.advance(tracking.CODE_WINDOW)
    assert enter_code(person, tracking_id, code).status_code == 303


def test_an_idle_session_loses_its_access(person, clock):
    tracking_id = submitted(person)
    clock.advance(web.SESSION_IDLE / 2)
    assert "status" in person.get(f"/lacak/{tracking_id}").text  # a request moves the idle expiry on
    clock.advance(web.SESSION_IDLE / 2 + web.SESSION_IDLE / 4)
    assert page(person.get(f"/lacak/{tracking_id}")).xpath("//*[@id='status']")
    clock.advance(web.SESSION_IDLE + web.SESSION_IDLE / 60)
    assert not page(person.get(f"/lacak/{tracking_id}")).xpath("//*[@id='status']")


def test_a_session_ends_at_its_absolute_expiry_however_busy(person, clock):
    tracking_id = submitted(person)
    for _ in range(int(web.SESSION_ABSOLUTE / (web.SESSION_IDLE / 2))):
        clock.advance(web.SESSION_IDLE / 2)
        person.get(f"/lacak/{tracking_id}")
    assert not page(person.get(f"/lacak/{tracking_id}")).xpath("//*[@id='status']")


def test_the_timeline_shows_forwarding_follow_ups_replies_and_status_changes(person, intake_stub):
    tracking_id = submitted(person)
    forward(intake_stub, tracking_id)
    follow_up(intake_stub, tracking_id, body="Perbaikan dijadwalkan pekan depan.", metadata=LIAISON)
    reply_form = hidden(person, f"/lacak/{tracking_id}", action=f"/lacak/{tracking_id}/tanggapan")
    response = person.post(f"/lacak/{tracking_id}/tanggapan", data={**reply_form, "body": "Sampai sekarang belum."})
    assert (response.status_code, response.headers["Location"]) == (303, f"/lacak/{tracking_id}#riwayat")
    set_status(intake_stub, tracking_id, intake_pb2.REPORT_STATUS_ON_HOLD, reason="Menunggu anggaran")
    html = page(person.get(f"/lacak/{tracking_id}"))
    entries = [" ".join(e.text_content().split()) for e in html.xpath("//ol[@class='timeline']/li")]
    assert [e.split(" WIB ", 1)[1] for e in entries] == [
        "Laporan dikirim",
        f"Diteruskan ke {AGENCY_NAME}",
        f"Tindak lanjut dari {AGENCY_NAME} Perbaikan dijadwalkan pekan depan.",
        "Tanggapan pelapor Sampai sekarang belum.",
        "Status: Ditunda Menunggu anggaran",
    ]
    assert html.get_element_by_id("agency").text_content() == AGENCY_NAME
    assert html.get_element_by_id("status").text_content().strip() == "Status: Ditunda"


def test_the_tracking_page_shows_deadlines_and_the_reporters_notifications(person, fake_sla, fake_notify):
    tracking_id = submitted(person)
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
    response = person.get(f"/lacak/{tracking_id}")
    text = text_of(response)
    assert "Batas verifikasi laporan 19 Maret 2026, 23.59 WIB terlambat" in text
    assert "Batas tindak lanjut instansi 19 Maret 2026, 23.59 WIB" in text
    rows = page(response).xpath("//table[@class='notifications']/tbody/tr")
    assert [[cell.text_content() for cell in row.xpath("td")][1:] for row in rows] == [
        ["Laporan diterima", "SMS", "Terkirim"]]  # the agency's notification is not the reporter's business
    assert "Siti" not in response.text


def test_the_tracking_page_does_without_sla_and_notify(make_app, intake_address, closed_address, serve_app):
    person = serve_app(make_app(intake_address, closed_address, closed_address))
    tracking_id = submitted(person)
    response = person.get(f"/lacak/{tracking_id}")
    assert response.status_code == 200
    html = page(response)
    assert html.xpath("string(//h1)") == tracking_id
    assert not html.xpath("//*[@id='deadlines-heading']")
    assert "Daftar notifikasi sedang tidak dapat ditampilkan" in html.text_content()


def test_a_report_unknown_to_sla_has_no_deadlines(person):
    html = page(person.get(f"/lacak/{submitted(person)}"))
    assert not html.xpath("//*[@id='deadlines-heading']")
    assert "Belum ada notifikasi." in html.text_content()


def test_without_intake_the_form_keeps_what_was_typed_and_asks_to_send_again(make_app, closed_address,
                                                                             others_address, serve_app):
    person = serve_app(make_app(closed_address, others_address, others_address, intake_timeout=0.5))
    form = report_form(person)
    response = person.post("/laporan", data=form)
    assert response.status_code == 503
    html = page(response)
    assert "Silakan kirim kembali" in html.text_content()
    assert html.get_element_by_id("title").get("value") == form["title"]
    assert html.xpath("//input[@name='nonce']/@value") == [form["nonce"]]
    assert person.post("/lacak/LAP-AAAA0001", data={**hidden(person, "/lacak/LAP-AAAA0001"),
                                                    "access_code": "AAAA-BBBB-CCCC-DDDD"}).status_code == 503


def test_a_report_refused_while_intake_was_down_goes_through_once_it_is_back(make_app, closed_address, others_address,
                                                                            pool, clock, database_url, serve_app):
    person = serve_app(make_app(closed_address, others_address, others_address, intake_timeout=3.0))
    form = report_form(person)
    assert person.post("/laporan", data=form).status_code == 503
    intake = GrpcServer(name="intake", identity_key=IDENTITY_KEY, threads=4)
    intake.add(*intake_api.register(IntakeService(pool=pool, clock=clock)))
    intake.start(int(closed_address.rsplit(":", 1)[1]), host="127.0.0.1")
    try:
        first = person.post("/laporan", data=form)  # the same session: its token is still good
    finally:
        intake.stop(0)
    assert first.status_code == 303
    assert row_counts(database_url)["reports"] == 1


def test_health(person):
    response = person.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


def test_a_body_larger_than_any_surface_takes_is_refused_before_it_is_read(portal_url, database_url):
    host, port = portal_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(f"POST /api/v1/reports HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode())
        answer = connection.recv(200).decode()
    assert answer.startswith("HTTP/1.1 413")
