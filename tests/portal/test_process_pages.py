"""The process analysts' pages through real HTTP, over a stand-in for sla that answers, and refuses, as sla
does: the version history with what changed and the upload of a model (/staf/proses), the cockpit and the
reports waiting at an element (/staf/proses/kokpit), a report's path (/staf/proses/laporan/<id>, and on the
verification console's report page), and the deadline statistics (/staf/statistik and its JSON). Process
analysts and national administrators read them, in either language; only analysts deploy; other roles
get the 403 page."""

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST
from services.portal import process_pages
from sp4n.sla.v1 import sla_pb2
from tests.intake.reports import T0, at
from tests.portal.test_pages import hidden_in, page, text_of
from tests.portal.test_staff_sign_in import PUPR, accounts, people, sign_in, staff  # noqa: F401 (fixtures)
from tests.support import ROOT

MODEL = (ROOT / "bpmn" / "report_lifecycle.bpmn").read_text()
# The version before: the same model, one task named otherwise.
OLDER_MODEL = MODEL.replace('name="Tunggu tindak lanjut instansi"', 'name="Tunggu instansi"')
OLD_HASH, NEW_HASH = (hashlib.sha256(m.encode()).hexdigest() for m in (OLDER_MODEL, MODEL))
WAITING_ELEMENT = "await_follow_up"
CASES_AT_FOLLOW_UP = 120  # more than two pages of 50
READERS = (PROCESS_ANALYST, NATIONAL_ADMIN)
OTHERS = (AGENCY_ADMIN, LIAISON_OFFICER)
PAGES = ("/staf/proses", "/staf/proses/kokpit", f"/staf/proses/kokpit/{WAITING_ELEMENT}", "/staf/statistik",
         "/staf/statistik.json", "/staf/proses/laporan/LAP-7K3QX9MA")
PATH = ["report_submitted", "flow_report_submitted_prepare_case", "prepare_case", "flow_prepare_case_notify_received",
        "notify_received"]


def figures(key: str, deadlines: int, met: int, backlog: int, follow_up: float, closure: float) -> sla_pb2.Figures:
    return sla_pb2.Figures(key=key, deadlines=deadlines, met_on_time=met, share_met=met / deadlines if deadlines else 0,
                           backlog=backlog, follow_ups=3 if follow_up else 0, median_follow_up_seconds=follow_up,
                           closures=2 if closure else 0, median_closure_seconds=closure)


def flow_nodes(bpmn: str) -> list[tuple[str, str, str]]:
    """(id, type, name) of each flow node of a model, as sla's cockpit lists them."""
    nodes = ("startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent", "scriptTask", "serviceTask",
             "receiveTask", "userTask", "exclusiveGateway", "parallelGateway", "eventBasedGateway")
    return [(i, t, n) for i, (t, n) in process_pages.element_names(bpmn).items() if t in nodes]


@pytest.fixture
def process(fake_sla):
    """sla's stand-in with two versions of the lifecycle model (the newest running 130 reports), what changed
    between them, the newest one's cockpit (120 reports waiting for a follow-up, 7 of them overdue, 5
    awaiting a decision), the reports at the follow-up, a report's case with its path, and statistics."""
    fake_sla.versions = [
        sla_pb2.ProcessVersion(version=1, process_id="report_lifecycle", content_hash=OLD_HASH, bpmn=OLDER_MODEL,
                               deployed_at=at(T0 - timedelta(days=30)), running_instances=4),
        sla_pb2.ProcessVersion(version=2, process_id="report_lifecycle", content_hash=NEW_HASH, bpmn=MODEL,
                               deployed_at=at(T0 - timedelta(days=2)), newest=True, running_instances=130)]
    fake_sla.changes[(OLD_HASH, NEW_HASH)] = [
        sla_pb2.ElementChange(element_id=WAITING_ELEMENT, type="receiveTask", name="Tunggu tindak lanjut instansi",
                              change="changed", what=["name"]),
        sla_pb2.ElementChange(element_id="remind_agency", type="serviceTask", name="Ingatkan instansi",
                              change="added"),
        sla_pb2.ElementChange(element_id="flow_old", type="sequenceFlow", change="removed")]
    stats = {WAITING_ELEMENT: (CASES_AT_FOLLOW_UP, 7, 3, 2 * 86400 + 3 * 3600),
             "await_decision": (5, 0, 10, 5400)}
    fake_sla.cockpits[NEW_HASH] = [
        sla_pb2.ElementStatistics(element_id=i, type=t, name=n, waiting=stats.get(i, (0,))[0],
                                  overdue=stats.get(i, (0, 0))[1], visits=stats.get(i, (0, 0, 0))[2],
                                  median_seconds=stats.get(i, (0, 0, 0, 0))[3])
        for i, t, n in flow_nodes(MODEL)]
    fake_sla.cockpits[OLD_HASH] = [sla_pb2.ElementStatistics(element_id=i, type=t, name=n)
                                   for i, t, n in flow_nodes(OLDER_MODEL)]
    fake_sla.cases_at[(NEW_HASH, WAITING_ELEMENT)] = [
        sla_pb2.CaseAt(tracking_id=f"LAP-{n:08d}".replace("0", "A").replace("1", "B"), agency_id=PUPR,
                       category="infrastruktur", entered_at=at(T0 - timedelta(days=n % 9)),
                       due_at=at(T0 + timedelta(days=1)), overdue=n < 7)
        for n in range(CASES_AT_FOLLOW_UP)]
    fake_sla.cases["LAP-7K3QX9MA"] = sla_pb2.Case(tracking_id="LAP-7K3QX9MA", process_version=NEW_HASH,
                                                  status="running", stage="notify_received",
                                                  waiting_for=["await_decision"], path=PATH,
                                                  category="infrastruktur")
    fake_sla.statistics = sla_pb2.Statistics(
        overall=figures("", 40, 30, 25, 3 * 86400, 9 * 86400),
        by_agency=[figures(PUPR, 30, 27, 20, 2 * 86400, 8 * 86400), figures("badan-pom", 10, 3, 5, 0, 0)],
        by_category=[figures("infrastruktur", 40, 30, 25, 3 * 86400, 9 * 86400)], computed_at=at(T0))
    return fake_sla


@pytest.fixture
def analyst(people):
    return people(PROCESS_ANALYST)


@pytest.fixture
def admin(people):
    return people(NATIONAL_ADMIN)


def cells(response, row_id: str) -> list[str]:
    return [" ".join(c.text_content().split()) for c in page(response).get_element_by_id(row_id).xpath("th|td")]


def upload(person, content: bytes, filename: str = "siklus.bpmn", **fields):
    form = hidden_in(person.get("/staf/proses"), "/staf/proses")
    return person.post("/staf/proses", data={**form, **fields}, files={"bpmn_file": (filename, content)})


# ---- who may open them ----

@pytest.mark.parametrize("role", READERS)
def test_analysts_and_national_administrators_read_every_page(people, process, role):
    person = people(role)
    for path in PAGES:
        assert person.get(path).status_code == 200, path
    home = person.get("/staf")
    assert {"/staf/proses", "/staf/proses/kokpit", "/staf/statistik"} <= set(page(home).xpath("//main//a/@href"))


@pytest.mark.parametrize("role", OTHERS)
def test_agency_staff_get_the_403_page_and_no_links(people, process, role):
    person = people(role)
    for path in PAGES:
        response = person.get(path)
        assert response.status_code == 403, path
    assert person.post("/staf/proses", files={"bpmn_file": ("x.bpmn", MODEL.encode())}).status_code == 403
    assert process.deploys == []
    assert "/staf/proses" not in page(person.get("/staf")).xpath("//main//a/@href")


def test_someone_not_signed_in_is_sent_to_sign_in(visitor, process):
    response = visitor().get("/staf/statistik.json")
    assert response.status_code == 303 and response.headers["Location"].startswith("/staf/masuk")


# ---- the versions and the upload ----

@pytest.mark.parametrize("language", ["id", "en"])
def test_the_versions_newest_first_with_what_changed(analyst, process, language):
    response = analyst.get(f"/staf/proses?lang={language}")
    assert response.status_code == 200
    assert page(response).get("lang") == language
    rows = page(response).xpath("//table[@id='versions']/tbody/tr/@id")
    assert rows == ["version-2", "version-1"]
    newest = cells(response, "version-2")
    assert newest[2] == "130"
    counts = {"id": "1 ditambahkan, 1 dihapus, 1 diubah", "en": "1 added, 1 removed, 1 changed"}[language]
    assert counts in newest[3] and "await_follow_up" in newest[3] and "flow_old" in newest[3]
    assert {"id": "Versi pertama", "en": "First version"}[language] in cells(response, "version-1")[3]
    assert page(response).get_element_by_id("deploy-form") is not None


def test_national_administrators_see_the_versions_but_no_upload_form(admin, process):
    response = admin.get("/staf/proses")
    assert page(response).xpath("//table[@id='versions']/tbody/tr/@id") == ["version-2", "version-1"]
    assert page(response).xpath("//form[@id='deploy-form']") == []
    assert admin.post("/staf/proses", files={"bpmn_file": ("x.bpmn", MODEL.encode())}).status_code == 403
    assert process.deploys == []


def test_a_refused_model_is_shown_with_the_element_sla_names_and_nothing_is_deployed(analyst, process):
    process.refusal = "element notify_received (Beri tahu pelapor: diterima): unknown service operator 'kirim_merpati'"
    response = upload(analyst, MODEL.replace("notify.send", "kirim_merpati").encode())
    assert response.status_code == 400
    assert page(response).get_element_by_id("bpmn_file-error") is not None
    assert "notify_received" in page(response).get_element_by_id("model-refusal").text_content()
    assert "kirim_merpati" in text_of(response)
    assert len(process.deploys) == 1 and [v.version for v in process.versions] == [1, 2]


def test_a_model_is_deployed_once_and_said_so(analyst, process):
    changed = MODEL.replace('name="Tutup laporan"', 'name="Tutup laporan otomatis"').encode()
    form = hidden_in(analyst.get("/staf/proses"), "/staf/proses")
    for _ in range(2):  # the same form sent twice
        response = analyst.post("/staf/proses", data=form, files={"bpmn_file": ("siklus.bpmn", changed)})
        assert (response.status_code, response.headers["Location"]) == (303, "/staf/proses")
    assert [v.version for v in process.versions] == [1, 2, 3]
    assert len({d.idempotency_key for d in process.deploys}) == 1 and process.deploys[0].filename == "siklus.bpmn"
    shown = analyst.get("/staf/proses")
    assert "Versi 3 dipasang" in page(shown).get_element_by_id("notice").text_content()
    assert page(shown).xpath("//table[@id='versions']/tbody/tr[1]/@id") == ["version-3"]


@pytest.mark.parametrize("content, filename, field_error", [
    (b"", "kosong.bpmn", "Pilih berkas model BPMN (.bpmn)."),
    (MODEL.encode(), "siklus.xml", "Berkas harus berakhiran .bpmn dan berisi XML (UTF-8)."),
    (b"\xff\xfe<bpmn", "siklus.bpmn", "Berkas harus berakhiran .bpmn dan berisi XML (UTF-8)."),
])
def test_a_file_that_is_no_model_is_refused_before_sla(analyst, process, content, filename, field_error):
    response = upload(analyst, content, filename)
    assert response.status_code == 400
    assert page(response).get_element_by_id("bpmn_file-error").text_content().endswith(field_error)
    assert process.deploys == []


def test_a_model_over_1_mib_is_refused(analyst, process):
    response = upload(analyst, b"<x/>" + b" " * (1024 * 1024))
    assert response.status_code == 413
    assert "1 MiB" in page(response).get_element_by_id("bpmn_file-error").text_content()
    assert process.deploys == []


def test_a_stale_or_forged_form_deploys_nothing(analyst, process):
    response = upload(analyst, MODEL.encode(), nonce="forged.nonce")
    assert response.status_code == 400 and page(response).get_element_by_id("deploy-form-error") is not None
    response = upload(analyst, MODEL.encode(), csrf_token="forged")
    assert response.status_code == 400
    assert process.deploys == []


# ---- the cockpit ----

@pytest.mark.parametrize("language", ["id", "en"])
def test_the_cockpit_table_holds_what_sla_counts_for_every_element(admin, process, language):
    response = admin.get(f"/staf/proses/kokpit?lang={language}")
    assert response.status_code == 200 and page(response).get("lang") == language
    rows = page(response).xpath("//table[@id='cockpit']/tbody/tr")
    assert [r.get("data-element") for r in rows] == [e.element_id for e in process.cockpits[NEW_HASH]]
    waiting = cells(response, f"element-{WAITING_ELEMENT}")
    assert waiting[0] == "Tunggu tindak lanjut instansi" and waiting[2:4] == ["120", "7"]
    assert waiting[4] == {"id": "2 hari 3 jam", "en": "2 d 3 h"}[language]
    assert cells(response, "element-await_decision")[2:] == ["5", "0", {"id": "1 jam 30 menit",
                                                                        "en": "1 h 30 min"}[language]]
    assert cells(response, "element-report_submitted")[2:] == ["0", "0", "—"]
    link = page(response).xpath(f"//tr[@id='element-{WAITING_ELEMENT}']//a/@href")
    assert link == [f"/staf/proses/kokpit/{WAITING_ELEMENT}"]
    diagram = page(response).get_element_by_id("diagram", None)
    if diagram is not None:  # bpmn-js installed: the model travels in the page, for the script
        assert diagram.get("data-bpmn") == MODEL


def test_an_older_versions_cockpit_and_an_unknown_version(analyst, process):
    response = analyst.get(f"/staf/proses/kokpit?versi={OLD_HASH}")
    assert response.status_code == 200
    assert cells(response, f"element-{WAITING_ELEMENT}")[0] == "Tunggu instansi"
    assert page(response).xpath(f"//tr[@id='element-{WAITING_ELEMENT}']//a/@href") == [
        f"/staf/proses/kokpit/{WAITING_ELEMENT}?versi={OLD_HASH}"]
    assert analyst.get(f"/staf/proses/kokpit?versi={'0' * 64}").status_code == 404
    assert analyst.get("/staf/proses/kokpit?versi=<script>").status_code == 404


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_reports_at_an_element_in_pages_of_50_most_overdue_first(analyst, process, language):
    seen, path = [], f"/staf/proses/kokpit/{WAITING_ELEMENT}?lang={language}"
    while path:
        response = analyst.get(path)
        assert response.status_code == 200 and page(response).get("lang") == language
        seen.append(page(response).xpath("//table[@id='cases']/tbody/tr/@id"))
        links = page(response).xpath("//a[@id='next-page']/@href")
        path = links[0] if links else ""
    assert [len(p) for p in seen] == [50, 50, 20]
    expected = [f"case-{c.tracking_id}" for c in process.cases_at[(NEW_HASH, WAITING_ELEMENT)]]
    assert [r for p in seen for r in p] == expected
    first = analyst.get(f"/staf/proses/kokpit/{WAITING_ELEMENT}")
    tracking_id = expected[0].removeprefix("case-")
    assert page(first).xpath(f"//tr[@id='case-{tracking_id}']//a/@href") == [f"/staf/proses/laporan/{tracking_id}"]


def test_an_element_without_reports_a_bad_page_and_an_unknown_element(analyst, process):
    response = analyst.get("/staf/proses/kokpit/report_submitted")
    assert response.status_code == 200 and page(response).get_element_by_id("no-cases") is not None
    response = analyst.get(f"/staf/proses/kokpit/{WAITING_ELEMENT}?halaman=bukan-token")
    assert response.status_code == 400 and page(response).get_element_by_id("page-message") is not None
    assert analyst.get("/staf/proses/kokpit/tidak_ada").status_code == 404


# ---- a report's path ----

def test_a_reports_path_as_a_list_of_the_elements_it_passed(analyst, process):
    response = analyst.get("/staf/proses/laporan/LAP-7K3QX9MA")
    assert response.status_code == 200
    steps = page(response).xpath("//ol[@id='path']/li")
    assert [s.get("data-element") for s in steps] == ["report_submitted", "prepare_case", "notify_received"]
    assert [s.text_content() for s in steps] == ["Laporan masuk", "Siapkan kasus", "Beri tahu pelapor: diterima"]
    diagram = page(response).get_element_by_id("diagram", None)
    if diagram is not None:
        assert diagram.get("data-path").split() == PATH
    assert analyst.get("/staf/proses/laporan/LAP-AAAAAAAA").status_code == 404


# ---- the statistics ----

@pytest.mark.parametrize("language", ["id", "en"])
def test_the_statistics_per_agency_and_per_category(admin, process, language):
    response = admin.get(f"/staf/statistik?lang={language}")
    assert response.status_code == 200 and page(response).get("lang") == language
    of = {"id": "dari", "en": "of"}[language]
    days = {"id": "hari", "en": "d"}[language]
    assert cells(response, f"by-agency-{PUPR}") == [PUPR, f"90.0% (27 {of} 30)", "20", f"2 {days} 0 " + {
        "id": "jam", "en": "h"}[language], f"8 {days} 0 " + {"id": "jam", "en": "h"}[language]]
    assert cells(response, "by-agency-badan-pom")[1:] == [f"30.0% (3 {of} 10)", "5", "—", "—"]
    assert cells(response, "by-category-infrastruktur")[0] == {"id": "Infrastruktur", "en": "Infrastructure"}[language]
    assert cells(response, "overall-semua")[1].startswith("75.0%")


def test_the_statistics_as_json_with_the_period_asked(analyst, process):
    response = analyst.get("/staf/statistik.json?dari=2026-03-01&sampai=2026-03-15")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    found = response.json()
    assert found["by_agency"][0] == {"key": PUPR, "deadlines": 30, "met_on_time": 27, "share_met_percent": 90.0,
                                     "backlog": 20, "follow_ups": 3, "median_follow_up_seconds": 172800.0,
                                     "closures": 2, "median_closure_seconds": 691200.0}
    assert found["by_agency"][1]["median_follow_up_seconds"] is None
    assert found["overall"]["share_met_percent"] == 75.0 and [c["key"] for c in found["by_category"]] == ["infrastruktur"]
    asked = process.statistics_asked[-1]
    wib = timezone(timedelta(hours=7))
    assert getattr(asked, "from").ToDatetime(tzinfo=timezone.utc) == datetime(2026, 3, 1, tzinfo=wib)
    assert asked.to.ToDatetime(tzinfo=timezone.utc) == datetime(2026, 3, 16, tzinfo=wib)
    analyst.get("/staf/statistik.json")
    assert not process.statistics_asked[-1].HasField("from") and not process.statistics_asked[-1].HasField("to")


@pytest.mark.parametrize("query", ["dari=kemarin", "sampai=2026-02-30", "dari=2026-03-10&sampai=2026-03-01"])
def test_bad_dates_are_a_400_with_a_message(analyst, process, query):
    response = analyst.get(f"/staf/statistik?{query}")
    assert response.status_code == 400 and page(response).get_element_by_id("page-message") is not None
    response = analyst.get(f"/staf/statistik.json?{query}")
    assert response.status_code == 400 and "TTTT-BB-HH" in response.json()["error"]
    assert process.statistics_asked == []


def test_the_pages_say_so_when_sla_does_not_answer(make_app, intake_address, closed_address, serve_app, accounts):
    person = serve_app(make_app(intake_address, closed_address, closed_address, intake_timeout=0.5))
    sign_in(person, "analis")
    for path in ("/staf/proses", "/staf/proses/kokpit", "/staf/statistik"):
        assert person.get(path).status_code == 503, path


def test_the_duration_in_words():
    assert [process_pages.duration(s) for s in (0, 59, 60, 3599, 3600, 86399, 86400, 90061)] == [
        "0 detik", "59 detik", "1 menit", "59 menit", "1 jam 0 menit", "23 jam 59 menit", "1 hari 0 jam",
        "1 hari 1 jam"]
