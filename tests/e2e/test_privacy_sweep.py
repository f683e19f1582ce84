"""Privacy, swept over every surface of the whole running system (issue 4, point 8).

Three reports come in through the portal's web form: an anonymous one, a confidential one and a
plain one, each with phone numbers, e-mail addresses and a NIK in its text. All three are verified,
forwarded, followed up by the agency and answered by their reporter, so that they are as public as
they can get. Then every public answer (web pages, the REST API, Open311, in every format, lists,
details and searches) and every answer agency staff get (gRPC and the REST API with an agency key)
is collected as text into one list, and the list is searched: a new field that leaks is caught
without this test knowing its name.

- A confidential report is never public: neither its tracking ID nor its words appear in any public
  answer, and asking for it publicly answers exactly as for a report that does not exist.
- No reporter is named publicly, and an anonymous reporter's name, phone (08..., 62..., +62...) and
  e-mail appear in no agency answer either.
- Public text is redacted: no phone number, e-mail address or NIK from a title, description,
  location, follow-up or reply appears publicly (agency staff read the text as it was written).
- The anonymous and the plain report are public, with their text and timeline, so that the sweep
  can fail.
"""

import html
import json
import re
import random
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import grpc
import psycopg
import pytest
from google.protobuf import text_format
from psycopg.rows import dict_row

from services.plumbing import identity
from services.portal import api_keys
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2
from sp4n.routing.v1 import routing_pb2
from sp4n.sla.v1 import sla_pb2
from sp4n.verification.v1 import verification_pb2
from tests.e2e.conftest import eventually
from tests.e2e.test_report_lifecycle import ADMIN, ADMINISTRATOR, browser, hidden_fields
from tests.support import IDENTITY_KEY, caller

pytestmark = pytest.mark.e2e

MARKER = "[disembunyikan]"  # what redaction puts in place of what it hides
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class Submitted:
    """A report as its reporter typed it, what must stay private of it, and how it goes on."""
    key: str
    form: dict[str, str]
    follow_up: str
    reply: str
    hidden: list[str] = field(default_factory=list)  # phone numbers, e-mails and NIK in its text
    tracking_id: str = ""
    agency_id: str = ""
    person: urllib.request.OpenerDirector | None = None

    @property
    def reporter(self) -> list[str]:
        """What identifies the reporter: the name, its distinctive words, the phone and the e-mail."""
        name = self.form["name"]
        return [name, *(w for w in name.split() if len(w) >= 6), self.form["phone"], self.form["email"]]


def common(**values: str) -> dict[str, str]:
    return {"type": "pengaduan", "category": "infrastruktur", "region_code": "6310", **values}


ANONYMOUS = Submitted(
    key="anonymous",
    form=common(
        title="Pungutan liar di loket Samsat Batulicin",
        description="Petugas loket Samsat Batulicin meminta uang tambahan Rp 150.000 di luar tarif resmi. Calo "
                    "yang menawarkan jasa bisa dihubungi di 0852-4411-7390 atau calo.samsat@contoh.id, dan "
                    "memakai NIK 6310014403850002 untuk mendaftarkan kendaraan.",
        location_text="Kantor Samsat Batulicin", anonymous="ya",
        name="Sumarniyati Kartowiryono", phone="081377712946", email="sumarniyati.kw@contoh.id"),
    follow_up="Kami sedang memeriksa petugas loket Samsat Batulicin.",
    reply="Terima kasih, saya menunggu hasil pemeriksaannya.",
    hidden=["0852-4411-7390", "calo.samsat@contoh.id", "6310014403850002"])

CONFIDENTIAL_WORDS = ("Kuorvidantranya", "Zelmoquintnya")  # searched for by their stems, below
CONFIDENTIAL = Submitted(
    key="confidential",
    form=common(
        title="Dugaan suap Kuorvidantranya pada proyek drainase",
        description="Kontraktor Zelmoquintnya menyerahkan amplop kepada pejabat dinas di kantor proyek drainase "
                    "Batulicin setiap akhir bulan.",
        location_text="Kantor proyek drainase Batulicin", confidential="ya",
        name="Bambang Sasmitoharjo", phone="081244470913", email="bambang.sasmito@contoh.id"),
    follow_up="Inspektorat menelaah laporan Zelmoquintnya.",
    reply="Kuorvidantranya masih terjadi bulan ini.",
    hidden=[])

PLAIN = Submitted(
    key="plain",
    form=common(
        title="Jembatan kayu Brontolawenya patah",
        description="Saya Hendrawan Sapulete melapor: jembatan kayu di Brontolawenya patah sejak banjir. Kepala "
                    "desa dapat dihubungi di +62 813-5566-7788 atau kades.brontolawe@contoh.id; NIK saya "
                    "6310021508790003.",
        location_text="Desa Brontolawenya RT 03, rumah ketua RT 0819-7700-3322",
        name="Hendrawan Sapulete", phone="085366620418", email="hendrawan.sapulete@contoh.id"),
    follow_up="Tim sudah meninjau jembatan. Hubungi pengawas lapangan di 0811 5200 7788 atau "
              "pengawas.pupr@contoh.id.",
    reply="Belum diperbaiki. Hubungi istri saya di 082155009944 atau NIK 6310024107820004 untuk akses lokasi.",
    hidden=["+62 813-5566-7788", "kades.brontolawe@contoh.id", "6310021508790003", "0819-7700-3322",
             "0811 5200 7788", "pengawas.pupr@contoh.id", "082155009944", "6310024107820004"])

REPORTS = (ANONYMOUS, CONFIDENTIAL, PLAIN)
# Searches: the stems of the confidential words (a search that finds a word by its stem finds
# "Brontolawenya" by "brontolawe", checked below), so that the echo of the query in a page is
# not the word itself.
SEARCHES = ("kuorvidantra", "zelmoquint", "brontolawe", "Samsat")


# -- collecting answers -------------------------------------------------------------------------

@dataclass
class Answer:
    surface: str
    status: str
    raw: str
    text: str = ""  # raw, and raw read as HTML, URL-encoded and JSON text would show it

    def __post_init__(self):
        variants = [self.raw, html.unescape(self.raw), urllib.parse.unquote_plus(self.raw)]
        try:
            variants.append(json.dumps(json.loads(self.raw.split("\n\n", 1)[-1]), ensure_ascii=False))
        except ValueError:
            pass
        self.text = "\n".join(variants)


class Sweep:
    """Every answer the test got, as text."""

    def __init__(self):
        self.answers: list[Answer] = []

    def http(self, surface: str, url: str, *, opener=None, headers: dict[str, str] | None = None) -> Answer:
        opener = opener or urllib.request.build_opener()
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with opener.open(request, timeout=15) as response:
                status, final, head, body = response.status, response.url, response.headers, response.read()
        except urllib.error.HTTPError as e:
            status, final, head, body = e.code, e.url, e.headers, e.read()
            e.close()
        answer = Answer(f"{surface} -> {final}", str(status), f"{head}\n\n{body.decode('utf-8', 'replace')}")
        self.answers.append(answer)
        return answer

    def grpc(self, surface: str, method, request, metadata) -> Answer:
        try:
            status, body = "OK", text_format.MessageToString(method(request, metadata=metadata, timeout=15),
                                                             as_utf8=True)
        except grpc.RpcError as e:
            status, body = e.code().name, e.details() or ""
        answer = Answer(surface, status, body)
        self.answers.append(answer)
        return answer


def pattern(secret: str) -> re.Pattern:
    """What finds `secret` in any form: a phone number by its digits after 0, 62 or +62 (so 08..., 62...
    and +62... alike) with any separators between them; a NIK by its digits likewise; text in any case."""
    digits = re.sub(r"\D", "", secret)
    if len(digits) >= 9 and not re.search(r"[a-zA-Z@]", secret):
        if len(digits) != 16:
            digits = digits[1:] if digits.startswith("0") else digits[2:] if digits.startswith("62") else digits
        return re.compile(r"[\s.\-()/]{0,4}".join(digits))
    return re.compile(re.escape(secret), re.IGNORECASE)


def found(answers: list[Answer], secrets: list[str]) -> list[str]:
    """"secret in surface: ...context..." for every secret that some answer contains."""
    hits = []
    for secret in secrets:
        wanted = pattern(secret)
        for answer in answers:
            if match := wanted.search(answer.text):
                context = answer.text[max(0, match.start() - 120):match.end() + 120].replace("\n", " ")
                hits.append(f"{secret!r} in {answer.surface} [{answer.status}]: ...{context}...")
    return hits


def masked(answer: Answer, tracking_id: str) -> str:
    """The body with the asked-for ID named ID and what differs from request to request masked."""
    body = answer.raw.split("\n\n", 1)[-1].replace(tracking_id, "ID")
    return re.sub(r'(name="(?:nonce|csrf_token)" value=")[^"]*"', r'\1"', body)


# -- driving the reports ------------------------------------------------------------------------

def submit(portal: str, report: Submitted) -> None:
    """The reporter fills in the web form; their browser keeps the session that may follow the report."""
    person = browser()
    form = urllib.parse.urlencode({**hidden_fields(person, portal + "/"), **report.form}).encode()
    with person.open(portal + "/laporan", data=form, timeout=10) as response:
        assert response.url.endswith("/laporan/terkirim"), (report.key, response.url, response.read()[:3000])
        page = response.read().decode()
    report.tracking_id = re.search(r'id="tracking-id">(LAP-[0-9A-HJKMNP-TV-Z]{8})<', page).group(1)
    report.person = person


def admin_view(running, report: Submitted) -> intake_pb2.Report:
    return running.intake.GetReport(intake_pb2.GetReportRequest(tracking_id=report.tracking_id),
                                    metadata=ADMINISTRATOR)


def liaison(report: Submitted, role: str = identity.LIAISON_OFFICER) -> list[tuple[str, str]]:
    return caller(role, f"privacy-{report.agency_id}", agency_id=report.agency_id)


def forward_and_follow_up(running, report: Submitted) -> None:
    tracking_id = report.tracking_id
    eventually(lambda: any(i.tracking_id == tracking_id for i in running.verification.ListQueue(
        verification_pb2.ListQueueRequest(limit=500), metadata=ADMIN).items), what=f"{report.key} in the queue")
    running.verification.DecideReport(verification_pb2.DecideReportRequest(
        idempotency_key=f"privacy-{tracking_id}", tracking_id=tracking_id, outcome=verification_pb2.OUTCOME_FORWARD,
        category="infrastruktur"), metadata=ADMIN)
    forwarded = eventually(lambda: (r := admin_view(running, report)).status == intake_pb2.REPORT_STATUS_FORWARDED
                           and r, what=f"{report.key} forwarded")
    assert forwarded.published == (report is not CONFIDENTIAL), report.key
    report.agency_id = forwarded.agency_id
    running.intake.PostFollowUp(intake_pb2.PostFollowUpRequest(
        idempotency_key=f"privacy-fu-{tracking_id}", tracking_id=tracking_id, body=report.follow_up),
        metadata=liaison(report))
    eventually(lambda: admin_view(running, report).status == intake_pb2.REPORT_STATUS_FOLLOWED_UP,
               what=f"{report.key} followed up")


def reply(running, report: Submitted) -> None:
    """The reporter answers the follow-up on the tracking page, in the session they submitted in."""
    page = f"{running.portal}/lacak/{report.tracking_id}"
    form = urllib.parse.urlencode({**hidden_fields(report.person, page), "body": report.reply}).encode()
    with report.person.open(page + "/tanggapan", data=form, timeout=10) as response:
        assert response.status == 200 and report.reply in html.unescape(response.read().decode()), report.key
    assert [e.body for e in admin_view(running, report).timeline if e.kind == "reply"] == [report.reply]


def agency_key(running, agency_id: str) -> str:
    with psycopg.connect(running.system.env["DATABASE_URL"], row_factory=dict_row) as conn:
        return api_keys.create(conn, name=f"privacy-{agency_id}"[:63], kind=api_keys.AGENCY, agency_id=agency_id)[1]


# -- the surfaces -------------------------------------------------------------------------------

def public_surfaces(running, sweep: Sweep, unknown: str) -> dict[str, tuple[Answer, Answer]]:
    """Fetches every public surface; answers (for the confidential report, for a report that does not
    exist) of every surface that names one report."""
    portal, api, open311 = running.portal, running.portal + "/api/v1", running.portal + "/open311/v2"
    app_key = {"Authorization": f"Bearer {api_keys.demo_key(IDENTITY_KEY)}"}
    person = browser()  # a visitor: cookies, but no access code and no account
    get = sweep.http

    # Lists and searches.
    get("web form", portal + "/", opener=person)
    get("web feed", portal + "/publik", opener=person)
    get("web feed, English", portal + "/publik?lang=en", opener=person)
    for query in ("status=diproses", "kategori=infrastruktur", "wilayah=6310", "wilayah=63"):
        get(f"web feed {query}", f"{portal}/publik?{query}", opener=person)
    for words in SEARCHES:
        get(f"web feed search {words}", f"{portal}/publik?q={urllib.parse.quote(words)}", opener=person)
        get(f"API feed search {words}", f"{api}/public/reports?q={urllib.parse.quote(words)}")
    token, pages = "", 0
    while True:
        page = get("API feed", f"{api}/public/reports?page_size=2" + (f"&page_token={token}" if token else ""))
        pages += 1
        token = json.loads(page.raw.split("\n\n", 1)[1]).get("next_page_token", "")
        if not token:
            break
        assert pages < 20, "the API feed does not end"
    for query in ("page_size=100", "category=infrastruktur", "region_code=6310", "status=followed_up",
                  f"agency_id={PLAIN.agency_id}"):
        get(f"API feed {query}", f"{api}/public/reports?{query}")
    get("API categories", f"{api}/categories")
    for fmt in ("json", "xml"):
        get(f"Open311 requests.{fmt}", f"{open311}/requests.{fmt}")
        get(f"Open311 requests.{fmt} infrastruktur", f"{open311}/requests.{fmt}?service_code=infrastruktur")
        get(f"Open311 requests.{fmt} open", f"{open311}/requests.{fmt}?status=open")
        ids = ",".join(r.tracking_id for r in REPORTS)
        get(f"Open311 requests.{fmt} by ids", f"{open311}/requests.{fmt}?service_request_id={ids}")
        get(f"Open311 services.{fmt}", f"{open311}/services.{fmt}")

    # One report at a time: each of the three, and one that does not exist.
    one_report = {
        "web page": lambda i: (portal + f"/publik/{i}", {}),
        "web page, English": lambda i: (portal + f"/publik/{i}?lang=en", {}),
        "web tracking page without code": lambda i: (portal + f"/lacak/{i}", {}),
        "web tracking lookup": lambda i: (portal + f"/lacak?id={i}", {}),
        "API public report": lambda i: (f"{api}/public/reports/{i}", {}),
        "API report with an app key, no access code": lambda i: (f"{api}/reports/{i}", app_key),
        "API report without a key": lambda i: (f"{api}/reports/{i}", {}),
        "Open311 request json": lambda i: (f"{open311}/requests/{i}.json", {}),
        "Open311 request xml": lambda i: (f"{open311}/requests/{i}.xml", {}),
        "Open311 request (singular path) json": lambda i: (f"{open311}/request/{i}.json", {}),
    }
    probes = {}
    for surface, where in one_report.items():
        for report in REPORTS:
            url, headers = where(report.tracking_id)
            answer = get(f"{surface} ({report.key})", url, opener=person, headers=headers)
            if report is CONFIDENTIAL:
                url, headers = where(unknown)
                probes[surface] = (answer, get(f"{surface} (no such report)", url, opener=person, headers=headers))
    return probes


def agency_surfaces(running, sweep: Sweep) -> None:
    """Fetches everything the assigned agency's staff get about the three reports."""
    keys = {agency_id: agency_key(running, agency_id) for agency_id in {r.agency_id for r in REPORTS}}
    for agency_id, key in keys.items():
        sweep.grpc(f"intake.ListAgencyReports ({agency_id})", running.intake.ListAgencyReports,
                   intake_pb2.ListAgencyReportsRequest(agency_id=agency_id, page_size=100),
                   caller(identity.LIAISON_OFFICER, "privacy-lo", agency_id=agency_id))
        sweep.grpc(f"intake.ListAgencyReports as agency admin ({agency_id})", running.intake.ListAgencyReports,
                   intake_pb2.ListAgencyReportsRequest(agency_id=agency_id, page_size=100),
                   caller(identity.AGENCY_ADMIN, "privacy-aa", agency_id=agency_id))
        sweep.http(f"API agency reports ({agency_id})", f"{running.portal}/api/v1/agency/reports?page_size=100",
                   headers={"X-API-Key": key})
    for report in REPORTS:
        tracking_id, metadata = report.tracking_id, liaison(report)
        for role in (identity.LIAISON_OFFICER, identity.AGENCY_ADMIN):
            sweep.grpc(f"intake.GetReport as {role} ({report.key})", running.intake.GetReport,
                       intake_pb2.GetReportRequest(tracking_id=tracking_id), liaison(report, role))
        sweep.grpc(f"routing.GetAssignment ({report.key})", running.routing.GetAssignment,
                   routing_pb2.GetAssignmentRequest(tracking_id=tracking_id), metadata)
        sweep.grpc(f"sla.GetCase ({report.key})", running.sla.GetCase,
                   sla_pb2.GetCaseRequest(tracking_id=tracking_id), metadata)
        sweep.grpc(f"notify.ListNotifications ({report.key})", running.notify.ListNotifications,
                   notify_pb2.ListNotificationsRequest(tracking_id=tracking_id), metadata)
        sweep.grpc(f"verification.ListQueue ({report.key})", running.verification.ListQueue,
                   verification_pb2.ListQueueRequest(limit=500), metadata)
        sweep.http(f"API report with the agency key ({report.key})",
                   f"{running.portal}/api/v1/reports/{tracking_id}", headers={"X-API-Key": keys[report.agency_id]})


# -- the test -----------------------------------------------------------------------------------

def take_through(running) -> None:
    """The three reports submitted, forwarded, followed up by their agency and replied to."""
    for report in REPORTS:
        submit(running.portal, report)
    for report in REPORTS:
        forward_and_follow_up(running, report)
    for report in REPORTS:
        reply(running, report)


def test_nothing_private_reaches_a_public_surface_or_an_agency_it_must_not(running):
    take_through(running)
    unknown = next(i for i in ("LAP-" + "".join(random.choices(TRACKING_ALPHABET, k=8))
                               for _ in range(100)) if i not in {r.tracking_id for r in REPORTS})

    public = Sweep()
    probes = public_surfaces(running, public, unknown)
    agency = Sweep()
    agency_surfaces(running, agency)

    # The sweep sees the public reports: lists, searches, details, timelines, in every format.
    def answer(surface: str) -> Answer:
        return next(a for a in public.answers if a.surface.startswith(surface + " -> "))
    for report in (ANONYMOUS, PLAIN):
        for surface in ("web feed", "API feed page_size=100", "Open311 requests.json", "Open311 requests.xml",
                        "Open311 requests.json by ids", "Open311 requests.xml by ids"):
            assert report.tracking_id in answer(surface).text, (surface, report.key)
        for surface in ("web page", "API public report", "Open311 request json", "Open311 request xml"):
            shown = answer(f"{surface} ({report.key})")
            assert shown.status == "200" and report.form["title"] in shown.text, (surface, report.key, shown.raw)
            assert MARKER in shown.text, (surface, report.key, "nothing was redacted")
        for surface in ("web page", "API public report"):  # the timeline: the follow-up and the reply
            shown = answer(f"{surface} ({report.key})").text
            assert report.follow_up[:20] in shown and report.reply[:15] in shown, (surface, report.key, shown)
    for surface in ("web feed search brontolawe", "API feed search brontolawe"):
        assert PLAIN.tracking_id in answer(surface).text, f"{surface}: a search by stem finds nothing"
    for surface in ("web feed search Samsat", "API feed search Samsat"):
        assert ANONYMOUS.tracking_id in answer(surface).text, surface

    # A confidential report is nowhere public, and asking for it tells nothing a missing report does not.
    asked_for_it = {id(a) for pair in probes.values() for a in pair}
    leaks = found([a for a in public.answers if id(a) not in asked_for_it], [CONFIDENTIAL.tracking_id])
    assert not leaks, "the confidential report's tracking ID is public:\n" + "\n".join(leaks)
    leaks = found(public.answers, [*CONFIDENTIAL_WORDS, CONFIDENTIAL.form["title"], CONFIDENTIAL.follow_up])
    assert not leaks, "the confidential report's words are public:\n" + "\n".join(leaks)
    different = [f"{surface}: {confidential.status} {masked(confidential, CONFIDENTIAL.tracking_id)[:800]!r} vs "
                 f"{missing.status} {masked(missing, unknown)[:800]!r}"
                 for surface, (confidential, missing) in probes.items()
                 if (confidential.status, masked(confidential, CONFIDENTIAL.tracking_id))
                 != (missing.status, masked(missing, unknown))]
    assert not different, "the confidential report answers otherwise than no report:\n" + "\n".join(different)

    # No reporter is named publicly, and public text is redacted.
    leaks = found(public.answers, [s for r in REPORTS for s in (*r.reporter, *r.hidden)])
    assert not leaks, "public answers leak:\n" + "\n".join(leaks)

    # Agency staff read their reports as written, the confidential one too; never the anonymous reporter.
    for seen in (*CONFIDENTIAL_WORDS, *ANONYMOUS.hidden, PLAIN.reply, CONFIDENTIAL.tracking_id):
        assert found(agency.answers, [seen]), f"no agency answer has {seen!r}"
    for report in REPORTS:
        got = [a for a in agency.answers if a.surface.startswith(f"intake.GetReport as {identity.LIAISON_OFFICER} "
                                                                 f"({report.key})")]
        assert got[0].status == "OK" and report.form["description"] in got[0].text, got[0].raw
    leaks = found(agency.answers, ANONYMOUS.reporter)
    assert not leaks, "agency answers name the anonymous reporter:\n" + "\n".join(leaks)

    counted = {"public": len(public.answers), "agency": len(agency.answers)}
    assert counted["public"] >= 60 and counted["agency"] >= 20, counted
