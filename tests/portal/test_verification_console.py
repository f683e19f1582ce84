"""The verification console at /staf/verifikasi through real HTTP, over real intake, verification and
routing servers on the test database: the queue by deadline, a report's page, each decision reaching
verification, refusals shown where they belong and changing nothing, and other roles kept out."""

from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest

from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST
from services.sla.calendar import WorkingCalendar
from services.verification import grpc_api as verification_api
from services.verification.service import VerificationService
from sp4n.notify.v1 import notify_pb2
from sp4n.sla.v1 import sla_pb2
from sp4n.verification.v1 import verification_pb2 as vpb
from sp4n.verification.v1 import verification_pb2_grpc
from tests.intake.reports import T0, at, submit
from tests.portal.test_pages import field_message, hidden_in, page, text_of
from tests.portal.test_staff_sign_in import PUPR, sign_in, signed_in, staff  # noqa: F401 (fixture)
from tests.support import ROOT, service_caller

SLA = service_caller("sla")


@pytest.fixture
def verification_address(grpc_address, pool, clock):
    return grpc_address("verification", verification_api.register(VerificationService(pool=pool, clock=clock)))


@pytest.fixture
def app(make_app, intake_address, others_address, verification_address, routing_address):
    """The portal over real intake, verification and routing (with the demo directory)."""
    return make_app(intake_address, others_address, others_address, routing=routing_address,
                    verification=verification_address)


@pytest.fixture
def queue_stub(verification_address):
    with grpc.insecure_channel(verification_address) as channel:
        yield verification_pb2_grpc.VerificationServiceStub(channel)


@pytest.fixture
def people(staff, visitor):
    """Browsers signed in as each role, by role."""
    made = {NATIONAL_ADMIN: staff("admin-nasional", NATIONAL_ADMIN),
            AGENCY_ADMIN: staff("admin-pupr", AGENCY_ADMIN, PUPR),
            LIAISON_OFFICER: staff("petugas-pupr", LIAISON_OFFICER, PUPR),
            PROCESS_ANALYST: staff("analis", PROCESS_ANALYST)}

    def person(role: str):
        return signed_in(visitor, made[role].username)
    return person


@pytest.fixture
def admin(people):
    return people(NATIONAL_ADMIN)


def enqueue(stub, tracking_id: str, due_in: timedelta):
    request = vpb.EnqueueReportRequest(idempotency_key=f"enq-{tracking_id}", tracking_id=tracking_id)
    request.submitted_at.FromDatetime(T0)
    request.due_at.FromDatetime(T0 + due_in)
    stub.EnqueueReport(request, metadata=SLA)


@pytest.fixture
def reports(intake_stub, queue_stub):
    """Three reports in the queue: (late, soon, later) by their deadlines."""
    later = submit(intake_stub, "web-1", title="Lampu jalan mati di Simpang Empat", category="infrastruktur")
    soon = submit(intake_stub, "web-2", title="Puskesmas tutup pada jam layanan", category="kesehatan",
                  description="Puskesmas Batulicin tutup pada jam layanan pagi, warga tidak bisa berobat.",
                  anonymous=True)
    late = submit(intake_stub, "web-3", title="Jalan berlubang di Batulicin dekat pasar")
    enqueue(queue_stub, later, timedelta(days=3, hours=1))
    enqueue(queue_stub, soon, timedelta(hours=5, minutes=10))
    enqueue(queue_stub, late, timedelta(hours=-2, minutes=-5))
    return late, soon, later


def decisions(database_url) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT tracking_id, outcome, reason, category, agency_id, duplicate_of, archive_reason, "
                            "title, anonymous, confidential, decided_by FROM verification.decisions ORDER BY id"
                            ).fetchall()


def stored(database_url) -> tuple:
    """Everything a decision may change: decisions, queue, outbox."""
    with psycopg.connect(database_url) as conn:
        return (conn.execute("SELECT * FROM verification.decisions ORDER BY id").fetchall(),
                conn.execute("SELECT * FROM verification.queue ORDER BY tracking_id").fetchall(),
                conn.execute("SELECT kind, tracking_id, payload FROM verification.outbox ORDER BY id").fetchall())


def outbox(database_url) -> list[tuple]:
    return stored(database_url)[2]


def decide(person, tracking_id: str, action: str, **fields):
    path = f"/staf/verifikasi/{tracking_id}"
    form = hidden_in(person.get(path), f"{path}/{action}")
    return person.post(f"{path}/{action}", data={**form, **fields})


def decided(response) -> bool:
    return response.status_code == 303 and response.headers["Location"] == "/staf/verifikasi"


def test_the_queue_is_ordered_by_deadline_with_the_time_left_and_overdue_marked(admin, reports):
    late, soon, later = reports
    html = page(admin.get("/staf/verifikasi"))
    rows = html.xpath("//table[@id='queue']/tbody/tr")
    assert [r.get("id") for r in rows] == [f"queue-{t}" for t in (late, soon, later)]
    cells = [[" ".join(c.text_content().split()) for c in r.xpath("td")] for r in rows]
    assert cells[0][1:4] == ["Jalan berlubang di Batulicin dekat pasar", "Infrastruktur", "Kabupaten Tanah Bumbu"]
    assert cells[1][1:3] == ["Puskesmas tutup pada jam layanan", "Kesehatan"]
    assert [c[5] for c in cells] == ["terlambat 2 jam", "5 jam lagi", "3 hari lagi"]
    assert rows[0].get("class") == "overdue" and rows[1].get("class") is None
    english = page(admin.get("/staf/verifikasi?lang=en")).xpath("//table[@id='queue']/tbody/tr/td[6]")
    assert [c.text_content().strip() for c in english] == ["2 hours overdue", "5 hours left", "3 days left"]


def queue_rows(response) -> list[str]:
    return [r.get("id").removeprefix("queue-") for r in page(response).xpath("//table[@id='queue']/tbody/tr")]


def test_a_queue_of_more_than_a_page_is_read_page_by_page_in_deadline_order(admin, queue_stub, database_url):
    # 210 reports (more than the 200 the console showed at most), deadlines shared by six at a time
    due = {f"LAP-P{n:07d}": timedelta(hours=n // 6 - 10) for n in range(210)}
    for tracking_id in sorted(due, reverse=True):
        enqueue(queue_stub, tracking_id, due[tracking_id])
    expected = sorted(due, key=lambda t: (due[t], t))
    seen, response, pages = [], admin.get("/staf/verifikasi"), 1
    assert not page(response).xpath("//a[@rel='first']")
    while True:
        assert response.status_code == 200
        rows = queue_rows(response)
        assert len(rows) == (50 if pages < 5 else 10)
        seen += rows
        following = page(response).xpath("//a[@rel='next']/@href")
        if not following:
            break
        response = admin.get(following[0])
        pages += 1
        assert page(response).xpath("//a[@rel='first']/@href") == ["/staf/verifikasi"]
    assert (seen, pages) == (expected, 5)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM verification.queue").fetchone()[0] == 210


def test_a_queue_page_that_names_no_position_is_a_bad_request(admin, reports):
    assert admin.get("/staf/verifikasi?setelah=bukan-posisi").status_code == 400
    assert admin.get("/staf/verifikasi?setelah=" + "A" * 201).status_code == 400


def test_a_queued_report_is_due_soon_in_the_last_working_day_of_its_deadline(people, queue_stub, fake_sla, clock):
    wib = timezone(timedelta(hours=7))
    calendar = WorkingCalendar()  # sla's, from which sla's stand-in gives due_soon_from as sla does

    def queued(tracking_id: str, due_at: datetime | None, in_sla: bool = True) -> None:
        enqueue(queue_stub, tracking_id, due_at - T0)
        if in_sla:
            fake_sla.cases[tracking_id] = sla_pb2.Case(tracking_id=tracking_id, deadlines=[sla_pb2.Deadline(
                name="verification_overdue", owner="national", state="open", due_at=at(due_at), started_at=at(T0),
                due_soon_from=at(calendar.start_of_last_working_days(due_at, 1, "Asia/Jakarta")))])

    # Friday 20 March 2026 is a day off (cuti bersama Idul Fitri), as are Nyepi's Wednesday and Thursday
    queued("LAP-JMAT0001", datetime(2026, 3, 20, 23, 59, 59, tzinfo=wib))
    queued("LAP-RABV0001", datetime(2026, 3, 25, 23, 59, 59, tzinfo=wib))
    queued("LAP-TNPA0001", datetime(2026, 3, 20, 23, 59, 59, tzinfo=wib), in_sla=False)
    clock.set(datetime(2026, 3, 17, 8, 0, tzinfo=wib))  # Tuesday: the Friday deadline's last working day
    html = page(people(NATIONAL_ADMIN).get("/staf/verifikasi"))
    rows = {r.get("id").removeprefix("queue-"): r for r in html.xpath("//table[@id='queue']/tbody/tr")}
    assert rows["LAP-JMAT0001"].get("class") == "due-soon"
    assert " ".join(rows["LAP-JMAT0001"].xpath("string(td[6])").split()) == "3 hari lagi Segera berakhir"
    assert rows["LAP-RABV0001"].get("class") is None
    assert " ".join(rows["LAP-RABV0001"].xpath("string(td[6])").split()) == "8 hari lagi"
    assert rows["LAP-TNPA0001"].get("class") is None  # sla knows no case: the time left only
    assert " ".join(rows["LAP-TNPA0001"].xpath("string(td[6])").split()) == "3 hari lagi"


def test_the_staff_home_links_the_console_for_national_administrators_only(people):
    assert "/staf/verifikasi" in page(people(NATIONAL_ADMIN).get("/staf")).xpath("//main//a/@href")
    assert "/staf/verifikasi" not in page(people(LIAISON_OFFICER).get("/staf")).xpath("//main//a/@href")


def test_a_reports_page_shows_its_text_reporter_candidates_and_the_forms(admin, reports, intake_stub, queue_stub):
    late, soon, _later = reports
    twin = submit(intake_stub, "web-4", title="Jalan berlubang di Batulicin dekat pasar lama")
    enqueue(queue_stub, twin, timedelta(days=2))
    response = admin.get(f"/staf/verifikasi/{late}")
    assert response.status_code == 200
    html = page(response)
    assert html.xpath("string(//h1)") == "Jalan berlubang di Batulicin dekat pasar"
    assert html.get_element_by_id("reporter").text_content() == "Siti Rahmah"
    assert "Lubang besar di Jalan Raya Batulicin" in html.get_element_by_id("description").text_content()
    candidate = html.get_element_by_id(f"similar-{twin}")
    assert "Teks mirip" in candidate.text_content()
    actions = html.xpath("//main//form[@method='post']/@action")
    assert actions == [f"/staf/verifikasi/{late}/{a}"
                       for a in ("teruskan", "lengkapi", "tunda", "arsipkan", "duplikat")]
    assert all(f.xpath(".//input[@name='csrf_token']") for f in html.xpath("//main//form[@method='post']"))
    agencies = html.xpath("//select[@id='forward-agency']/option/@value")
    assert agencies[0] == "" and PUPR in agencies
    reasons = html.xpath("//select[@id='archive-reason']/option/text()")
    assert "Terlalu umum" in reasons and "Lainnya" in reasons
    # An anonymous report: no name, and its flag is shown set and cannot be unticked.
    other = page(admin.get(f"/staf/verifikasi/{soon}"))
    assert other.get_element_by_id("reporter").text_content() == "Anonim"
    flag = other.get_element_by_id("forward-anonymous")
    assert flag.get("checked") is not None and flag.get("disabled") is not None
    assert other.get_element_by_id("forward-confidential").get("disabled") is None


def test_a_reports_page_shows_all_its_notifications_with_failed_deliveries_explained(admin, reports, fake_notify):
    late = reports[0]
    fake_notify.notifications[late] = [
        notify_pb2.Notification(id="1", tracking_id=late, event="received", recipient="reporter", channel="sms",
                                status="sent", attempts=1, created_at=at(T0), sent_at=at(T0)),
        notify_pb2.Notification(id="2", tracking_id=late, event="deadline_approaching", recipient="national_admins",
                                channel="email", status="failed", attempts=6, last_error="smtp: connection refused",
                                created_at=at(T0)),
        notify_pb2.Notification(id="3", tracking_id=late, event="new_assignment", recipient="agency", agency_id=PUPR,
                                channel="in_app", status="sent", created_at=at(T0), sent_at=at(T0)),
    ]
    html = page(admin.get(f"/staf/verifikasi/{late}"))
    rows = [[" ".join(c.text_content().split()) for c in r.xpath("td")]
            for r in html.xpath("//table[@id='notifications']/tbody/tr")]
    assert [r[:4] for r in rows] == [
        ["Laporan diterima", "Pelapor", "SMS", "Terkirim"],
        ["Batas waktu segera berakhir", "Administrator nasional", "E-mail",
         "Gagal dikirim (6 percobaan: smtp: connection refused)"],
        ["Laporan baru untuk instansi", "Instansi", "Aplikasi", "Terkirim"],
    ]


def test_without_notify_a_reports_page_says_its_notifications_cannot_be_shown(
        make_app, intake_address, others_address, closed_address, routing_address, verification_address, serve_app,
        staff, reports):  # noqa: F811
    person = serve_app(make_app(intake_address, others_address, closed_address, routing=routing_address,
                                verification=verification_address))
    staff("admin-2", NATIONAL_ADMIN)
    assert sign_in(person, "admin-2").status_code == 303
    response = person.get(f"/staf/verifikasi/{reports[0]}")
    assert response.status_code == 200
    assert page(response).get_element_by_id("notifications-unavailable") is not None
    assert page(response).xpath("//form[@method='post']")  # the decisions are still there


def test_a_reports_page_shows_the_path_it_took_through_the_process(admin, reports, fake_sla):
    late = reports[0]
    model = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
    fake_sla.versions = [sla_pb2.ProcessVersion(version=1, content_hash="ab" * 32, newest=True, bpmn=model)]
    fake_sla.cases[late] = sla_pb2.Case(tracking_id=late, process_version="ab" * 32, status="running",
                                        stage="await_decision", path=[
                                            "report_submitted", "flow_report_submitted_prepare_case", "prepare_case",
                                            "flow_prepare_case_notify_received", "notify_received"])
    html = page(admin.get(f"/staf/verifikasi/{late}"))
    steps = html.xpath("//ol[@id='path']/li")
    assert [s.text_content() for s in steps] == ["Laporan masuk", "Siapkan kasus", "Beri tahu pelapor: diterima"]
    diagram = html.get_element_by_id("diagram", None)
    if diagram is not None:  # bpmn-js installed: the diagram marks the flows too
        assert diagram.get("data-path").split() == list(fake_sla.cases[late].path)


def test_a_reports_page_without_a_case_in_sla_says_it_has_no_path_yet(admin, reports):
    html = page(admin.get(f"/staf/verifikasi/{reports[0]}"))
    assert html.get_element_by_id("path-unavailable").text_content() == "sla belum mencatat proses untuk laporan ini."
    assert html.xpath("//form[@method='post']")  # the decisions are still there


def test_the_agency_list_is_searched_by_name(admin, reports):
    late = reports[0]
    html = page(admin.get(f"/staf/verifikasi/{late}?cari_instansi=kesehatan"))
    offered = html.xpath("//select[@id='forward-agency']/option/@value")
    assert "kab-tanah-bumbu-dinas-kesehatan" in offered and PUPR not in offered


def test_forwarding_reaches_verification_with_agency_category_title_and_flags(admin, reports, database_url):
    late = reports[0]
    response = decide(admin, late, "teruskan", **{"forward-agency": PUPR, "forward-category": "perhubungan",
                                                  "forward-title": "Jalan rusak di Batulicin",
                                                  "forward-confidential": "1"})
    assert decided(response), response.text
    [row] = decisions(database_url)
    assert row[:10] == (late, "forward", "", "perhubungan", PUPR, "", None, "Jalan rusak di Batulicin", False, True)
    assert [tracking_id for _kind, tracking_id, _payload in outbox(database_url)] == [late]
    queue = page(admin.get("/staf/verifikasi"))
    assert queue.get_element_by_id("notice").text_content() == f"Keputusan untuk {late} disimpan: Diteruskan."
    assert f"queue-{late}" not in queue.xpath("//table[@id='queue']/tbody/tr/@id")


def test_forwarding_without_an_agency_lets_routing_decide(admin, reports, database_url):
    soon = reports[1]
    assert decided(decide(admin, soon, "teruskan", **{"forward-category": "kesehatan"}))
    [row] = decisions(database_url)
    assert row[:10] == (soon, "forward", "", "kesehatan", "", "", None, "", False, False)


@pytest.mark.parametrize("action, fields, expected", [
    ("lengkapi", {"completion-message": "Sebutkan nama jalan dan desanya."},
     ("needs_completion", "Sebutkan nama jalan dan desanya.", None, "")),
    ("tunda", {"hold-reason": "Menunggu konfirmasi dinas"}, ("hold", "Menunggu konfirmasi dinas", None, "")),
    ("arsipkan", {"archive-reason": str(vpb.ARCHIVE_REASON_TOO_GENERAL)}, ("archive", "", "too_general", "")),
    ("arsipkan", {"archive-reason": str(vpb.ARCHIVE_REASON_OTHER), "archive-text": "Laporan uji coba"},
     ("archive", "Laporan uji coba", "other", "")),
])
def test_each_decision_reaches_verification(admin, reports, database_url, action, fields, expected):
    late = reports[0]
    assert decided(decide(admin, late, action, **fields))
    [row] = decisions(database_url)
    assert (row[0], row[1], row[2], row[6], row[5]) == (late, *expected)
    assert len(outbox(database_url)) == 1


def test_marking_a_duplicate_reaches_verification_and_shows_on_the_original(admin, reports, database_url):
    late, soon, _later = reports
    assert decided(decide(admin, soon, "duplikat", **{"duplicate-of": late.lower()}))  # typed in any case
    [row] = decisions(database_url)
    assert (row[0], row[1], row[5]) == (soon, "duplicate", late)
    assert soon in page(admin.get(f"/staf/verifikasi/{late}")).get_element_by_id("duplicates").text_content()


def test_a_refused_field_is_shown_next_to_it_and_nothing_changes(admin, reports, database_url):
    late, soon, _later = reports
    before = stored(database_url)
    response = decide(admin, late, "tunda", **{"hold-reason": ""})
    assert response.status_code == 400
    assert field_message(response, "hold-reason") == "Tulis alasan penundaan (maksimal 450 karakter)."
    response = decide(admin, late, "arsipkan", **{"archive-reason": str(vpb.ARCHIVE_REASON_OTHER)})
    assert field_message(response, "archive-text").startswith("Jelaskan alasannya")
    response = decide(admin, late, "duplikat", **{"duplicate-of": "LAP-ZZZZZZZZ"})
    assert field_message(response, "duplicate-of").startswith("Isi nomor pelacakan laporan asli")
    response = decide(admin, late, "teruskan", **{"forward-title": "Abc"})
    assert field_message(response, "forward-title").startswith("Judul terdiri dari 5 sampai 150 karakter")
    assert stored(database_url) == before


def test_a_decision_on_a_report_no_longer_waiting_is_refused_with_a_message(admin, reports, database_url):
    late = reports[0]
    path = f"/staf/verifikasi/{late}"
    stale = hidden_in(admin.get(path), f"{path}/tunda")  # the page as it was before another decision
    assert decided(decide(admin, late, "arsipkan", **{"archive-reason": str(vpb.ARCHIVE_REASON_FORMAT_ERROR)}))
    before = stored(database_url)
    response = admin.post(f"{path}/tunda", data={**stale, "hold-reason": "Menunggu"})
    assert response.status_code == 409
    assert page(response).get_element_by_id("page-message").text_content().startswith(
        "Laporan ini tidak lagi menunggu keputusan")
    assert page(response).xpath("//main//form[@method='post']") == []
    assert stored(database_url) == before


def test_a_decision_without_the_sessions_token_changes_nothing(admin, reports, database_url):
    late = reports[0]
    form = hidden_in(admin.get(f"/staf/verifikasi/{late}"), f"/staf/verifikasi/{late}/tunda")
    before = stored(database_url)
    response = admin.post(f"/staf/verifikasi/{late}/tunda", data={**form, "csrf_token": "forged",
                                                                  "hold-reason": "Menunggu"})
    assert response.status_code == 400
    assert stored(database_url) == before


@pytest.mark.parametrize("role", [AGENCY_ADMIN, LIAISON_OFFICER, PROCESS_ANALYST])
def test_other_roles_are_refused_and_change_nothing(people, admin, reports, database_url, role):
    late = reports[0]
    form = hidden_in(admin.get(f"/staf/verifikasi/{late}"), f"/staf/verifikasi/{late}/tunda")
    person = people(role)
    before = stored(database_url)
    for path in ("/staf/verifikasi", f"/staf/verifikasi/{late}"):
        response = person.get(path)
        assert response.status_code == 403 and page(response).xpath("string(//h1)") == "Akses ditolak"
    csrf = page(person.get("/staf")).xpath("string(//nav//input[@name='csrf_token']/@value)")
    response = person.post(f"/staf/verifikasi/{late}/tunda",
                           data={**form, "csrf_token": csrf, "hold-reason": "Menunggu"})
    assert response.status_code == 403
    assert stored(database_url) == before


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(visitor, reports, database_url):
    late = reports[0]
    person = visitor()
    response = person.get(f"/staf/verifikasi/{late}")
    assert response.status_code == 303 and response.headers["Location"].startswith("/staf/masuk")
    before = stored(database_url)
    response = person.post(f"/staf/verifikasi/{late}/tunda", data={"hold-reason": "Menunggu"})
    assert response.status_code == 303 and response.headers["Location"].startswith("/staf/masuk")
    assert stored(database_url) == before


def test_an_unknown_report_is_not_found(admin, reports):
    assert admin.get("/staf/verifikasi/LAP-ZZZZZZZZ").status_code == 404
    assert admin.get("/staf/verifikasi/bukan-nomor").status_code == 404
    assert "Akses ditolak" not in text_of(admin.get("/staf/verifikasi/LAP-ZZZZZZZZ"))
