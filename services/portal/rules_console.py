"""The routing rules at /staf/aturan, for national administrators: the list with filters (category,
region, agency) and paging, adding a rule, editing one, deleting one.

Routing owns the rules and checks every change (services.routing.rules_service): a category reports
carry, a region of the reference list, an active agency of the directory, one rule per category and
region. The pages ask it as the signed-in administrator and show its refusal next to the field it
names (google.rpc.BadRequest for a bad value, google.rpc.PreconditionFailure for an inactive agency
or a rule that already exists); a refused change changes nothing.
"""

import grpc
from flask import Blueprint, abort, redirect, render_template, request, url_for
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.portal import forms
from services.portal.directory_console import MAX_FILTER, routing_caller
from services.portal.i18n import N_, _
from services.portal.intake_client import violation
from services.portal.sessions import Sessions
from services.portal.staff_session import requires
from sp4n.routing.v1 import routing_pb2 as pb

NATIONAL_ADMIN = "national_admin"
PAGE_SIZE = 50
NOTICE = "rules_notice"
FIELDS = ("category", "region_code", "agency_id")
# What to say beside a field routing refuses: (status code, field) -> wording.
REFUSALS = {
    (grpc.StatusCode.INVALID_ARGUMENT, "category"): N_("Pilih kategori dari daftar."),
    (grpc.StatusCode.INVALID_ARGUMENT, "region_code"): N_("Pilih wilayah dari daftar, atau Semua wilayah."),
    (grpc.StatusCode.INVALID_ARGUMENT, "agency_id"): N_("Tidak ada instansi dengan id ini di direktori. Contoh: "
                                                        "kab-tanah-bumbu-dinas-pupr."),
    (grpc.StatusCode.FAILED_PRECONDITION, "agency_id"): N_("Instansi ini nonaktif, dan routing tidak pernah memilih "
                                                           "instansi nonaktif. Pilih instansi yang aktif."),
    (grpc.StatusCode.FAILED_PRECONDITION, "region_code"): N_("Sudah ada aturan untuk kategori dan wilayah ini. Ubah "
                                                             "atau hapus aturan itu."),
}
NOTICES = {
    "created": N_("Aturan ditambahkan."),
    "updated": N_("Aturan diubah."),
    "deleted": N_("Aturan dihapus."),
}
FORM_INVALID = N_("Formulir ini sudah tidak berlaku. Muat ulang halaman lalu coba lagi.")
FILTER_REFUSED = N_("Filter ini tidak dapat dipakai. Periksa isiannya lalu coba lagi.")


def precondition_field(error: grpc.RpcError) -> str:
    """The field a FAILED_PRECONDITION names in its google.rpc.PreconditionFailure, or ''."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure) and failure.violations:
            return failure.violations[0].subject
    return ""


def _rule_id(value: str) -> bool:
    """Whether a path segment can be a rule's id (routing's are digits)."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def blueprint(*, routing, sessions: Sessions, nonces: forms.Nonces, timeout: float = 5.0) -> Blueprint:
    bp = Blueprint("rules_console", __name__)
    call = routing_caller(routing, timeout)

    def take_notice() -> str:
        held = sessions.take_notice(NOTICE)
        return _(NOTICES[held["done"]]) if held and held.get("done") in NOTICES else ""

    def list_page(*, form: forms.TextForm | None = None, status: int = 200):
        chosen = {name: request.args.get(name, "").strip()[:MAX_FILTER] if request.method == "GET" else ""
                  for name in ("kategori", "wilayah", "instansi", "halaman")}
        message, page = "", None
        try:
            page = call("ListRules", pb.ListRulesRequest(category=chosen["kategori"], region_code=chosen["wilayah"],
                                                         agency_id=chosen["instansi"], page_size=PAGE_SIZE,
                                                         page_token=chosen["halaman"]))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            message, status = _(FILTER_REFUSED), 400
        next_url = ""
        if page is not None and page.next_page_token:
            next_url = url_for("rules_console.rules", **{k: v for k, v in chosen.items() if v and k != "halaman"},
                               halaman=page.next_page_token)
        return render_template("rules_list.html", page=page, chosen=chosen, message=message, next_url=next_url,
                               form=form or forms.TextForm(values={"agency_id": chosen["instansi"]}),
                               notice=take_notice(), nonce=nonces.issue()), status

    def edit_page(rule: pb.Rule, form: forms.TextForm | None = None, status: int = 200):
        form = form or forms.TextForm(values={"category": rule.category, "region_code": rule.region_code,
                                              "agency_id": rule.agency_id})
        return render_template("rule_edit.html", rule=rule, form=form, nonce=nonces.issue()), status

    def checked_form() -> tuple[forms.TextForm, str | None]:
        """The posted rule form and the idempotency key of its nonce (None: a stale or forged form)."""
        form = forms.TextForm.parse(request.form, *FIELDS)
        key = nonces.posted_key(sessions)
        if key is None:
            form.errors[forms.FORM_ERROR] = _(FORM_INVALID)
            return form, None
        return form, key

    def refused(form: forms.TextForm, error: grpc.RpcError) -> None:
        """Puts routing's refusal beside its field, or at the top of the form."""
        if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            field, description = violation(error)
        elif error.code() == grpc.StatusCode.FAILED_PRECONDITION:
            field, description = precondition_field(error), error.details() or ""
        else:
            raise error
        wording = REFUSALS.get((error.code(), field))
        if wording:
            form.errors[field] = _(wording)
        else:
            form.errors[forms.FORM_ERROR] = description

    @bp.get("/staf/aturan")
    @requires(NATIONAL_ADMIN)
    def rules():
        return list_page()

    @bp.post("/staf/aturan")
    @requires(NATIONAL_ADMIN)
    def create():
        form, key = checked_form()
        if key is None:
            return list_page(form=form, status=400)
        v = form.values
        try:
            call("CreateRule", pb.CreateRuleRequest(idempotency_key=f"{key}:create", category=v["category"],
                                                    region_code=v["region_code"], agency_id=v["agency_id"]))
        except grpc.RpcError as e:
            refused(form, e)
            return list_page(form=form, status=400)
        sessions.leave_notice(NOTICE, {"done": "created"})
        return redirect(url_for("rules_console.rules"), 303)

    def rule_of(rule_id: str) -> pb.Rule:
        if not _rule_id(rule_id):
            abort(404)
        return call("GetRule", pb.GetRuleRequest(rule_id=rule_id))

    @bp.get("/staf/aturan/<rule_id>")
    @requires(NATIONAL_ADMIN)
    def edit(rule_id: str):
        return edit_page(rule_of(rule_id))

    @bp.post("/staf/aturan/<rule_id>")
    @requires(NATIONAL_ADMIN)
    def update(rule_id: str):
        rule = rule_of(rule_id)
        form, key = checked_form()
        if key is None:
            return edit_page(rule, form, 400)
        v = form.values
        try:
            call("UpdateRule", pb.UpdateRuleRequest(idempotency_key=f"{key}:update:{rule.id}", rule_id=rule.id,
                                                    category=v["category"], region_code=v["region_code"],
                                                    agency_id=v["agency_id"]))
        except grpc.RpcError as e:
            refused(form, e)
            return edit_page(rule, form, 400)
        sessions.leave_notice(NOTICE, {"done": "updated"})
        return redirect(url_for("rules_console.rules"), 303)

    @bp.post("/staf/aturan/<rule_id>/hapus")
    @requires(NATIONAL_ADMIN)
    def delete(rule_id: str):
        key = nonces.posted_key(sessions)
        if key is None:
            rule = rule_of(rule_id)
            form = forms.TextForm(values={"category": rule.category, "region_code": rule.region_code,
                                          "agency_id": rule.agency_id}, errors={forms.FORM_ERROR: _(FORM_INVALID)})
            return edit_page(rule, form, 400)
        if not _rule_id(rule_id):
            abort(404)
        # Not read first: a form sent twice finds the rule gone, and routing answers the repeat as the first.
        call("DeleteRule", pb.DeleteRuleRequest(idempotency_key=f"{key}:delete:{rule_id}", rule_id=rule_id))
        sessions.leave_notice(NOTICE, {"done": "deleted"})
        return redirect(url_for("rules_console.rules"), 303)

    return bp
