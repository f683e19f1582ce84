"""The verification console at /staf/verifikasi, for national administrators: the queue of reports
awaiting a decision, earliest deadline first, and each report's page with its detail, its decisions,
the reports it may duplicate and the five decisions (forward, ask for completion, hold, archive,
mark as a duplicate).

Verification owns the queue and the decisions and checks every one of them (services.verification):
the pages ask it, as the signed-in administrator, and show what it refuses, next to the field it
names or, for a report no longer waiting for a decision, as the page's message. Intake gives the
reports' text (GetReport, GetReportSummaries) and their candidate duplicates (FindSimilarReports);
routing the agencies to choose from (ListAgencies); sla the path the report took through the process
diagram (services.portal.process_pages) and when each queued report's deadline is due soon
(services.portal.deadlines: in its last working day), left unmarked when sla does not answer; notify
the report's notifications (services.portal.notification_pages), left out, saying so, when it does not.
"""

import logging
from datetime import datetime, timezone

import grpc
from flask import Blueprint, abort, redirect, render_template, request, url_for

from services.plumbing.clock import Clock
from services.portal import deadlines, forms
from services.portal.i18n import N_, _
from services.portal.deadlines import time_left
from services.portal.intake_client import violation
from services.portal.notification_pages import report_notifications
from services.portal.process_pages import report_path
from services.portal.sessions import Sessions
from services.portal.staff_session import call_as_staff, requires
from sp4n.intake.v1 import intake_pb2
from sp4n.routing.v1 import routing_pb2
from sp4n.sla.v1 import sla_pb2
from sp4n.verification.v1 import verification_pb2 as vpb

log = logging.getLogger(__name__)

NATIONAL_ADMIN = "national_admin"
NATIONAL_OWNER = "national"  # sla's owner of the verification deadline
QUEUE_PAGE = 50  # reports a page of the queue shows; the next page follows a link
AFTER = "setelah"  # the queue page's position: verification's page token
MAX_AFTER = 200
SIMILAR_SHOWN = 10
AGENCIES_SHOWN = 100
AGENCY_QUERY = "cari_instansi"
MAX_AGENCY_QUERY = 100
NOTICE = "verification_notice"  # what the queue says once after a decision

# The five decisions: the form's action in the URL, the outcome, its wording.
ACTIONS = {
    "teruskan": vpb.OUTCOME_FORWARD,
    "lengkapi": vpb.OUTCOME_NEEDS_COMPLETION,
    "tunda": vpb.OUTCOME_HOLD,
    "arsipkan": vpb.OUTCOME_ARCHIVE,
    "duplikat": vpb.OUTCOME_DUPLICATE,
}
OUTCOMES = {
    vpb.OUTCOME_FORWARD: N_("Diteruskan"),
    vpb.OUTCOME_NEEDS_COMPLETION: N_("Diminta dilengkapi"),
    vpb.OUTCOME_HOLD: N_("Ditunda"),
    vpb.OUTCOME_ARCHIVE: N_("Diarsipkan"),
    vpb.OUTCOME_DUPLICATE: N_("Duplikat"),
}
QUEUE_STATUSES = {
    vpb.QUEUE_STATUS_PENDING: N_("Menunggu keputusan"),
    vpb.QUEUE_STATUS_ON_HOLD: N_("Ditunda"),
    vpb.QUEUE_STATUS_DECIDED: N_("Sudah diputuskan"),
}
SIMILARITY_REASONS = {
    intake_pb2.SIMILARITY_REASON_SIMILAR_TEXT: N_("Teks mirip"),
    intake_pb2.SIMILARITY_REASON_NEARBY: N_("Lokasi berdekatan"),
    intake_pb2.SIMILARITY_REASON_SAME_PLACE_TEXT: N_("Wilayah sama dan keterangan lokasi mirip"),
}
# The form fields of each action, by the field of DecideReportRequest a refusal names: (action, field) ->
# the control's id. A refusal naming another field is the page's message.
CONTROLS = {
    ("teruskan", "agency_id"): "forward-agency",
    ("teruskan", "category"): "forward-category",
    ("teruskan", "title"): "forward-title",
    ("teruskan", "anonymous"): "forward-anonymous",
    ("teruskan", "confidential"): "forward-confidential",
    ("teruskan", "reason"): "forward-note",
    ("lengkapi", "reason"): "completion-message",
    ("tunda", "reason"): "hold-reason",
    ("arsipkan", "archive_reason"): "archive-reason",
    ("arsipkan", "reason"): "archive-text",
    ("duplikat", "duplicate_of"): "duplicate-of",
    ("duplikat", "reason"): "duplicate-note",
}
FIELD_MESSAGES = {
    "forward-agency": N_("Instansi ini tidak dapat dipilih. Pilih instansi lain atau biarkan routing memilih."),
    "forward-category": N_("Pilih kategori laporan."),
    "forward-title": N_("Judul terdiri dari 5 sampai 150 karakter, tanpa baris baru. Kosongkan untuk mempertahankan "
                        "judul."),
    "forward-anonymous": N_("Tanda anonim hanya dapat dipasang, tidak dapat dicabut."),
    "forward-confidential": N_("Tanda rahasia hanya dapat dipasang, tidak dapat dicabut."),
    "forward-note": N_("Catatan maksimal 450 karakter, tanpa baris baru."),
    "completion-message": N_("Tulis apa yang perlu dilengkapi pelapor (maksimal 450 karakter)."),
    "hold-reason": N_("Tulis alasan penundaan (maksimal 450 karakter)."),
    "archive-reason": N_("Pilih alasan pengarsipan."),
    "archive-text": N_("Jelaskan alasannya (wajib untuk alasan Lainnya, maksimal 450 karakter)."),
    "duplicate-of": N_("Isi nomor pelacakan laporan asli: laporan lain yang ada dalam antrean verifikasi dan bukan "
                       "duplikat laporan lain."),
    "duplicate-note": N_("Catatan maksimal 450 karakter, tanpa baris baru."),
}
NO_LONGER_WAITING = N_("Laporan ini tidak lagi menunggu keputusan, sehingga keputusan Anda tidak disimpan. Lihat "
                       "riwayat keputusan di bawah.")
NOTICE_TEXT = N_("Keputusan untuk %(tracking_id)s disimpan: %(outcome)s.")
FORM_INVALID = N_("Formulir ini sudah tidak berlaku. Muat ulang halaman lalu coba lagi.")


def outcome_name(outcome: int) -> str:
    return _(OUTCOMES.get(outcome, N_("Keputusan")))


def queue_status(status: int) -> str:
    return _(QUEUE_STATUSES.get(status, N_("Menunggu keputusan")))


def verification_deadline(case: sla_pb2.Case) -> sla_pb2.Deadline | None:
    """The report's open deadline owned by the national administrators: the one of verification."""
    waiting = [d for d in case.deadlines if d.owner == NATIONAL_OWNER and d.state == "open"]
    return min(waiting, key=lambda d: d.due_at.ToDatetime()) if waiting else None


def blueprint(*, verification, routing, intake, sessions: Sessions, nonces: forms.Nonces, clock: Clock,
              sla=None, notify=None, timeout: float = 5.0, extra_timeout: float = 1.0) -> Blueprint:
    """The console over stubs of verification, routing, intake, sla and notify; calls act for the signed-in
    administrator and wait up to `timeout` for a service to be reachable (sla, whose answer only marks
    the deadlines due soon, and notify, whose report's notifications the page does without, `extra_timeout`)."""
    bp = Blueprint("verification_console", __name__)

    def due_soon_of(tracking_ids: list[str]) -> set[str]:
        """The reports whose verification deadline is due soon by sla, asked at once; a report sla did not
        answer for is left unmarked (its time left still shows)."""
        if sla is None or not tracking_ids:
            return set()
        moment = now()
        asked = {t: sla.GetCase.future(sla_pb2.GetCaseRequest(tracking_id=t), timeout=extra_timeout)
                 for t in tracking_ids}
        soon = set()
        for tracking_id, future in asked.items():
            try:
                deadline = verification_deadline(future.result())
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    log.warning("no deadline for %s: sla answered %s", tracking_id, e.code().name)
                continue
            if deadline is not None and deadlines.urgency(deadline, moment) == deadlines.DUE_SOON:
                soon.add(tracking_id)
        return soon

    def call(stub, method: str, message):
        return call_as_staff(stub, method, message, timeout=timeout)

    def now() -> datetime:
        return clock.now().astimezone(timezone.utc)

    def take_notice() -> str:
        held = sessions.take_notice(NOTICE)
        if not held:
            return ""
        return _(NOTICE_TEXT, tracking_id=held["tracking_id"], outcome=outcome_name(held["outcome"]))

    @bp.get("/staf/verifikasi")
    @requires(NATIONAL_ADMIN)
    def queue():
        token = request.args.get(AFTER, "")
        if len(token) > MAX_AFTER:
            abort(400)
        try:
            found = call(verification, "ListQueue", vpb.ListQueueRequest(limit=QUEUE_PAGE, page_token=token))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:  # a position that is none (an edited link)
                abort(400)
            raise
        items = found.items
        next_page = url_for("verification_console.queue", **{AFTER: found.next_page_token}) \
            if found.next_page_token else ""
        summaries = {}
        if items:
            found = call(intake, "GetReportSummaries",
                         intake_pb2.GetReportSummariesRequest(tracking_ids=[i.tracking_id for i in items]))
            summaries = {s.tracking_id: s for s in found.reports}
        soon = due_soon_of([i.tracking_id for i in items])
        moment = now()
        rows = []
        for item in items:
            left, overdue = time_left(item.due_at.ToDatetime(tzinfo=timezone.utc), moment)
            rows.append({"item": item, "summary": summaries.get(item.tracking_id), "left": left, "overdue": overdue,
                         "due_soon": not overdue and item.tracking_id in soon})
        return render_template("verification_queue.html", rows=rows, notice=take_notice(), next_page=next_page,
                               later_page=bool(token), queue_status=queue_status)

    def report_page(tracking_id: str, *, action: str = "", form: forms.TextForm | None = None, message: str = "",
                    nonce: str = "", status: int = 200):
        detail = call(verification, "GetQueueItem", vpb.GetQueueItemRequest(tracking_id=tracking_id))
        report = call(intake, "GetReport", intake_pb2.GetReportRequest(tracking_id=tracking_id))
        similar = call(intake, "FindSimilarReports",
                       intake_pb2.FindSimilarReportsRequest(tracking_id=tracking_id, limit=SIMILAR_SHOWN)).reports
        reasons = call(verification, "ListArchiveReasons", vpb.ListArchiveReasonsRequest()).reasons
        query = request.args.get(AGENCY_QUERY, "").strip()[:MAX_AGENCY_QUERY] if request.method == "GET" else ""
        agencies = call(routing, "ListAgencies", routing_pb2.ListAgenciesRequest(
            query=query, active=routing_pb2.ListAgenciesRequest.ACTIVE_FILTER_ACTIVE,
            page_size=AGENCIES_SHOWN)).agencies
        form = form or forms.TextForm()
        form.values.setdefault("forward-category", report.category)
        left, overdue = time_left(detail.item.due_at.ToDatetime(tzinfo=timezone.utc), now())
        waiting = detail.item.status in (vpb.QUEUE_STATUS_PENDING, vpb.QUEUE_STATUS_ON_HOLD)
        return render_template(
            "verification_report.html", detail=detail, report=report, similar=similar, reasons=reasons,
            agencies=agencies, agency_query=query, form=form, action=action, message=message,
            nonce=nonce or nonces.issue(), left=left, overdue=overdue, waiting=waiting,
            notifications=report_notifications(notify, tracking_id, timeout=extra_timeout),
            path=report_path(sla, tracking_id, timeout=extra_timeout),
            categories=forms.CATEGORIES, outcome_name=outcome_name, queue_status=queue_status,
            similarity_reasons=SIMILARITY_REASONS), status

    def checked(value: str | None) -> str:
        tracking_id = forms.tracking_id(value or "")
        if tracking_id is None or tracking_id != value:
            abort(404)
        return tracking_id

    @bp.get("/staf/verifikasi/<tracking_id>")
    @requires(NATIONAL_ADMIN)
    def report(tracking_id: str):
        return report_page(checked(tracking_id))

    @bp.post("/staf/verifikasi/<tracking_id>/<action>")
    @requires(NATIONAL_ADMIN)
    def decide(tracking_id: str, action: str):
        tracking_id = checked(tracking_id)
        if action not in ACTIONS:
            abort(404)
        form = forms.TextForm.parse(request.form, *(c for (a, _f), c in CONTROLS.items() if a == action))
        nonce = request.form.get("nonce", "")
        key = nonces.posted_key(sessions)
        if key is None:
            return report_page(tracking_id, action=action, form=form, message=_(FORM_INVALID), status=400)
        decision = decision_request(action, tracking_id, form, key)
        try:
            made = call(verification, "DecideReport", decision)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                field, description = violation(e)
                control = CONTROLS.get((action, field))
                if control:
                    form.errors[control] = _(FIELD_MESSAGES[control])
                else:
                    form.errors[forms.FORM_ERROR] = description
                return report_page(tracking_id, action=action, form=form, nonce=nonce, status=400)
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return report_page(tracking_id, action=action, form=form, message=_(NO_LONGER_WAITING),
                                   status=409)
            raise
        sessions.leave_notice(NOTICE, {"tracking_id": made.tracking_id, "outcome": made.outcome})
        return redirect(url_for("verification_console.queue"), 303)

    return bp


def decision_request(action: str, tracking_id: str, form: forms.TextForm, key: str) -> vpb.DecideReportRequest:
    """The decision the form of `action` asks for. The checks are verification's."""
    v = form.values
    request_ = vpb.DecideReportRequest(idempotency_key=f"{key}:{action}", tracking_id=tracking_id,
                                       outcome=ACTIONS[action])
    if action == "teruskan":
        request_.agency_id = v["forward-agency"]
        request_.category = v["forward-category"]
        request_.title = v["forward-title"]
        request_.reason = v["forward-note"]
        # A flag is set when its box is ticked; an unticked (or disabled, already set) box keeps the report's own.
        for flag in ("anonymous", "confidential"):
            if v[f"forward-{flag}"] == "1":
                setattr(request_, flag, True)
    elif action == "lengkapi":
        request_.reason = v["completion-message"]
    elif action == "tunda":
        request_.reason = v["hold-reason"]
    elif action == "arsipkan":
        request_.reason = v["archive-text"]
        chosen = v["archive-reason"]
        request_.archive_reason = int(chosen) if chosen.isdigit() and int(chosen) in vpb.ArchiveReason.values() \
            else vpb.ARCHIVE_REASON_UNSPECIFIED
    elif action == "duplikat":
        typed = v["duplicate-of"]
        request_.duplicate_of = forms.tracking_id(typed) or typed
        request_.reason = v["duplicate-note"]
    return request_
