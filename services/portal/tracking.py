"""The tracking page of one report, /lacak/<id>.

Without access it asks for the report's access code and shows nothing else. With access (the code
proven in this session, or the signed-in account owns the report) it shows the report, its
deadlines (sla), attachments, timeline (the agency's follow-ups with their files) and the reporter's
notifications (notify), with a box to reply to a follow-up or to complete a report sent back to the
reporter. Intake decides what the reporter may see and do: the portal only chooses which reporter
identity to act with.
"""

import logging
from datetime import timedelta

import grpc
from flask import Flask, abort, redirect, render_template, request, url_for
from psycopg_pool import ConnectionPool

from services.plumbing.clock import Clock
from services.portal import attachment_downloads, forms, reporter_session
from services.portal.deadlines import DeadlineView, deadline_views
from services.portal.i18n import N_, _
from services.portal.intake_client import IntakeClient
from services.portal.rate_limits import RateLimit
from services.portal.sessions import Sessions
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2
from sp4n.sla.v1 import sla_pb2

log = logging.getLogger(__name__)

# Wrong access codes: per session, and per address for whoever starts session after session.
CODE_WINDOW = timedelta(minutes=15)
CODES_PER_SESSION = 10
CODES_PER_ADDRESS = 30
# What intake answers when this identity may not see the report (or there is no such report).
DENIED = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAUTHENTICATED)
# The reporter's answer a report waits for, by its status: the form's endpoint.
WAITING_FOR = {intake_pb2.REPORT_STATUS_FOLLOWED_UP: "reply", intake_pb2.REPORT_STATUS_NEEDS_COMPLETION: "complete"}
NOT_WAITING = N_("Laporan ini sedang tidak menunggu tanggapan Anda. Muat ulang halaman untuk melihat statusnya.")
ANSWER_REFUSED = N_("Tanggapan tidak dapat diterima. Tulis paling banyak 5.000 karakter.")


def register(app: Flask, *, intake: IntakeClient, sla, notify, sessions: Sessions, nonces: forms.Nonces,
             pool: ConnectionPool, clock: Clock, extra_timeout: float) -> None:
    """Adds the tracking page and its forms to `app` (the page keeps the app-level endpoint name
    "tracking" that other surfaces link to)."""
    per_session = RateLimit(pool=pool, clock=clock, name="access-code:session", limit=CODES_PER_SESSION,
                            window=CODE_WINDOW)
    per_address = RateLimit(pool=pool, clock=clock, name="access-code:address", limit=CODES_PER_ADDRESS,
                            window=CODE_WINDOW)

    def as_reporter(tracking_id: str):
        """(identity, report) for the first reporter identity of this session intake lets see it; or None."""
        for caller in reporter_session.callers(sessions.peek(), tracking_id):
            try:
                return caller, intake.call("GetReport", intake_pb2.GetReportRequest(tracking_id=tracking_id),
                                           caller=caller)
            except grpc.RpcError as e:
                if e.code() not in DENIED:
                    raise
        return None

    def ask_for_code(tracking_id: str, form: forms.TextForm | None = None, status: int = 200):
        return render_template("access_code.html", tracking_id=tracking_id, form=form or forms.TextForm()), status

    def show(tracking_id: str, *, answer: forms.TextForm | None = None, nonce: str = "", status: int = 200):
        found = as_reporter(tracking_id)
        if found is None:
            return ask_for_code(tracking_id, status=status)
        _caller, report = found
        return render_template("tracking.html", report=report, deadlines=deadlines(tracking_id),
                               notifications=notifications(tracking_id), waiting=WAITING_FOR.get(report.status),
                               answer=answer or forms.TextForm(),
                               nonce=nonce or nonces.issue()), status

    def known(tracking_id: str) -> None:
        if forms.tracking_id(tracking_id) != tracking_id:
            abort(404)

    @app.get("/lacak/<tracking_id>", endpoint="tracking")
    def tracking_page(tracking_id: str):
        canonical = forms.tracking_id(tracking_id)
        if canonical is None:
            abort(404)
        if canonical != tracking_id:
            return redirect(url_for("tracking", tracking_id=canonical), 301)
        return show(tracking_id)

    @app.post("/lacak/<tracking_id>", endpoint="verify_access")
    def verify_access(tracking_id: str):
        known(tracking_id)
        form = forms.access_code_form(request.form)
        if not sessions.csrf_ok():
            form.errors = {forms.FORM_ERROR: _(forms.SESSION_EXPIRED)}
            return ask_for_code(tracking_id, form, 400)
        session_key, address = sessions.current().key, request.remote_addr or ""
        if per_session.exceeded(session_key) or per_address.exceeded(address):
            abort(429)
        if form.errors:
            return ask_for_code(tracking_id, form, 400)
        try:
            intake.call("VerifyReporterAccess", intake_pb2.VerifyReporterAccessRequest(
                tracking_id=tracking_id, access_code=form.values["access_code"]))
        except grpc.RpcError as e:
            if e.code() not in (*DENIED, grpc.StatusCode.INVALID_ARGUMENT):
                raise
            per_session.hit(session_key)
            per_address.hit(address)
            form.errors["access_code"] = _(forms.WRONG_ACCESS_CODE)  # the same whatever was wrong
            return ask_for_code(tracking_id, form, 400)
        reporter_session.grant(sessions, tracking_id)
        return redirect(url_for("tracking", tracking_id=tracking_id), 303)

    def post_answer(tracking_id: str, method: str, message_type):
        """The reporter's reply or completion, posted as the reporter; back to the page when taken."""
        known(tracking_id)
        form = forms.reply_form(request.form)
        nonce = request.form.get("nonce", "")
        if (key := nonces.posted_key(sessions)) is None:
            form.errors = {"body": _(forms.SESSION_EXPIRED)}
            return show(tracking_id, answer=form, status=400)
        found = as_reporter(tracking_id)
        if found is None:
            return ask_for_code(tracking_id, status=403)
        caller, _report = found
        if form.errors:
            return show(tracking_id, answer=form, nonce=nonce, status=400)
        try:
            intake.call(method, message_type(idempotency_key=key, tracking_id=tracking_id, body=form.values["body"]),
                        caller=caller)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
                form.errors[forms.FORM_ERROR] = _(NOT_WAITING)
                return show(tracking_id, answer=form, nonce=nonce, status=409)
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                form.errors["body"] = _(ANSWER_REFUSED)
                return show(tracking_id, answer=form, nonce=nonce, status=400)
            if e.code() in DENIED:
                return ask_for_code(tracking_id, status=403)
            raise
        return redirect(url_for("tracking", tracking_id=tracking_id, _anchor="riwayat"), 303)

    @app.post("/lacak/<tracking_id>/tanggapan", endpoint="reply")
    def reply(tracking_id: str):
        return post_answer(tracking_id, "PostReply", intake_pb2.PostReplyRequest)

    @app.post("/lacak/<tracking_id>/kelengkapan", endpoint="complete")
    def complete(tracking_id: str):
        return post_answer(tracking_id, "CompleteReport", intake_pb2.CompleteReportRequest)

    @app.get("/lacak/<tracking_id>/lampiran/<attachment_id>", endpoint="attachment")
    def attachment(tracking_id: str, attachment_id: str):
        def fetch(wanted: intake_pb2.GetAttachmentRequest) -> intake_pb2.Attachment | None:
            """The file as the first reporter identity of this session intake gives it to."""
            for caller in reporter_session.callers(sessions.peek(), tracking_id):
                try:
                    return intake.call("GetAttachment", wanted, caller=caller)
                except grpc.RpcError as e:
                    if e.code() not in DENIED:
                        raise
            return None

        return attachment_downloads.download(tracking_id, attachment_id, fetch)

    def deadlines(tracking_id: str) -> list[DeadlineView]:
        """The report's current deadlines; none when sla does not know the report or cannot be reached."""
        try:
            case = sla.GetCase(sla_pb2.GetCaseRequest(tracking_id=tracking_id), timeout=extra_timeout)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                log.warning("no deadlines for %s: sla answered %s", tracking_id, e.code().name)
            return []
        return deadline_views(case, clock.now())

    def notifications(tracking_id: str) -> list[notify_pb2.Notification] | None:
        """What the reporter was sent; None when notify cannot be reached."""
        try:
            answer = notify.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                              timeout=extra_timeout)
        except grpc.RpcError as e:
            log.warning("no notifications for %s: notify answered %s", tracking_id, e.code().name)
            return None
        return [n for n in answer.notifications if n.recipient == "reporter"]
