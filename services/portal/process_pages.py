"""The process analysts' pages (national administrators may read them too): the deployed versions of the
lifecycle model with what changed between them and the upload of a new one at /staf/proses, the cockpit of
a version (its diagram with the figures of each element) at /staf/proses/kokpit, the reports waiting at an
element, a report's path through the diagram at /staf/proses/laporan/<id>, and the deadline statistics at
/staf/statistik (and as JSON).

sla owns the versions, the figures and the cases and decides who may read them (services.sla): the pages
ask it as the signed-in staff member. A model sla refuses is shown with sla's reason, which names the
element at fault; nothing is deployed. Only analysts deploy (sla refuses the others), so only they get
the form. The diagram is drawn in the browser by bpmn-js (static/process_diagram.js) from the figures
the page's table holds: the table is what a reader without scripts, or a screen reader, gets.
"""

import functools
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import grpc
from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from services.portal import forms, labels
from services.portal.i18n import N_, _
from services.portal.intake_client import violation
from services.portal.rules_console import precondition_field
from services.portal.sessions import Sessions
from services.portal.staff_session import call_as_staff, member, requires
from sp4n.sla.v1 import sla_pb2 as pb

ANALYST, NATIONAL_ADMIN = "process_analyst", "national_admin"
READERS = (ANALYST, NATIONAL_ADMIN)
MAX_MODEL_BYTES = 1024 * 1024  # sla's limit
MODEL_FILE = "bpmn_file"
NOTICE = "process_notice"
PAGE_SIZE = 50
MAX_PAGE_TOKEN = 200
VERSION = "versi"
PAGE = "halaman"
CONTENT_HASH = re.compile(r"[0-9a-f]{8,128}")
ELEMENT_ID = re.compile(r"[A-Za-z_][\w.-]{0,199}")
BPMN_NS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
FLOW = "sequenceFlow"
# Made by a make target, not kept in the repository: without it the pages show their tables alone.
VIEWER = Path(__file__).with_name("static") / "vendor" / "bpmn-js" / "bpmn-navigated-viewer.production.min.js"

FORM_INVALID = N_("Formulir ini sudah tidak berlaku. Muat ulang halaman lalu coba lagi.")
FILE_REQUIRED = N_("Pilih berkas model BPMN (.bpmn).")
FILE_NOT_BPMN = N_("Berkas harus berakhiran .bpmn dan berisi XML (UTF-8).")
FILE_TOO_LARGE = N_("Berkas model maksimal 1 MiB.")
MODEL_REFUSED = N_("sla menolak model ini; tidak ada versi baru yang dipasang. Alasannya:")
DEPLOYED = N_("Versi %(version)s dipasang. Laporan baru memakai versi ini; laporan yang berjalan tetap memakai "
              "versinya.")
BAD_DATE = N_("Tanggal tidak valid. Tulis tanggal sebagai TTTT-BB-HH, misalnya 2026-11-01, dan tanggal awal tidak "
              "setelah tanggal akhir.")
BAD_PAGE = N_("Halaman ini tidak ada. Kembali ke halaman pertama daftar.")
CHANGES = {"added": N_("ditambahkan"), "removed": N_("dihapus"), "changed": N_("diubah")}
NO_CASE = N_("sla belum mencatat proses untuk laporan ini.")
DIAGRAM_UNAVAILABLE = N_("Diagram proses tidak dapat ditampilkan karena sla tidak menjawab.")


def viewer_available() -> bool:
    """Whether bpmn-js is installed for the diagrams."""
    return VIEWER.is_file()


def duration(seconds: float) -> str:
    """A time span in words a reader takes in at a glance: '2 hari 3 jam', '45 menit'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return _("%(n)s detik", n=seconds)
    if seconds < 3600:
        return _("%(n)s menit", n=seconds // 60)
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return _("%(days)s hari %(hours)s jam", days=days, hours=hours)
    return _("%(hours)s jam %(minutes)s menit", hours=hours, minutes=minutes)


def median(seconds: float, taken_over: int) -> str:
    """A median in words, or a dash when nothing was there to take it over."""
    return duration(seconds) if taken_over else "—"


def percent(share: float, deadlines: int) -> str:
    return f"{share * 100:.1f}%" if deadlines else "—"


def element_names(bpmn: str) -> dict[str, tuple[str, str]]:
    """Every element of a model by id: (its BPMN type, its name). The model is sla's, which parsed it."""
    try:
        root = ET.fromstring(bpmn)
    except ET.ParseError:
        return {}
    found = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(BPMN_NS) and element.get("id"):
            found[element.get("id")] = (element.tag[len(BPMN_NS):], element.get("name", ""))
    return found


def path_steps(case: pb.Case, bpmn: str) -> list[dict]:
    """The elements a report passed, in order, with their names: the flows between them are left out of
    the list (the diagram marks them)."""
    names = element_names(bpmn)
    return [{"id": e, "name": names.get(e, ("", ""))[1] or e, "type": names.get(e, ("", ""))[0]}
            for e in case.path if names.get(e, ("", ""))[0] != FLOW]


def report_path(sla, tracking_id: str, *, timeout: float) -> dict:
    """A report's path for its staff page: {'case', 'version', 'steps'}, or {'error': wording} when sla
    does not answer or has no case for it."""
    try:
        case = call_as_staff(sla, "GetCase", pb.GetCaseRequest(tracking_id=tracking_id), timeout=timeout)
        version = call_as_staff(sla, "GetProcessVersion",
                                pb.GetProcessVersionRequest(content_hash=case.process_version), timeout=timeout)
    except NotFound:
        return {"error": _(NO_CASE)}
    except (grpc.RpcError, HTTPException):  # the rest of the report's page shows all the same
        return {"error": _(DIAGRAM_UNAVAILABLE)}
    return {"case": case, "version": version, "steps": path_steps(case, version.bpmn)}


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(field) from None


def period(args) -> tuple[datetime | None, datetime | None]:
    """The statistics' period from `dari` and `sampai` (whole days in WIB); ValueError for a bad one."""
    start, end = _day(args.get("dari", "")[:20], "dari"), _day(args.get("sampai", "")[:20], "sampai")
    if start and end and start > end:
        raise ValueError("dari")
    since = datetime.combine(start, time(), labels.WIB) if start else None
    until = datetime.combine(end + timedelta(days=1), time(), labels.WIB) if end else None
    return since, until


def figures_json(f: pb.Figures) -> dict:
    return {"key": f.key, "deadlines": f.deadlines, "met_on_time": f.met_on_time,
            "share_met_percent": round(f.share_met * 100, 1) if f.deadlines else None, "backlog": f.backlog,
            "follow_ups": f.follow_ups, "median_follow_up_seconds": f.median_follow_up_seconds if f.follow_ups else None,
            "closures": f.closures, "median_closure_seconds": f.median_closure_seconds if f.closures else None}


def blueprint(*, sla, sessions: Sessions, nonces: forms.Nonces, timeout: float = 5.0) -> Blueprint:
    bp = Blueprint("process_pages", __name__)
    call = functools.partial(call_as_staff, sla, timeout=timeout)

    def versions_page(*, form: forms.TextForm | None = None, status: int = 200):
        versions = sorted(call("ListProcessVersions", pb.ListProcessVersionsRequest()).versions,
                          key=lambda v: v.version, reverse=True)
        changes = {}
        for newer, older in zip(versions, versions[1:]):
            found = call("CompareProcessVersions", pb.CompareProcessVersionsRequest(
                from_content_hash=older.content_hash, to_content_hash=newer.content_hash)).changes
            changes[newer.content_hash] = {"all": found, **{kind: sum(1 for c in found if c.change == kind)
                                                           for kind in CHANGES}}
        held = sessions.take_notice(NOTICE)
        notice = _(DEPLOYED, version=held["version"]) if held and "version" in held else ""
        return render_template("process_versions.html", versions=versions, changes=changes, form=form or forms.TextForm(),
                               may_deploy=member().role == ANALYST, nonce=nonces.issue(), notice=notice,
                               change_name=lambda c: _(CHANGES.get(c, c))), status

    @bp.get("/staf/proses")
    @requires(*READERS)
    def versions():
        return versions_page()

    @bp.post("/staf/proses")
    @requires(ANALYST)
    def deploy():
        request.max_content_length = MAX_MODEL_BYTES + 64 * 1024  # the file; each other field keeps its limit
        form = forms.TextForm()
        try:
            sent = request.files.get(MODEL_FILE)
            content = sent.read(MAX_MODEL_BYTES + 1) if sent is not None and sent.filename else b""
        except RequestEntityTooLarge:
            content, sent = None, None
        if content is None or len(content) > MAX_MODEL_BYTES:
            form.errors[MODEL_FILE] = _(FILE_TOO_LARGE)
            return versions_page(form=form, status=413)
        key = nonces.posted_key(sessions)
        if key is None:
            form.errors[forms.FORM_ERROR] = _(FORM_INVALID)
            return versions_page(form=form, status=400)
        if not content:
            form.errors[MODEL_FILE] = _(FILE_REQUIRED)
            return versions_page(form=form, status=400)
        filename = sent.filename[:200]
        try:
            bpmn = content.decode("utf-8")
        except UnicodeDecodeError:
            bpmn = ""
        if not filename.lower().endswith(".bpmn") or not bpmn.strip():
            form.errors[MODEL_FILE] = _(FILE_NOT_BPMN)
            return versions_page(form=form, status=400)
        try:
            deployed = call("DeployProcess", pb.DeployProcessRequest(idempotency_key=f"{key}:deploy",
                                                                     filename=filename, bpmn=bpmn))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                reason = violation(e)[1]
            elif e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                reason = e.details() or precondition_field(e)
            else:
                raise
            form.errors[MODEL_FILE] = _(MODEL_REFUSED)
            form.values["refusal"] = reason
            return versions_page(form=form, status=400)
        sessions.leave_notice(NOTICE, {"version": deployed.version})
        return redirect(url_for("process_pages.versions"), 303)

    def chosen_version() -> str:
        content_hash = request.args.get(VERSION, "")
        if content_hash and not CONTENT_HASH.fullmatch(content_hash):
            abort(404)
        return content_hash

    @bp.get("/staf/proses/kokpit")
    @requires(*READERS)
    def cockpit():
        content_hash = chosen_version()
        found = call("GetProcessCockpit", pb.GetProcessCockpitRequest(content_hash=content_hash))
        return render_template("process_cockpit.html", cockpit=found, content_hash=content_hash, median=median)

    @bp.get("/staf/proses/kokpit/<element_id>")
    @requires(*READERS)
    def element(element_id: str):
        content_hash = chosen_version()
        token = request.args.get(PAGE, "")
        if not ELEMENT_ID.fullmatch(element_id) or len(token) > MAX_PAGE_TOKEN:
            abort(404)
        found = call("GetProcessCockpit", pb.GetProcessCockpitRequest(content_hash=content_hash))
        named = [e for e in found.elements if e.element_id == element_id]
        if not named:
            abort(404)
        try:
            page = call("ListCasesAt", pb.ListCasesAtRequest(content_hash=content_hash, element_id=element_id,
                                                            page_size=PAGE_SIZE, page_token=token))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return render_template("process_element.html", element=named[0], version=found.version, cases=[],
                                   next_url="", later_page=True, message=_(BAD_PAGE), content_hash=content_hash,
                                   median=median), 400
        keep = {VERSION: content_hash} if content_hash else {}
        next_url = url_for("process_pages.element", element_id=element_id, **keep, **{PAGE: page.next_page_token}) \
            if page.next_page_token else ""
        return render_template("process_element.html", element=named[0], version=found.version, cases=page.cases,
                               next_url=next_url, later_page=bool(token), message="", content_hash=content_hash,
                               median=median)

    @bp.get("/staf/proses/laporan/<tracking_id>")
    @requires(*READERS)
    def case(tracking_id: str):
        if forms.tracking_id(tracking_id) != tracking_id:
            abort(404)
        found = call("GetCase", pb.GetCaseRequest(tracking_id=tracking_id))
        version = call("GetProcessVersion", pb.GetProcessVersionRequest(content_hash=found.process_version))
        path = {"case": found, "version": version, "steps": path_steps(found, version.bpmn)}
        return render_template("process_case.html", case=found, path=path)

    def statistics_of() -> tuple[pb.Statistics | None, str, tuple]:
        try:
            since, until = period(request.args)
        except ValueError:
            return None, _(BAD_DATE), (None, None)
        asked = pb.GetStatisticsRequest()
        if since:
            getattr(asked, "from").FromDatetime(since.astimezone(timezone.utc))
        if until:
            asked.to.FromDatetime(until.astimezone(timezone.utc))
        return call("GetStatistics", asked), "", (since, until)

    @bp.get("/staf/statistik")
    @requires(*READERS)
    def statistics():
        found, message, _period = statistics_of()
        chosen = {"dari": request.args.get("dari", "")[:20], "sampai": request.args.get("sampai", "")[:20]}
        json_url = url_for("process_pages.statistics_json", **{k: v for k, v in chosen.items() if v})
        return render_template("process_statistics.html", statistics=found, message=message, chosen=chosen,
                               json_url=json_url,
                               median=median, percent=percent), 400 if message else 200

    @bp.get("/staf/statistik.json")
    @requires(*READERS)
    def statistics_json():
        found, message, (since, until) = statistics_of()
        if message:
            return make_response(jsonify({"error": message}), 400)
        return jsonify({
            "from": since.isoformat() if since else None, "to": until.isoformat() if until else None,
            "computed_at": found.computed_at.ToDatetime(tzinfo=timezone.utc).isoformat()
            if found.HasField("computed_at") else None,
            "overall": figures_json(found.overall),
            "by_agency": [figures_json(f) for f in found.by_agency],
            "by_category": [figures_json(f) for f in found.by_category]})

    return bp
