"""The agency console (/staf/instansi): through real HTTP against the portal served by waitress, over a
real intake and a real routing on the test database, with sla as a stand-in that gives deadlines.

A liaison officer of Dinas PUPR Tanah Bumbu sees its reports only, with their deadlines; posts a
follow-up that reaches intake's timeline; declines a report, which reaches routing. Another agency's
staff, national roles and signed-out visitors are refused, and nothing changes."""

from datetime import datetime, timedelta, timezone

import grpc
import lxml.html
import psycopg
import pytest

from services.plumbing import identity
from services.plumbing.errors import NotFound
from services.portal import forms
from services.sla.calendar import WorkingCalendar
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.notify.v1 import notify_pb2
from sp4n.routing.v1 import routing_pb2, routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2
from tests.intake.reports import ADMIN, SLA, T0, at, forward, reporter, submit
from tests.portal.conftest import PDF, png
from tests.portal.test_pages import field_message, hidden, page, text_of
from tests.support import caller
from tests.portal.test_staff_sign_in import DINKES, PUPR, sign_in, signed_in, staff  # noqa: F401 (staff: a fixture)

PUPR_NAME = "Dinas PUPR Kabupaten Tanah Bumbu"
DINKES_NAME = "Dinas Kesehatan Kabupaten Tanah Bumbu"
REASON = "Jalan desa ini kewenangan Dinas PUPR Provinsi, bukan kabupaten."


@pytest.fixture
def app(make_app, intake_address, others_address, routing_address):
    return make_app(intake_address, others_address, others_address, routing=routing_address)


@pytest.fixture
def assigned(intake_stub, routing_address, fake_sla, fake_notify):
    """Submits a report, forwards it to an agency in intake and assigns it in routing, as the lifecycle
    does; sla's stand-in gives it a follow-up deadline `due_in` from now. Returns the tracking ID."""
    channel = grpc.insecure_channel(routing_address)
    routing_stub = routing_pb2_grpc.RoutingServiceStub(channel)
    count = [0]

    def make(agency_id: str = PUPR, agency_name: str = PUPR_NAME, due_in: timedelta = timedelta(days=10),
             state: str = "open", due_soon_from: datetime | None = None, **fields) -> str:
        count[0] += 1
        tracking_id = submit(intake_stub, f"web-{count[0]}", **fields)
        forward(intake_stub, tracking_id, key=f"fwd-{count[0]}", agency_id=agency_id, agency_name=agency_name)
        routing_stub.AssignReport(routing_pb2.AssignReportRequest(
            idempotency_key=f"assign-{count[0]}", tracking_id=tracking_id, category="infrastruktur",
            region_code="6310", preferred_agency_id=agency_id), metadata=SLA)
        fake_sla.agencies[tracking_id] = agency_id
        fake_notify.agencies[tracking_id] = agency_id
        fake_sla.cases[tracking_id] = sla_pb2.Case(tracking_id=tracking_id, deadlines=[sla_pb2.Deadline(
            name="follow_up_overdue", due_at=at(T0 + due_in), owner=agency_id, state=state, started_at=at(T0),
            due_soon_from=at(due_soon_from) if due_soon_from else None)])
        return tracking_id

    yield make
    channel.close()


@pytest.fixture
def liaison(staff, visitor):  # noqa: F811
    staff("lo-pupr", identity.LIAISON_OFFICER, PUPR)
    return signed_in(visitor, "lo-pupr")


@pytest.fixture
def other_liaison(staff, visitor):  # noqa: F811
    staff("lo-dinkes", identity.LIAISON_OFFICER, DINKES)
    return signed_in(visitor, "lo-dinkes")


def inbox_ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row.get("id").removeprefix("report-") for row in page(response).xpath("//table[@id='reports']//tbody/tr")]


def timeline(intake_stub, tracking_id: str) -> list[tuple[str, str]]:
    report = intake_stub.GetReport(pb.GetReportRequest(tracking_id=tracking_id), metadata=ADMIN)
    return [(e.kind, e.body) for e in report.timeline]


def latest_assignment(database_url, tracking_id: str) -> tuple:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT agency_id, declined_reason FROM routing.assignments WHERE tracking_id = %s "
                            "ORDER BY id DESC LIMIT 1", (tracking_id,)).fetchone()


def follow_up_form(person, tracking_id: str, **fields) -> dict:
    action = f"/staf/instansi/{tracking_id}/tindak-lanjut"
    return {**hidden(person, f"/staf/instansi/{tracking_id}", action=action), **fields}


def decline_form(person, tracking_id: str, **fields) -> dict:
    action = f"/staf/instansi/{tracking_id}/tolak"
    return {**hidden(person, f"/staf/instansi/{tracking_id}", action=action), **fields}


# The inbox

def test_the_inbox_lists_only_the_agencys_own_reports_newest_first(assigned, liaison):
    first, second = assigned(), assigned(title="Lampu jalan padam di Simpang Empat")
    assigned(agency_id=DINKES, agency_name=DINKES_NAME, title="Puskesmas tutup pada jam kerja")
    response = liaison.get("/staf/instansi")
    assert inbox_ids(response) == [second, first]
    assert "Puskesmas" not in response.text


def test_the_inbox_marks_overdue_and_due_soon_and_orders_by_deadline(assigned, liaison):
    later = assigned(due_in=timedelta(days=5))
    soon = assigned(due_in=timedelta(hours=20))
    overdue = assigned(due_in=timedelta(hours=-2))
    rows = page(liaison.get("/staf/instansi"))
    assert rows.get_element_by_id(f"report-{overdue}").get("class") == "overdue"
    assert "Terlambat" in rows.get_element_by_id(f"report-{overdue}").text_content()
    assert rows.get_element_by_id(f"report-{soon}").get("class") == "due-soon"
    assert "Segera berakhir" in rows.get_element_by_id(f"report-{soon}").text_content()
    assert rows.get_element_by_id(f"report-{later}").get("class") is None
    assert "Batas tindak lanjut instansi" in rows.get_element_by_id(f"report-{later}").text_content()
    assert inbox_ids(liaison.get("/staf/instansi?urutan=tenggat")) == [overdue, soon, later]


WITA = timezone(timedelta(hours=8))


def last_working_day(due_at: datetime) -> datetime:
    """What sla gives as due_soon_from for a deadline of an agency in Asia/Makassar: the start of its last
    working day by the national calendar (sla's own, computed here as sla does)."""
    return WorkingCalendar().start_of_last_working_days(due_at, 1, "Asia/Makassar")


def test_a_deadline_is_due_soon_in_its_last_working_day_not_its_last_24_hours(assigned, liaison, clock, visitor):
    def inbox(query: str = "") -> lxml.html.HtmlElement:  # signed in anew: days pass, sessions expire
        return page(signed_in(visitor, "lo-pupr").get("/staf/instansi" + query))

    # Friday 20 March 2026 became a day off (cuti bersama Idul Fitri), after Nyepi on Thursday and its cuti
    # bersama on Wednesday: a deadline that Friday is due soon from Tuesday, three days before it ends.
    friday = datetime(2026, 3, 20, 23, 59, 59, tzinfo=WITA)
    wednesday = datetime(2026, 3, 25, 23, 59, 59, tzinfo=WITA)  # the first working day after Idul Fitri
    assert last_working_day(friday) == datetime(2026, 3, 17, 0, 0, tzinfo=WITA)
    holiday = assigned(due_in=friday - T0, due_soon_from=last_working_day(friday))
    after = assigned(due_in=wednesday - T0, due_soon_from=last_working_day(wednesday))
    rows = inbox()  # Monday 16 March, 11:00 WITA
    assert [rows.get_element_by_id(f"report-{t}").get("class") for t in (holiday, after)] == [None, None]
    clock.set(datetime(2026, 3, 17, 9, 0, tzinfo=WITA))  # Tuesday morning
    rows = inbox()
    marked = rows.get_element_by_id(f"report-{holiday}")
    assert marked.get("class") == "due-soon" and "Segera berakhir" in marked.text_content()
    assert marked.xpath("string(.//*[@class='time-left'])") == "(3 hari lagi)"
    assert rows.get_element_by_id(f"report-{after}").get("class") is None
    clock.set(datetime(2026, 3, 24, 23, 59, 0, tzinfo=WITA))  # a minute before Wednesday: 24 hours away
    assert inbox().get_element_by_id(f"report-{after}").get("class") is None
    clock.set(datetime(2026, 3, 25, 0, 0, 1, tzinfo=WITA))
    shown = inbox("?lang=en").get_element_by_id(f"report-{after}")
    assert shown.get("class") == "due-soon" and "(23 hours left)" in shown.text_content()


def test_the_inbox_is_paged(assigned, liaison, monkeypatch):
    from services.portal import agency_console
    made = [assigned(due_in=timedelta(days=n + 1)) for n in range(3)]
    monkeypatch.setattr(agency_console, "PAGE_SIZE", 2)
    first = liaison.get("/staf/instansi")
    assert inbox_ids(first) == made[::-1][:2]
    next_url = page(first).xpath("string(//a[@rel='next']/@href)")
    assert inbox_ids(liaison.get(next_url)) == made[:1]
    by_deadline = liaison.get("/staf/instansi?urutan=tenggat")
    assert inbox_ids(by_deadline) == made[:2]
    assert inbox_ids(liaison.get(page(by_deadline).xpath("string(//a[@rel='next']/@href)"))) == made[2:]


# The report

def test_the_report_shows_no_reporter_identity_with_its_timeline_replies_and_deadlines(assigned, liaison, intake_stub):
    tracking_id = assigned()
    intake_stub.PostFollowUp(pb.PostFollowUpRequest(idempotency_key="fu-1", tracking_id=tracking_id,
                                                    body="Perbaikan dijadwalkan."),
                             metadata=caller(identity.LIAISON_OFFICER, "lo-x", PUPR))
    intake_stub.PostReply(pb.PostReplyRequest(idempotency_key="r-1", tracking_id=tracking_id,
                                              body="Kapan tepatnya pekerjaan dimulai?"),
                          metadata=reporter(tracking_id))
    response = liaison.get(f"/staf/instansi/{tracking_id}")
    assert response.status_code == 200
    text = text_of(response)
    assert "Siti Rahmah" not in response.text and "siti@contoh.id" not in response.text
    assert "Identitas pelapor tidak ditampilkan kepada instansi" in text
    assert "Tanggapan pelapor" in text and "Kapan tepatnya pekerjaan dimulai?" in text
    assert "Batas tindak lanjut instansi" in text


def notification(tracking_id: str, id_: str, **fields) -> notify_pb2.Notification:
    return notify_pb2.Notification(**{"id": id_, "tracking_id": tracking_id, "event": "new_assignment",
                                      "recipient": "agency", "agency_id": PUPR, "channel": "in_app",
                                      "status": "sent", "created_at": at(T0), "sent_at": at(T0), **fields})


def test_the_report_shows_the_notifications_notify_lets_the_agency_see(assigned, liaison, fake_notify):
    tracking_id = assigned()
    fake_notify.notifications[tracking_id] = [
        notification(tracking_id, "1", event="forwarded", recipient="reporter", agency_id="", channel="email"),
        notification(tracking_id, "2"),
        notification(tracking_id, "3", channel="email", status="failed", attempts=6, sent_at=None,
                     last_error="smtp: 550 mailbox unavailable"),
        notification(tracking_id, "4", agency_id=DINKES),
    ]
    html = page(liaison.get(f"/staf/instansi/{tracking_id}"))
    rows = [[" ".join(c.text_content().split()) for c in r.xpath("td")]
            for r in html.xpath("//table[@id='notifications']/tbody/tr")]
    assert [r[:4] for r in rows] == [
        ["Laporan baru untuk instansi", "Instansi", "Aplikasi", "Terkirim"],
        ["Laporan baru untuk instansi", "Instansi", "E-mail",
         "Gagal dikirim (6 percobaan: smtp: 550 mailbox unavailable)"],
    ]  # the reporter's and another agency's are not for Dinas PUPR's staff: notify leaves them out
    assert rows[0][4] == rows[0][5] == "16 Maret 2026, 10.00 WIB" and rows[1][5] == "—"


def test_the_report_asks_notify_as_the_staff_member(assigned, liaison, other_liaison, fake_notify):
    tracking_id = assigned()
    fake_notify.notifications[tracking_id] = [notification(tracking_id, "1")]
    fake_notify.agencies[tracking_id] = DINKES  # notify thinks another agency holds it: it refuses Dinas PUPR
    html = page(liaison.get(f"/staf/instansi/{tracking_id}"))
    assert html.xpath("//table[@id='notifications']") == []
    assert html.get_element_by_id("notifications-unavailable") is not None


def test_without_notify_the_report_says_its_notifications_cannot_be_shown(make_app, intake_address, others_address,
                                                                         closed_address, routing_address, serve_app,
                                                                         assigned, staff):  # noqa: F811
    tracking_id = assigned()
    person = serve_app(make_app(intake_address, others_address, closed_address, routing=routing_address))
    staff("lo-pupr-2", identity.LIAISON_OFFICER, PUPR)
    assert sign_in(person, "lo-pupr-2").status_code == 303
    response = person.get(f"/staf/instansi/{tracking_id}")
    assert response.status_code == 200
    assert "Notifikasi laporan ini sedang tidak dapat ditampilkan" in text_of(response)
    assert "Batas tindak lanjut instansi" in text_of(response)  # the rest of the page is there


def test_an_anonymous_report_is_shown_as_anonymous(assigned, liaison):
    tracking_id = assigned(anonymous=True)
    html = page(liaison.get(f"/staf/instansi/{tracking_id}"))
    assert html.get_element_by_id("reporter").text_content() == "Anonim"


def test_attachments_download_as_the_staff_member(assigned, liaison, other_liaison):
    tracking_id = assigned(attachments=[pb.AttachmentUpload(filename="lubang.png", content=png())])
    link = page(liaison.get(f"/staf/instansi/{tracking_id}")).xpath("string(//ul[@class='attachments']//a/@href)")
    download = liaison.get(link)
    assert download.status_code == 200 and download.content == png()
    assert download.headers["Content-Type"] == "image/png"
    assert "attachment" in download.headers["Content-Disposition"]
    assert other_liaison.get(link).status_code == 403


# Follow-up

def test_a_follow_up_reaches_intakes_timeline(assigned, liaison, intake_stub):
    tracking_id = assigned()
    response = liaison.post(f"/staf/instansi/{tracking_id}/tindak-lanjut",
                            data=follow_up_form(liaison, tracking_id, body="Lubang akan ditambal Senin depan."))
    assert response.status_code == 303, response.text
    assert timeline(intake_stub, tracking_id)[-1] == ("follow_up", "Lubang akan ditambal Senin depan.")
    shown = liaison.get(response.headers["Location"])
    assert "Tindak lanjut untuk laporan" in text_of(shown)
    assert "Lubang akan ditambal Senin depan." in text_of(shown)
    assert "Sudah ditindaklanjuti" in text_of(shown)


def test_an_empty_follow_up_or_one_without_csrf_is_refused_and_nothing_posted(assigned, liaison, intake_stub):
    tracking_id = assigned()
    before = timeline(intake_stub, tracking_id)
    empty = liaison.post(f"/staf/instansi/{tracking_id}/tindak-lanjut",
                         data=follow_up_form(liaison, tracking_id, body="  "))
    assert empty.status_code == 400 and "Tulis tindak lanjut instansi Anda." in text_of(empty)
    forged = liaison.post(f"/staf/instansi/{tracking_id}/tindak-lanjut", data={"body": "Tanpa token"})
    assert forged.status_code == 400
    assert timeline(intake_stub, tracking_id) == before


def test_a_follow_up_on_a_report_no_longer_waiting_is_refused_with_a_message(assigned, liaison, intake_stub):
    tracking_id = assigned()
    fields = follow_up_form(liaison, tracking_id, body="Sudah kami tangani.")
    intake_stub.SetReportStatus(pb.SetReportStatusRequest(idempotency_key="close-1", tracking_id=tracking_id,
                                                          status=pb.REPORT_STATUS_CLOSED), metadata=SLA)
    before = timeline(intake_stub, tracking_id)
    response = liaison.post(f"/staf/instansi/{tracking_id}/tindak-lanjut", data=fields)
    assert response.status_code == 409
    assert "Laporan ini sedang tidak menunggu tindak lanjut instansi Anda." in text_of(response)
    assert timeline(intake_stub, tracking_id) == before


def stored_attachments(database_url) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT tracking_id, number, entry_id IS NOT NULL FROM intake.attachments "
                            "ORDER BY tracking_id, number").fetchall()


def post_follow_up_with(person, tracking_id: str, *files: tuple[str, bytes], body: str = "Lubang sudah ditambal."):
    return person.post(f"/staf/instansi/{tracking_id}/tindak-lanjut",
                       data=follow_up_form(person, tracking_id, body=body), files=[("attachments", (name, content, "application/octet-stream")) for name, content in files])


def entry_links(response) -> dict[str, str]:
    """The download links of the follow-ups' files on a report's page."""
    return {a.text_content(): a.get("href") for a in page(response).xpath("//ul[@class='entry-attachments']//a")}


def test_a_follow_up_with_files_shows_them_in_the_timeline_to_download(assigned, liaison, other_liaison, intake_stub,
                                                                       database_url):
    tracking_id = assigned(attachments=[pb.AttachmentUpload(filename="lubang.png", content=png())])
    response = post_follow_up_with(liaison, tracking_id, ("sesudah.png", png(3, 3)), ("berita-acara.pdf", PDF))
    assert response.status_code == 303, response.text
    report = intake_stub.GetReport(pb.GetReportRequest(tracking_id=tracking_id), metadata=ADMIN)
    assert [(a.id, a.filename) for a in report.timeline[-1].attachments] == [("2", "sesudah.png"),
                                                                             ("3", "berita-acara.pdf")]
    shown = liaison.get(response.headers["Location"])
    links = entry_links(shown)
    assert list(links) == ["sesudah.png", "berita-acara.pdf"]
    assert page(shown).xpath("//ul[@class='attachments']//a/text()") == ["lubang.png"]  # the report's own
    download = liaison.get(links["berita-acara.pdf"])
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert other_liaison.get(links["sesudah.png"]).status_code == 403
    assert stored_attachments(database_url) == [(tracking_id, 1, False), (tracking_id, 2, True), (tracking_id, 3, True)]


@pytest.mark.parametrize("files, message", [
    ([("denah.png", png()), ("skrip.pdf", b"#!/bin/sh\necho bukan pdf\n")], "Lampiran ke-2 tidak dapat diterima."),
    ([(f"foto-{n}.png", png()) for n in range(6)], "Lampirkan paling banyak 5 berkas."),
    ([("besar.png", png() + bytes(forms.MAX_ATTACHMENT_BYTES))], "Berkas besar.png lebih besar dari 5 MiB."),
    ([("kosong.png", b"")], "Berkas kosong.png kosong."),
])
def test_refused_files_are_said_next_to_the_file_input_and_nothing_is_posted(assigned, liaison, intake_stub,
                                                                             database_url, files, message):
    tracking_id = assigned()
    before = timeline(intake_stub, tracking_id), stored_attachments(database_url)
    response = post_follow_up_with(liaison, tracking_id, *files)
    assert response.status_code == 400
    assert field_message(response, "attachments").startswith(message)
    assert page(response).get_element_by_id("body").text_content() == "Lubang sudah ditambal."
    assert "pilih kembali sebelum mengirim" in page(response).get_element_by_id("attachments-hint").text_content()
    assert (timeline(intake_stub, tracking_id), stored_attachments(database_url)) == before


def test_files_over_the_upload_limit_are_refused_before_anything_is_read(assigned, liaison, intake_stub,
                                                                         database_url):
    tracking_id = assigned()
    before = timeline(intake_stub, tracking_id), stored_attachments(database_url)
    response = post_follow_up_with(liaison, tracking_id, *[(f"foto-{n}.png", bytes(forms.MAX_ATTACHMENT_BYTES))
                                                           for n in range(6)])
    assert response.status_code == 413
    assert "Tindak lanjut belum terkirim" in text_of(response)
    assert page(response).xpath("string(//main//a[last()]/@href)") == f"/staf/instansi/{tracking_id}#tindak-lanjut"
    assert (timeline(intake_stub, tracking_id), stored_attachments(database_url)) == before


def test_a_follow_up_with_files_sent_twice_is_posted_once(assigned, liaison, intake_stub, database_url):
    tracking_id = assigned()
    fields = follow_up_form(liaison, tracking_id, body="Foto perbaikan terlampir.")
    for _ in range(2):
        response = liaison.post(f"/staf/instansi/{tracking_id}/tindak-lanjut", data=fields,
                                files=[("attachments", ("foto.png", png(), "image/png"))])
        assert response.status_code == 303
    assert [kind for kind, _body in timeline(intake_stub, tracking_id)].count("follow_up") == 1
    assert stored_attachments(database_url) == [(tracking_id, 1, True)]


# Decline

def test_a_decline_reaches_routing(assigned, liaison, demo_routing, database_url):
    tracking_id = assigned()
    response = liaison.post(f"/staf/instansi/{tracking_id}/tolak",
                            data=decline_form(liaison, tracking_id, reason=REASON))
    assert (response.status_code, response.headers["Location"]) == (303, "/staf/instansi")
    assert latest_assignment(database_url, tracking_id) == (PUPR, REASON)
    with pytest.raises(NotFound):
        demo_routing.assignment(caller=identity.Caller("sla", identity.SERVICE), tracking_id=tracking_id)
    assert "dikembalikan untuk dirutekan ulang" in text_of(liaison.get("/staf/instansi"))


def test_a_decline_needs_a_reason_and_cannot_be_repeated(assigned, liaison, database_url):
    tracking_id = assigned()
    short = liaison.post(f"/staf/instansi/{tracking_id}/tolak", data=decline_form(liaison, tracking_id, reason="Bukan"))
    assert short.status_code == 400 and "Tulis alasan penolakan, 10 sampai 2.000 karakter." in text_of(short)
    assert latest_assignment(database_url, tracking_id) == (PUPR, None)
    assert liaison.post(f"/staf/instansi/{tracking_id}/tolak",
                        data=decline_form(liaison, tracking_id, reason=REASON)).status_code == 303
    again = liaison.post(f"/staf/instansi/{tracking_id}/tolak", data=decline_form(liaison, tracking_id, reason=REASON))
    assert again.status_code == 409
    assert "tidak dapat ditolak lagi" in text_of(again)


# Refusals

def test_another_agencys_report_is_refused_and_nothing_changes(assigned, liaison, other_liaison, intake_stub,
                                                               database_url):
    tracking_id = assigned()
    fields = follow_up_form(liaison, tracking_id)  # a real form of the right agency, posted by the other
    other_fields = {**hidden(other_liaison, "/staf", action="/staf/keluar"), "nonce": fields["nonce"]}
    before = timeline(intake_stub, tracking_id)
    assert other_liaison.get(f"/staf/instansi/{tracking_id}").status_code == 403
    refused = other_liaison.post(f"/staf/instansi/{tracking_id}/tindak-lanjut", data={**other_fields, "body": "Ambil"})
    assert refused.status_code == 403 and "Akses ditolak" in text_of(refused)
    declined = other_liaison.post(f"/staf/instansi/{tracking_id}/tolak", data={**other_fields, "reason": REASON})
    assert declined.status_code == 403
    assert timeline(intake_stub, tracking_id) == before
    assert latest_assignment(database_url, tracking_id) == (PUPR, None)
    assert tracking_id not in other_liaison.get("/staf/instansi").text


def test_signed_out_visitors_are_sent_to_sign_in(assigned, visitor):
    tracking_id = assigned()
    person = visitor()
    for path in ("/staf/instansi", f"/staf/instansi/{tracking_id}"):
        response = person.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/staf/masuk?lanjut=")
    posted = person.post(f"/staf/instansi/{tracking_id}/tolak", data={"reason": REASON})
    assert posted.status_code == 303 and posted.headers["Location"] == "/staf/masuk"


@pytest.mark.parametrize("role", [identity.NATIONAL_ADMIN, identity.PROCESS_ANALYST])
def test_other_roles_get_403(assigned, staff, visitor, role):  # noqa: F811
    tracking_id = assigned()
    staff("petugas", role)
    person = signed_in(visitor, "petugas")
    for path in ("/staf/instansi", f"/staf/instansi/{tracking_id}"):
        response = person.get(path)
        assert response.status_code == 403 and "Akses ditolak" in text_of(response)


def test_an_agency_admin_works_in_the_console_too(assigned, staff, visitor, intake_stub):  # noqa: F811
    tracking_id = assigned()
    staff("admin-pupr", identity.AGENCY_ADMIN, PUPR)
    person = signed_in(visitor, "admin-pupr")
    assert inbox_ids(person.get("/staf/instansi")) == [tracking_id]
    response = person.post(f"/staf/instansi/{tracking_id}/tindak-lanjut",
                           data=follow_up_form(person, tracking_id, body="Sudah dijadwalkan."))
    assert response.status_code == 303
    assert timeline(intake_stub, tracking_id)[-1] == ("follow_up", "Sudah dijadwalkan.")


def test_a_report_sla_has_no_deadlines_for_is_listed_without_one(assigned, liaison, fake_sla):
    tracking_id = assigned()
    fake_sla.cases.clear()
    rows = page(liaison.get("/staf/instansi"))
    assert rows.xpath(f"string(//tr[@id='report-{tracking_id}']/td[@class='deadline'])").strip() == "—"
    assert "Belum ada batas waktu." in text_of(liaison.get(f"/staf/instansi/{tracking_id}"))


def test_deadlines_are_asked_of_sla_as_the_staff_member(assigned, liaison, fake_sla):
    """sla decides whose deadlines a staff member sees: a case it holds for another agency (the report
    re-routed there, before intake heard) is not shown, though intake still lists the report."""
    tracking_id = assigned()
    fake_sla.agencies[tracking_id] = DINKES
    rows = page(liaison.get("/staf/instansi"))
    assert "Batas tindak lanjut instansi" not in rows.xpath(f"string(//tr[@id='report-{tracking_id}'])")
    assert "Batas waktu sedang tidak dapat ditampilkan" in text_of(liaison.get(f"/staf/instansi/{tracking_id}"))
    fake_sla.agencies[tracking_id] = PUPR
    assert "Batas tindak lanjut instansi" in text_of(liaison.get(f"/staf/instansi/{tracking_id}"))


# Dispatch to a unit (disposisi)

REGENCY, REGENCY_NAME = "kab-tanah-bumbu", "Pemerintah Kabupaten Tanah Bumbu"
NOTE = "Mohon tim PJU memeriksa lampu di depan Pasar Batulicin."


def dispatch_form(person, tracking_id: str, **fields) -> dict:
    action = f"/staf/instansi/{tracking_id}/disposisi"
    return {**hidden(person, f"/staf/instansi/{tracking_id}", action=action), **fields}


def assignments_and_events(database_url, tracking_id: str) -> tuple[list, list]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT agency_id, matched_by, active, dispatched_by, dispatch_note FROM "
                            "routing.assignments WHERE tracking_id = %s ORDER BY id", (tracking_id,)).fetchall()
        events = conn.execute("SELECT kind FROM routing.outbox WHERE tracking_id = %s ORDER BY id",
                              (tracking_id,)).fetchall()
    return rows, [kind for (kind,) in events]


@pytest.fixture
def regency_admin(staff, visitor):  # noqa: F811
    staff("admin-tanbu", identity.AGENCY_ADMIN, REGENCY)
    return signed_in(visitor, "admin-tanbu")


def test_the_agency_administrator_dispatches_to_a_unit_with_an_instruction(assigned, regency_admin, database_url):
    tracking_id = assigned(agency_id=REGENCY, agency_name=REGENCY_NAME)
    shown = page(regency_admin.get(f"/staf/instansi/{tracking_id}"))
    units = shown.xpath("//select[@id='dispatch-unit']/option/@value")
    assert units[0] == "" and PUPR in units and DINKES in units
    assert all(u.startswith(f"{REGENCY}-") for u in units[1:])  # the agencies directly under it, no others

    response = regency_admin.post(f"/staf/instansi/{tracking_id}/disposisi",
                                  data=dispatch_form(regency_admin, tracking_id, agency_id=PUPR, note=NOTE))
    assert (response.status_code, response.headers["Location"]) == (303, "/staf/instansi")
    rows, events = assignments_and_events(database_url, tracking_id)
    assert rows[-1] == (PUPR, "dispatch", True, "staff:1", NOTE)  # the account, as the portal names it to services
    assert events == ["agency_dispatched"]  # the report's process hears of it through routing's outbox
    assert "didisposisikan ke Dinas Pekerjaan Umum" in text_of(regency_admin.get("/staf/instansi"))


def test_the_unit_reads_the_instruction_once_the_report_is_its_own(assigned, regency_admin, staff, visitor,
                                                                     intake_stub):  # noqa: F811
    tracking_id = assigned(agency_id=REGENCY, agency_name=REGENCY_NAME)
    regency_admin.post(f"/staf/instansi/{tracking_id}/disposisi",
                       data=dispatch_form(regency_admin, tracking_id, agency_id=PUPR, note=NOTE))
    forward(intake_stub, tracking_id, key="fwd-unit", agency_id=PUPR, agency_name=PUPR_NAME)  # as the process does
    staff("lo-pupr", identity.LIAISON_OFFICER, PUPR)
    unit = signed_in(visitor, "lo-pupr")
    shown = page(unit.get(f"/staf/instansi/{tracking_id}"))
    assert shown.xpath("string(//*[@id='dispatch-note'])") == NOTE
    assert not shown.xpath("//select[@id='dispatch-unit']")  # a liaison officer dispatches nothing
    assert regency_admin.get(f"/staf/instansi/{tracking_id}").status_code == 403  # no longer the regency's


@pytest.mark.parametrize("fields, control, message", [
    ({"agency_id": "prov-kalimantan-selatan-dinas-pupr"}, "dispatch-unit", "Pilih unit di bawah instansi Anda."),
    ({"agency_id": ""}, "dispatch-unit", "Pilih unit di bawah instansi Anda."),
    ({"agency_id": PUPR, "note": "x" * 2001}, "dispatch-note-input",
     "Instruksi maksimal 2.000 karakter (sekarang 2.001)."),
])
def test_a_bad_dispatch_is_said_next_to_its_field_and_changes_nothing(assigned, regency_admin, database_url,
                                                                      fields, control, message):
    tracking_id = assigned(agency_id=REGENCY, agency_name=REGENCY_NAME)
    before = assignments_and_events(database_url, tracking_id)
    response = regency_admin.post(f"/staf/instansi/{tracking_id}/disposisi",
                                  data=dispatch_form(regency_admin, tracking_id, **fields))
    assert response.status_code == 400
    assert field_message(response, control) == message
    assert assignments_and_events(database_url, tracking_id) == before


def test_a_dispatch_routing_refuses_is_said_on_the_page(assigned, regency_admin, database_url):
    tracking_id = assigned(agency_id=REGENCY, agency_name=REGENCY_NAME)
    fields = dispatch_form(regency_admin, tracking_id, agency_id=PUPR)
    first = regency_admin.post(f"/staf/instansi/{tracking_id}/disposisi", data=fields)
    assert first.status_code == 303
    again = regency_admin.post(f"/staf/instansi/{tracking_id}/disposisi",
                               data=dispatch_form(regency_admin, tracking_id, agency_id=DINKES))
    # The regency no longer holds it: intake still shows it there (the process has not run here), so
    # the page opens, and routing's refusal is said on it.
    assert again.status_code == 409 and "tidak dapat didisposisikan" in text_of(again)
    rows, events = assignments_and_events(database_url, tracking_id)
    assert [r[0] for r in rows] == [REGENCY, PUPR] and events == ["agency_dispatched"]


def test_only_an_agency_administrator_may_dispatch(assigned, staff, visitor, database_url):  # noqa: F811
    tracking_id = assigned(agency_id=REGENCY, agency_name=REGENCY_NAME)
    staff("lo-tanbu", identity.LIAISON_OFFICER, REGENCY)
    officer = signed_in(visitor, "lo-tanbu")
    assert not page(officer.get(f"/staf/instansi/{tracking_id}")).xpath("//select[@id='dispatch-unit']")
    fields = {**hidden(officer, f"/staf/instansi/{tracking_id}", action=f"/staf/instansi/{tracking_id}/tindak-lanjut"),
              "agency_id": PUPR}
    before = assignments_and_events(database_url, tracking_id)
    refused = officer.post(f"/staf/instansi/{tracking_id}/disposisi", data=fields)
    assert refused.status_code == 403
    assert assignments_and_events(database_url, tracking_id) == before


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_dispatch_form_in_chromium_is_accessible_with_and_without_errors(assigned, staff, open_page, portal_url,
                                                                            language):  # noqa: F811
    # Imported here: at the top they would bring test_staff_browser's `page` fixture over this module's page().
    from tests.portal.test_browser_accessibility import assert_accessible
    from tests.portal.test_staff_browser import sign_in as sign_in_in_browser

    tracking_id = assigned(agency_id=REGENCY, agency_name=REGENCY_NAME)
    staff("admin-tanbu", identity.AGENCY_ADMIN, REGENCY)
    browser = open_page(axe=True)
    sign_in_in_browser(browser, portal_url, "admin-tanbu")
    browser.wait_for_url(f"{portal_url}/staf")
    browser.goto(f"{portal_url}/staf/instansi/{tracking_id}?lang={language}")
    assert browser.locator("#dispatch-unit option").count() > 1
    assert_accessible(browser)
    browser.locator("#disposisi button[type=submit]").click()  # no unit chosen
    assert browser.locator("#disposisi .error-summary").count() == 1
    assert browser.locator("#dispatch-unit").get_attribute("aria-invalid") == "true"
    assert_accessible(browser)
