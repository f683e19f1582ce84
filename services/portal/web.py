"""The portal's web pages for reporters: the report form and the tracking page.

Pages turn HTTP into gRPC calls. Intake must answer for a page to be shown; what sla and notify
add (deadlines, notifications) is left out when they cannot be reached.
"""

import logging
from collections.abc import Sequence

import grpc
from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from werkzeug.exceptions import HTTPException

from services.plumbing.clock import Clock, SystemClock
from services.portal import feed, forms, labels, open311
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2
from sp4n.sla.v1 import sla_pb2

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a tracking ID in a URL must not travel to other sites
    "Cross-Origin-Opener-Policy": "same-origin",
}


class ServiceUnavailable(Exception):
    """A service the page cannot do without did not answer."""


def field_violation(error: grpc.RpcError) -> str:
    """The field a service's INVALID_ARGUMENT names, or '' when it names none."""
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad) and bad.field_violations:
            return bad.field_violations[0].field
    return ""


def create_app(*, intake, sla, notify, identity_key: str, intake_timeout: float = 5.0,
               extra_timeout: float = 2.0, open311_api_keys: tuple[str, ...] = (), clock: Clock | None = None,
               extra_blueprints: Sequence[tuple[Blueprint, str]] = ()) -> Flask:
    """The portal app over stubs of intake, sla and notify (their channels carry the portal's identity).

    Calls to intake wait up to `intake_timeout` for it to be reachable, riding out a restart; sla
    and notify get `extra_timeout` and are left out when they do not answer. `open311_api_keys` may
    post service requests through Open311. `extra_blueprints` are (blueprint, url prefix) pairs of the
    other HTTP surfaces (the REST API, the channel webhooks)."""
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES)
    app.jinja_env.globals.update(labels=labels, forms=forms)
    app.jinja_env.filters["when"] = labels.when
    nonces = forms.Nonces(identity_key)
    app.register_blueprint(feed.blueprint(intake=intake, timeout=intake_timeout))
    app.register_blueprint(open311.blueprint(intake=intake, sla=sla, api_keys=open311_api_keys,
                                             clock=clock or SystemClock(), intake_timeout=intake_timeout,
                                             extra_timeout=extra_timeout), url_prefix=open311.PREFIX)
    for extra, prefix in extra_blueprints:
        app.register_blueprint(extra, url_prefix=prefix)

    @app.after_request
    def security_headers(response):
        response.headers.update(SECURITY_HEADERS)
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    def show_form(form: forms.ReportForm, nonce: str, status: int = 200):
        return render_template("report_form.html", form=form, nonce=nonce), status

    @app.get("/")
    def report_form():
        return show_form(forms.ReportForm(values=dict.fromkeys(forms.TEXT_FIELDS, ""),
                                          flags=dict.fromkeys(forms.FLAGS, False)), nonces.issue())

    @app.post("/laporan")
    def submit_report():
        form = forms.ReportForm.parse(request.form)
        nonce = request.form.get("nonce", "")
        key = nonces.key(nonce)
        if key is None:
            form.errors[forms.FORM_ERROR] = forms.FORM_INVALID
            return show_form(form, nonces.issue(), 400)
        if form.errors:
            return show_form(form, nonce, 400)
        try:
            answer = intake.SubmitReport(form.to_request(key), timeout=intake_timeout, wait_for_ready=True)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                form.refused_by_intake(field_violation(e))
                return show_form(form, nonce, 400)
            if e.code() in UNAVAILABLE:
                log.warning("intake did not take a report: %s", e.code().name)
                # Intake may have taken it all the same; the same nonce makes sending again safe.
                form.errors[forms.FORM_ERROR] = ("Kami belum dapat memastikan laporan Anda terkirim karena layanan "
                                                 "sedang sibuk. Silakan kirim kembali dalam beberapa saat; laporan "
                                                 "yang sama tidak akan tercatat dua kali.")
                return show_form(form, nonce, 503)
            raise
        return redirect(url_for("tracking", tracking_id=answer.tracking_id), 303)

    @app.get("/lacak")
    def track_lookup():
        typed = request.args.get("id")
        if typed is None:
            return render_template("track_lookup.html", typed="", error="")
        if (tracking_id := forms.tracking_id(typed)) is None:
            error = "Nomor pelacakan tidak valid. Contoh: LAP-7K3QX9MA."
            return render_template("track_lookup.html", typed=typed[:40], error=error), 400
        return redirect(url_for("tracking", tracking_id=tracking_id), 303)

    @app.get("/lacak/<tracking_id>")
    def tracking(tracking_id: str):
        canonical = forms.tracking_id(tracking_id)
        if canonical is None:
            abort(404)
        if canonical != tracking_id:
            return redirect(url_for("tracking", tracking_id=canonical), 301)
        try:
            report = intake.GetReport(intake_pb2.GetReportRequest(tracking_id=tracking_id), timeout=intake_timeout,
                                      wait_for_ready=True)
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                abort(404)
            if e.code() in UNAVAILABLE:
                raise ServiceUnavailable("intake") from None
            raise
        return render_template("tracking.html", report=report, deadlines=deadlines(tracking_id),
                               notifications=notifications(tracking_id))

    def deadlines(tracking_id: str) -> list[sla_pb2.Deadline]:
        """The report's current deadlines; none when sla does not know the report or cannot be reached."""
        try:
            case = sla.GetCase(sla_pb2.GetCaseRequest(tracking_id=tracking_id), timeout=extra_timeout)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                log.warning("no deadlines for %s: sla answered %s", tracking_id, e.code().name)
            return []
        return sorted(case.deadlines, key=lambda d: d.due_at.ToDatetime())

    def notifications(tracking_id: str) -> list[notify_pb2.Notification] | None:
        """What the reporter was sent; None when notify cannot be reached."""
        try:
            answer = notify.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                              timeout=extra_timeout)
        except grpc.RpcError as e:
            log.warning("no notifications for %s: notify answered %s", tracking_id, e.code().name)
            return None
        return [n for n in answer.notifications if n.recipient == "reporter"]

    @app.get("/healthz")
    def healthz():
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_template("error.html", code=error.code), error.code

    @app.errorhandler(ServiceUnavailable)
    def service_unavailable(error: ServiceUnavailable):
        log.warning("%s is unavailable", error)
        return render_template("error.html", code=503), 503

    @app.errorhandler(Exception)
    def internal_error(error: Exception):
        log.exception("%s %s failed", request.method, request.path)
        return render_template("error.html", code=500), 500

    return app
