"""The agency console at /staf/instansi, for liaison officers and agency administrators: the inbox of
their agency's assigned reports with their deadlines, a report's detail with its timeline and
attachments, and what an agency does with a report: post a follow-up (tindak lanjut), with files if
it has any; decline it as not within its authority (it then goes back to routing); or, for an agency
administrator, dispatch it to a unit directly under the agency (disposisi), with an instruction the
unit reads on this page once the report's process has forwarded it there, by the same deadline.

Every call is made as the signed-in staff member (staff_session.call_metadata), and the services
decide: intake shows an agency only its own reports and never the reporter's identity, routing lets
only the assigned agency decline, and only its administrator dispatch. A refusal (PERMISSION_DENIED) is the 403 page and changes nothing;
a decision on a report no longer waiting for it (FAILED_PRECONDITION) is said on the page.

Deadlines come from sla and the report's notifications addressed to the agency from notify (both asked as
the staff member); each is left out, saying so, when its service cannot be reached. A deadline is "due soon" in its
last working day (from sla's due_soon_from: by the Indonesian working-day calendar in the zone of the
deadline's owner, services.portal.deadlines) and "overdue" once it has passed unmet; the time left to
an open one is shown beside it.

A follow-up's files go by the reporter's form's rules (forms.read_attachments: at most 5, 5 MiB each,
and intake's check of what each file is); a refused file is said next to the file input and nothing is
posted. Intake keeps them with the follow-up for the reporter and staff: the timeline here and on the
tracking page links them, the public pages and APIs never show them.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import grpc
from flask import Blueprint, Flask, abort, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from services.plumbing.clock import Clock
from services.portal import attachment_downloads, forms
from services.portal.deadlines import DeadlineView, deadline_views
from services.portal.i18n import N_, _
from services.portal.intake_client import IntakeClient, field_violation
from services.portal.notification_pages import report_notifications
from services.portal.sessions import Sessions
from services.portal.staff_accounts import AGENCY_ADMIN, AGENCY_ROLES
from services.portal.staff_session import call_as_staff, caller, call_metadata, forbidden, member, requires
from sp4n.intake.v1 import intake_pb2
from sp4n.routing.v1 import routing_pb2
from sp4n.sla.v1 import sla_pb2

log = logging.getLogger(__name__)

PAGE_SIZE = 20
# Ordered by deadline, the inbox holds the reports still waiting on the agency, up to this many.
MAX_BY_DEADLINE = 500
OPEN_STATUSES = (intake_pb2.REPORT_STATUS_FORWARDED, intake_pb2.REPORT_STATUS_FOLLOWED_UP)
ORDER = "urutan"  # "baru" (newest first, the default) or "tenggat" (by deadline)
PAGE = "halaman"  # intake's page token (newest first) or the page number (by deadline)
MAX_PAGE_TOKEN = 1000
DECLINE_REASON = (10, 2000)  # routing's limits
NOTICE = "agency_notice"
NOTICES = {
    "followed_up": N_("Tindak lanjut untuk laporan %(id)s terkirim."),
    "declined": N_("Laporan %(id)s ditolak dan dikembalikan untuk dirutekan ulang ke instansi lain."),
    "dispatched": N_("Laporan %(id)s didisposisikan ke %(unit)s, dengan tenggat yang sama."),
}
NOT_WAITING = N_("Laporan ini sedang tidak menunggu tindak lanjut instansi Anda. Muat ulang halaman untuk melihat "
                 "statusnya.")
NOT_DECLINABLE = N_("Laporan ini tidak dapat ditolak lagi: penugasan instansi Anda sudah tidak aktif, atau instansi "
                    "Anda adalah tujuan terakhir.")
FOLLOW_UP_REFUSED = N_("Tindak lanjut tidak dapat diterima. Tulis paling banyak 5.000 karakter.")
FOLLOW_UP_EMPTY = N_("Tulis tindak lanjut instansi Anda.")
FOLLOW_UP_TOO_LONG = N_("Tindak lanjut maksimal %(high)s karakter (sekarang %(length)s).")
REASON_LENGTH = N_("Tulis alasan penolakan, %(low)s sampai %(high)s karakter.")
DISPATCH_NOTE = 2000  # routing's limit
CHOOSE_UNIT = N_("Pilih unit di bawah instansi Anda.")
NOTE_TOO_LONG = N_("Instruksi maksimal %(high)s karakter (sekarang %(length)s).")
NOTE_REFUSED = N_("Instruksi tidak dapat diterima: tulis teks biasa, paling banyak %(high)s karakter.")
NOT_DISPATCHABLE = N_("Laporan ini tidak dapat didisposisikan ke unit itu: unit itu tidak aktif atau pernah menolak "
                      "laporan ini, atau instansi Anda tidak lagi memegang laporan ini. Muat ulang halaman.")
MAX_UNITS = 1000  # routing's largest page: an agency with more units than this is not one we know of


@dataclass
class FollowUpForm(forms.TextForm):
    """The follow-up as sent: its text, its files, and the message for each refused field."""
    attachments: list[forms.Upload] = field(default_factory=list)


def agency_deadline(deadlines: list[DeadlineView] | None) -> DeadlineView | None:
    """The deadline the inbox shows for a report: its earliest open one (the agency's work)."""
    waiting = [d for d in deadlines or () if d.open]
    return min(waiting, key=lambda d: d.due_at) if waiting else None


def register(app: Flask, *, intake: IntakeClient, sla, routing, sessions: Sessions, clock: Clock,
             extra_timeout: float, notify=None) -> None:
    app.register_blueprint(blueprint(intake=intake, sla=sla, notify=notify, routing=routing, sessions=sessions,
                                     clock=clock, extra_timeout=extra_timeout,
                                     nonces=forms.Nonces(intake.identity_key)))


def blueprint(*, intake: IntakeClient, sla, routing, sessions: Sessions, clock: Clock, extra_timeout: float,
              nonces: forms.Nonces, notify=None) -> Blueprint:
    bp = Blueprint("agency", __name__)

    def as_staff(method: str, message):
        return intake.call(method, message, caller=caller())

    def deadlines_of(tracking_ids: list[str]) -> dict[str, list[DeadlineView] | None]:
        """Each report's deadlines from sla, asked at once; None for a report sla did not answer for."""
        now = clock.now()
        metadata = call_metadata()  # sla lets staff read the cases of their own agency's reports only
        asked = {t: sla.GetCase.future(sla_pb2.GetCaseRequest(tracking_id=t), timeout=extra_timeout,
                                       metadata=metadata)
                 for t in tracking_ids}
        found: dict[str, list[DeadlineView] | None] = {}
        for tracking_id, future in asked.items():
            try:
                case = future.result()
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    log.warning("no deadlines for %s: sla answered %s", tracking_id, e.code().name)
                found[tracking_id] = [] if e.code() == grpc.StatusCode.NOT_FOUND else None
                continue
            found[tracking_id] = deadline_views(case, now)
        return found

    def take_notice() -> str:
        held = sessions.take_notice(NOTICE)
        if held is None or held.get("kind") not in NOTICES:
            return ""
        return _(NOTICES[held["kind"]], id=held["id"], unit=held.get("unit", ""))

    def leave_notice(kind: str, tracking_id: str) -> None:
        sessions.leave_notice(NOTICE, {"kind": kind, "id": tracking_id})

    def refused(e: grpc.RpcError):
        """The page for what a service refused outright; other errors are raised again."""
        if e.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            return forbidden()
        if e.code() == grpc.StatusCode.NOT_FOUND:
            abort(404)
        raise e

    @bp.get("/staf/instansi")
    @requires(*AGENCY_ROLES)
    def inbox():
        account = member()
        by_deadline = request.args.get(ORDER) == "tenggat"
        page = request.args.get(PAGE, "")[:MAX_PAGE_TOKEN]
        try:
            if by_deadline:
                pairs, next_page, truncated = sorted_by_deadline(account.agency_id, page)
                reports, deadlines = [r for r, _d in pairs], {r.tracking_id: d for r, d in pairs}
            else:
                answer = as_staff("ListAgencyReports", intake_pb2.ListAgencyReportsRequest(
                    agency_id=account.agency_id, page_size=PAGE_SIZE, page_token=page))
                reports, next_page, truncated = list(answer.reports), answer.next_page_token, False
                deadlines = deadlines_of([r.tracking_id for r in reports])
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:  # a page token not of intake's making
                return redirect(url_for("agency.inbox", **({ORDER: "tenggat"} if by_deadline else {})), 303)
            return refused(e)
        shown = {t: agency_deadline(d) for t, d in deadlines.items()}
        next_url = url_for("agency.inbox", **{ORDER: "tenggat" if by_deadline else "baru", PAGE: next_page}) \
            if next_page else ""
        return render_template("agency_inbox.html", account=account, reports=reports, deadline=shown,
                               sla_missing=[t for t, d in deadlines.items() if d is None], by_deadline=by_deadline,
                               next_page=next_url, truncated=truncated, notice=take_notice())

    def sorted_by_deadline(agency_id: str, page: str):
        """The reports waiting on the agency, earliest deadline first (those without one last): a page of
        (report, deadlines) pairs, the next page's number or '', and whether MAX_BY_DEADLINE cut the list."""
        number = int(page) if page.isdigit() and 0 < int(page) <= MAX_BY_DEADLINE else 1
        reports, token = [], ""
        while True:
            answer = as_staff("ListAgencyReports", intake_pb2.ListAgencyReportsRequest(
                agency_id=agency_id, statuses=OPEN_STATUSES, page_size=100, page_token=token))
            reports.extend(answer.reports)
            token = answer.next_page_token
            if not token or len(reports) >= MAX_BY_DEADLINE:
                break
        truncated = bool(token) or len(reports) > MAX_BY_DEADLINE
        reports = reports[:MAX_BY_DEADLINE]
        found = deadlines_of([r.tracking_id for r in reports])
        far = datetime.max.replace(tzinfo=timezone.utc)

        def due(report):
            d = agency_deadline(found[report.tracking_id])
            return d.due_at if d else far

        ordered = sorted(reports, key=due)
        start = (number - 1) * PAGE_SIZE
        shown = ordered[start:start + PAGE_SIZE]
        next_page = str(number + 1) if start + PAGE_SIZE < len(ordered) else ""
        return [(r, found[r.tracking_id]) for r in shown], next_page, truncated

    def known(tracking_id: str) -> None:
        if forms.tracking_id(tracking_id) != tracking_id:
            abort(404)

    def from_routing(method: str, message, what: str):
        """routing's answer as the signed-in staff member, or None when it is not there to give one
        (the page then leaves out what it was for)."""
        try:
            return getattr(routing, method)(message, metadata=call_metadata(), timeout=extra_timeout)
        except grpc.RpcError as e:
            log.warning("no %s: routing answered %s to %s", what, e.code().name, method)
            return None

    def units_of(agency_id: str) -> list[routing_pb2.Agency]:
        """The active agencies directly under the caller's: where its administrator may dispatch to."""
        found = from_routing("ListAgencies", routing_pb2.ListAgenciesRequest(
            parent_id=agency_id, active=routing_pb2.ListAgenciesRequest.ACTIVE_FILTER_ACTIVE, page_size=MAX_UNITS),
            "units")
        return list(found.agencies) if found is not None else []

    def show(tracking_id: str, *, follow_up: FollowUpForm | None = None, decline: forms.TextForm | None = None,
             dispatch: forms.TextForm | None = None, nonce: str = "", status: int = 200):
        try:
            report = as_staff("GetReport", intake_pb2.GetReportRequest(tracking_id=tracking_id))
        except grpc.RpcError as e:
            return refused(e)
        account = member()
        deadlines = deadlines_of([tracking_id])[tracking_id]
        waiting = report.status in OPEN_STATUSES
        # How the agency came to hold it: a dispatch carries the dispatching administrator's instruction.
        assignment = from_routing("GetAssignment", routing_pb2.GetAssignmentRequest(tracking_id=tracking_id),
                                  "assignment")
        units = units_of(account.agency_id) if waiting and account.role == AGENCY_ADMIN else []
        return render_template("agency_report.html", report=report, deadlines=deadlines,
                               notifications=report_notifications(notify, tracking_id, timeout=extra_timeout),
                               follow_up=follow_up or FollowUpForm(), decline=decline or forms.TextForm(),
                               dispatch=dispatch or forms.TextForm(), units=units, dispatch_note=DISPATCH_NOTE,
                               assignment=assignment if assignment and assignment.matched_by == "dispatch" else None,
                               nonce=nonce or nonces.issue(), decline_reason=DECLINE_REASON,
                               may_follow_up=waiting, notice=take_notice()), status

    @bp.get("/staf/instansi/<tracking_id>")
    @requires(*AGENCY_ROLES)
    def report(tracking_id: str):
        known(tracking_id)
        return show(tracking_id)

    @bp.get("/staf/instansi/<tracking_id>/lampiran/<attachment_id>")
    @requires(*AGENCY_ROLES)
    def attachment(tracking_id: str, attachment_id: str):
        def fetch(wanted: intake_pb2.GetAttachmentRequest) -> intake_pb2.Attachment:
            try:
                return as_staff("GetAttachment", wanted)
            except grpc.RpcError as e:
                abort(make_response(refused(e)))

        return attachment_downloads.download(tracking_id, attachment_id, fetch)

    def follow_up_form(data, files) -> FollowUpForm:
        form = FollowUpForm(values={"body": data.get("body", "").strip()})
        length = len(form.values["body"])
        if length < forms.BODY[0]:
            form.errors["body"] = _(FOLLOW_UP_EMPTY)
        elif length > forms.BODY[1]:
            form.errors["body"] = _(FOLLOW_UP_TOO_LONG, high=forms.number(forms.BODY[1]),
                                    length=forms.number(length))
        form.attachments = forms.read_attachments(files.getlist("attachments"), form.errors)
        return form

    @bp.post("/staf/instansi/<tracking_id>/tindak-lanjut")
    @requires(*AGENCY_ROLES)
    def post_follow_up(tracking_id: str):
        known(tracking_id)
        if request.mimetype == "multipart/form-data":
            request.max_content_length = forms.MAX_UPLOAD_BYTES  # the files; each other field keeps its limit
        try:
            form = follow_up_form(request.form, request.files)
        except RequestEntityTooLarge:
            return render_template("upload_too_large.html", back=url_for("agency.report", tracking_id=tracking_id,
                                                                         _anchor="tindak-lanjut")), 413
        nonce = request.form.get("nonce", "")
        if (key := nonces.posted_key(sessions)) is None:
            form.errors = {"body": _(forms.SESSION_EXPIRED)}
            return show(tracking_id, follow_up=form, status=400)
        if form.errors:
            return show(tracking_id, follow_up=form, nonce=nonce, status=400)
        try:
            as_staff("PostFollowUp", intake_pb2.PostFollowUpRequest(
                idempotency_key=key, tracking_id=tracking_id, body=form.values["body"],
                attachments=forms.uploads_pb(form.attachments)))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                form.errors[forms.FORM_ERROR] = _(NOT_WAITING)
                return show(tracking_id, follow_up=form, nonce=nonce, status=409)
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                if not forms.attachment_refused(field_violation(e), form.errors):
                    form.errors["body"] = _(FOLLOW_UP_REFUSED)
                return show(tracking_id, follow_up=form, nonce=nonce, status=400)
            return refused(e)
        leave_notice("followed_up", tracking_id)
        return redirect(url_for("agency.report", tracking_id=tracking_id, _anchor="riwayat"), 303)

    @bp.post("/staf/instansi/<tracking_id>/tolak")
    @requires(*AGENCY_ROLES)
    def decline(tracking_id: str):
        known(tracking_id)
        form = forms.TextForm.parse(request.form, "reason")
        nonce = request.form.get("nonce", "")
        if (key := nonces.posted_key(sessions)) is None:
            form.errors = {"reason": _(forms.SESSION_EXPIRED)}
            return show(tracking_id, decline=form, status=400)
        if not DECLINE_REASON[0] <= len(form.values["reason"]) <= DECLINE_REASON[1]:
            form.errors["reason"] = _(REASON_LENGTH, low=DECLINE_REASON[0], high=forms.number(DECLINE_REASON[1]))
            return show(tracking_id, decline=form, nonce=nonce, status=400)
        try:
            call_as_staff(routing, "DeclineAssignment", routing_pb2.DeclineAssignmentRequest(
                idempotency_key=f"agency-decline:{key}", tracking_id=tracking_id, reason=form.values["reason"]),
                timeout=intake.timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                form.errors[forms.FORM_ERROR] = _(NOT_DECLINABLE)
                return show(tracking_id, decline=form, nonce=nonce, status=409)
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                form.errors["reason"] = _(REASON_LENGTH, low=DECLINE_REASON[0],
                                          high=forms.number(DECLINE_REASON[1]))
                return show(tracking_id, decline=form, nonce=nonce, status=400)
            return refused(e)
        leave_notice("declined", tracking_id)
        return redirect(url_for("agency.inbox"), 303)

    @bp.post("/staf/instansi/<tracking_id>/disposisi")
    @requires(AGENCY_ADMIN)
    def dispatch(tracking_id: str):
        """The agency administrator hands the report to a unit of their agency (disposisi); routing
        decides whether they may, and the report's process forwards it with the agency's deadline."""
        known(tracking_id)
        form = forms.TextForm.parse(request.form, "agency_id", "note")
        nonce = request.form.get("nonce", "")
        if (key := nonces.posted_key(sessions)) is None:
            form.errors = {"agency_id": _(forms.SESSION_EXPIRED)}
            return show(tracking_id, dispatch=form, status=400)
        units = {u.id: u for u in units_of(member().agency_id)}
        if form.values["agency_id"] not in units:
            form.errors["agency_id"] = _(CHOOSE_UNIT)
        if len(form.values["note"]) > DISPATCH_NOTE:
            form.errors["note"] = _(NOTE_TOO_LONG, high=forms.number(DISPATCH_NOTE),
                                    length=forms.number(len(form.values["note"])))
        if form.errors:
            return show(tracking_id, dispatch=form, nonce=nonce, status=400)
        try:
            call_as_staff(routing, "DispatchReport", routing_pb2.DispatchReportRequest(
                idempotency_key=f"agency-dispatch:{key}", tracking_id=tracking_id,
                agency_id=form.values["agency_id"], note=form.values["note"]), timeout=intake.timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                form.errors[forms.FORM_ERROR] = _(NOT_DISPATCHABLE)
                return show(tracking_id, dispatch=form, nonce=nonce, status=409)
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                if field_violation(e) == "note":
                    form.errors["note"] = _(NOTE_REFUSED, high=forms.number(DISPATCH_NOTE))
                else:
                    form.errors["agency_id"] = _(CHOOSE_UNIT)
                return show(tracking_id, dispatch=form, nonce=nonce, status=400)
            return refused(e)
        sessions.leave_notice(NOTICE, {"kind": "dispatched", "id": tracking_id,
                                       "unit": units[form.values["agency_id"]].name})
        return redirect(url_for("agency.inbox"), 303)

    return bp
