"""The agency directory at /staf/direktori, for national administrators: the list of agencies with
filters (level, region, text, active) and paging, an agency's page (the agencies above it, its units,
its liaison officers), the CSV import with a dry run that shows what would change before it is
applied, and the export of both files.

Routing owns the directory and checks everything (services.routing.directory_service): the pages
ask it as the signed-in administrator. Its refusal of a filter is said on the page; its refusal of an
import names every bad line, shown beside the file field, and nothing is changed. The files of a
dry run travel back in the apply form (base64 in hidden fields), so what is applied is what was
checked, and routing checks it again.
"""

import base64
import binascii
import functools
import logging

import grpc
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from services.portal import forms, regions
from services.portal.i18n import N_, _
from services.portal.intake_client import violation
from services.portal.sessions import Sessions
from services.portal.staff_session import call_as_staff, requires
from sp4n.routing.v1 import routing_pb2 as pb

log = logging.getLogger(__name__)

NATIONAL_ADMIN = "national_admin"
PAGE_SIZE = 50
UNITS_SHOWN = 1000
MAX_FILTER = 100
MAX_CSV_BYTES = 8 * 1024 * 1024  # routing's limit per file
# Both files, base64 in a form (4/3 of their size), and the rest of the form.
MAX_IMPORT_BYTES = 2 * (MAX_CSV_BYTES * 4 // 3 + 4) + 64 * 1024
NOTICE = "directory_notice"
AGENCIES_FILE, LIAISON_FILE = "agencies_csv", "liaison_officers_csv"
LEVELS = {
    "national": N_("Nasional"),
    "ministry": N_("Kementerian"),
    "agency": N_("Lembaga"),
    "province": N_("Provinsi"),
    "regency": N_("Kabupaten"),
    "city": N_("Kota"),
    "unit": N_("Unit kerja"),
}
ACTIVE = {  # the form's value: routing's filter
    "": pb.ListAgenciesRequest.ACTIVE_FILTER_UNSPECIFIED,
    "aktif": pb.ListAgenciesRequest.ACTIVE_FILTER_ACTIVE,
    "nonaktif": pb.ListAgenciesRequest.ACTIVE_FILTER_INACTIVE,
}
FILTER_REFUSED = N_("Filter ini tidak dapat dipakai: %(field)s. Periksa isiannya lalu coba lagi.")
FILTER_NAMES = {"level": N_("tingkat"), "region_code": N_("wilayah"), "query": N_("pencarian"),
                "page_token": N_("halaman")}
REGION_UNKNOWN = N_("Wilayah ini tidak ada dalam daftar wilayah.")
FILE_REQUIRED = N_("Pilih berkas CSV daftar instansi.")
FILE_TOO_LARGE = N_("Berkas terlalu besar: paling besar 8 MiB per berkas.")
IMPORT_REFUSED = N_("Berkas ditolak seluruhnya dan tidak ada yang diubah. Perbaiki baris berikut lalu kirim lagi:")
FORM_INVALID = N_("Formulir ini sudah tidak berlaku. Muat ulang halaman lalu coba lagi.")
IMPORTED = N_("Direktori diimpor: %(added)s ditambah, %(changed)s diubah, %(deactivated)s dinonaktifkan, "
              "%(deleted)s dihapus.")


def level_name(level: str) -> str:
    return _(LEVELS[level]) if level in LEVELS else level


def routing_caller(routing, timeout: float):
    """`call(method, message)`: routing's `method` as the signed-in staff member (staff_session.call_as_staff)."""
    return functools.partial(call_as_staff, routing, timeout=timeout)


def blueprint(*, routing, sessions: Sessions, nonces: forms.Nonces, timeout: float = 5.0) -> Blueprint:
    bp = Blueprint("directory_console", __name__)
    call = routing_caller(routing, timeout)

    def filters() -> dict[str, str]:
        return {name: request.args.get(name, "").strip()[:MAX_FILTER] for name in ("tingkat", "wilayah", "cari",
                                                                                   "status", "halaman")}

    def list_page(*, import_form: forms.TextForm | None = None, problems: list[str] | None = None,
                  status: int = 200):
        chosen = filters() if request.method == "GET" else dict.fromkeys(("tingkat", "wilayah", "cari", "status",
                                                                          "halaman"), "")
        message, page = "", None
        if chosen["status"] not in ACTIVE:
            message = _(FILTER_REFUSED, field=_("status"))
        elif chosen["wilayah"] and chosen["wilayah"] not in regions.of_app():
            message = _(REGION_UNKNOWN)
        else:
            try:
                page = call("ListAgencies", pb.ListAgenciesRequest(
                    level=chosen["tingkat"], region_code=chosen["wilayah"], query=chosen["cari"],
                    active=ACTIVE[chosen["status"]], page_size=PAGE_SIZE, page_token=chosen["halaman"]))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise
                field = violation(e)[0]
                message = _(FILTER_REFUSED, field=_(FILTER_NAMES.get(field, N_("filter"))))
        if message:
            status = 400
        next_args = {k: v for k, v in chosen.items() if v and k != "halaman"}
        if page is not None and page.next_page_token:
            next_args["halaman"] = page.next_page_token
        return render_template(
            "directory_list.html", page=page, chosen=chosen, message=message, levels=LEVELS, level_name=level_name,
            next_url=url_for("directory_console.agencies", **next_args) if page and page.next_page_token else "",
            notice=take_notice(), import_form=import_form or forms.TextForm(), problems=problems or [],
            nonce=nonces.issue()), status

    def take_notice() -> str:
        held = sessions.take_notice(NOTICE)
        return _(IMPORTED, **held) if held else ""

    @bp.get("/staf/direktori")
    @requires(NATIONAL_ADMIN)
    def agencies():
        return list_page()

    @bp.get("/staf/direktori/instansi/<agency_id>")
    @requires(NATIONAL_ADMIN)
    def agency(agency_id: str):
        if len(agency_id) > MAX_FILTER:
            abort(404)
        try:
            found = call("GetAgency", pb.GetAgencyRequest(agency_id=agency_id))
            units = call("ListAgencies", pb.ListAgenciesRequest(parent_id=agency_id, page_size=UNITS_SHOWN))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                abort(404)
            raise
        return render_template("directory_agency.html", agency=found, units=units, level_name=level_name)

    @bp.post("/staf/direktori/impor")
    @requires(NATIONAL_ADMIN)
    def dry_run():
        request.max_content_length = MAX_IMPORT_BYTES  # the files; each other field keeps its limit
        form = forms.TextForm()
        try:
            agencies_csv = _upload(request.files.get(AGENCIES_FILE))
            officers_csv = _upload(request.files.get(LIAISON_FILE))
        except RequestEntityTooLarge:
            form.errors[AGENCIES_FILE] = _(FILE_TOO_LARGE)
            return list_page(import_form=form, status=413)
        key = nonces.posted_key(sessions)
        if key is None:
            form.errors[forms.FORM_ERROR] = _(FORM_INVALID)
            return list_page(import_form=form, status=400)
        if not agencies_csv:
            form.errors[AGENCIES_FILE] = _(FILE_REQUIRED)
            return list_page(import_form=form, status=400)
        summary, problems = run_import(form, key=f"{key}:dry-run", agencies_csv=agencies_csv,
                                       officers_csv=officers_csv, dry_run=True)
        if summary is None:
            return list_page(import_form=form, problems=problems, status=400)
        return render_template("directory_import.html", summary=summary, nonce=nonces.issue(),
                               agencies_b64=base64.b64encode(agencies_csv).decode(),
                               officers_b64=base64.b64encode(officers_csv).decode(), form=form, problems=[])

    @bp.post("/staf/direktori/impor/terapkan")
    @requires(NATIONAL_ADMIN)
    def apply():
        request.max_content_length = request.max_form_memory_size = MAX_IMPORT_BYTES  # the files, in hidden fields
        form = forms.TextForm()
        key = nonces.posted_key(sessions)
        try:
            agencies_csv = base64.b64decode(request.form.get(AGENCIES_FILE, ""), validate=True)
            officers_csv = base64.b64decode(request.form.get(LIAISON_FILE, ""), validate=True)
        except (binascii.Error, ValueError):
            key = None
        if key is None or not agencies_csv:
            form.errors[forms.FORM_ERROR] = _(FORM_INVALID)
            return list_page(import_form=form, status=400)
        summary, problems = run_import(form, key=f"{key}:apply", agencies_csv=agencies_csv,
                                       officers_csv=officers_csv, dry_run=False)
        if summary is None:
            return list_page(import_form=form, problems=problems, status=400)
        sessions.leave_notice(NOTICE, {"added": len(summary.added_agency_ids),
                                       "changed": len(summary.changed_agency_ids),
                                       "deactivated": len(summary.deactivated_agency_ids),
                                       "deleted": len(summary.deleted_agency_ids)})
        return redirect(url_for("directory_console.agencies"), 303)

    def run_import(form: forms.TextForm, *, key: str, agencies_csv: bytes, officers_csv: bytes, dry_run: bool):
        """(routing's summary, []) or (None, the problems routing found, each a line), the form's error set."""
        try:
            return call("ImportAgencies", pb.ImportAgenciesRequest(
                idempotency_key=key, agencies_csv=agencies_csv, liaison_officers_csv=officers_csv,
                dry_run=dry_run)), []
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            field, description = violation(e)
            form.errors[field if field in (AGENCIES_FILE, LIAISON_FILE) else AGENCIES_FILE] = _(IMPORT_REFUSED)
            return None, [line for line in description.splitlines()[1:] if line.strip()] or [description]

    @bp.get("/staf/direktori/ekspor/<name>.csv")
    @requires(NATIONAL_ADMIN)
    def export(name: str):
        files = {"instansi": "agencies_csv", "petugas-penghubung": "liaison_officers_csv"}
        if name not in files:
            abort(404)
        exported = call("ExportAgencies", pb.ExportAgenciesRequest())
        response = make_response(getattr(exported, files[name]))
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response

    return bp


def _upload(sent) -> bytes:
    """A file from the form, b'' when none was chosen; RequestEntityTooLarge beyond routing's limit."""
    if sent is None or not sent.filename:
        return b""
    content = sent.read(MAX_CSV_BYTES + 1)
    if len(content) > MAX_CSV_BYTES:
        raise RequestEntityTooLarge()
    return content
