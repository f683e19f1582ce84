"""The portal's web pages for reporters: the report form, its confirmation with the access code,
and the tracking number lookup; the tracking page and the accounts have modules of their own.

Pages turn HTTP into gRPC calls. Intake must answer for a page to be shown; what sla and notify
add (deadlines, notifications) is left out when they cannot be reached.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

import grpc
from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, ServiceUnavailable

from services.plumbing.clock import Clock, SystemClock
from services.portal import (accounts, agency_console, directory_console, feed, forms, i18n, labels,
                            notification_pages, observation, open311, process_pages, rate_limits, reporter_session,
                            rules_console, staff_pages, tracking, verification_console)
from services.portal.i18n import N_, _
from services.portal.intake_client import IntakeClient, field_violation
from services.portal.rate_limits import RateLimit
from services.portal.regions import Regions
from services.portal.regions import install as install_regions
from services.portal.sessions import Sessions, SessionStore

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 * 1024
SESSION_IDLE = timedelta(hours=1)
SESSION_ABSOLUTE = timedelta(hours=12)
# Reports sent from the web form by one address: generous, as many people share a mobile network's address,
# but a script fetching a fresh form for each report stops here.
REPORTS_PER_ADDRESS = 60
REPORT_WINDOW = timedelta(hours=1)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a tracking ID in a URL must not travel to other sites
    "Cross-Origin-Opener-Policy": "same-origin",
}
INTAKE_BUSY = N_("Kami belum dapat memastikan laporan Anda terkirim karena layanan sedang sibuk. Silakan kirim "
                 "kembali dalam beberapa saat; laporan yang sama tidak akan tercatat dua kali.")
INVALID_TRACKING_ID = N_("Nomor pelacakan tidak valid. Contoh: LAP-7K3QX9MA.")


def create_app(*, intake, sla, notify, routing, identity_key: str, pool: ConnectionPool, intake_timeout: float = 5.0,
               extra_timeout: float = 2.0, open311_api_keys: tuple[str, ...] = (), clock: Clock | None = None,
               extra_blueprints: Sequence[tuple[Blueprint, str]] = (), regions: Regions,
               verification=None) -> Flask:
    """The portal app over stubs of intake, sla, notify and routing (their channels carry the portal's
    identity; routing serves the agency console's decline, the directory and the routing rules) and the portal's own schema in `pool` (sessions).

    Calls to intake wait up to `intake_timeout` for it to be reachable, riding out a restart; sla
    and notify get `extra_timeout` and are left out when they do not answer. `open311_api_keys` may
    post service requests through Open311. `extra_blueprints` are (blueprint, url prefix) pairs of the
    other HTTP surfaces (the REST API, the channel webhooks). `regions` is the reference list of
    regions the forms and APIs offer. `verification` serves the verification console (None: its pages
    answer 503)."""
    clock = clock or SystemClock()
    app = Flask(__name__)
    observation.install(app)  # first: its request id is bound before any other hook makes a call
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES)
    i18n.init_app(app)
    install_regions(app, regions)
    app.jinja_env.globals.update(labels=labels, forms=forms)
    app.jinja_env.filters["when"] = labels.when
    sessions = Sessions(app, SessionStore(pool=pool, clock=clock, idle=SESSION_IDLE, absolute=SESSION_ABSOLUTE))
    app.jinja_env.globals["reporter_account"] = lambda: reporter_session.account(sessions.peek())
    client = IntakeClient(intake, identity_key=identity_key, timeout=intake_timeout)
    nonces = forms.Nonces(identity_key)
    reports_sent = RateLimit(pool=pool, clock=clock, name="report:address", limit=REPORTS_PER_ADDRESS,
                             window=REPORT_WINDOW)
    app.register_blueprint(feed.blueprint(intake=client))
    app.register_blueprint(open311.blueprint(intake=intake, sla=sla, api_keys=open311_api_keys, clock=clock,
                                             token_key=identity_key, pool=pool,
                                             intake_timeout=intake_timeout, extra_timeout=extra_timeout),
                           url_prefix=open311.PREFIX)
    app.register_blueprint(accounts.blueprint(intake=client, sessions=sessions, nonces=nonces, pool=pool,
                                              clock=clock))
    tracking.register(app, intake=client, sla=sla, notify=notify, sessions=sessions, nonces=nonces, pool=pool,
                      clock=clock, extra_timeout=extra_timeout)
    staff_pages.register(app, sessions=sessions, pool=pool, clock=clock, identity_key=identity_key)
    agency_console.register(app, intake=client, sla=sla, notify=notify, routing=routing, sessions=sessions,
                            clock=clock, extra_timeout=extra_timeout)
    app.register_blueprint(verification_console.blueprint(verification=verification, routing=routing, intake=intake,
                                                          sla=sla, notify=notify, sessions=sessions, nonces=nonces,
                                                          clock=clock, timeout=intake_timeout,
                                                          extra_timeout=extra_timeout))
    app.register_blueprint(notification_pages.blueprint(notify=notify, intake=intake, sessions=sessions, nonces=nonces,
                                                        timeout=intake_timeout, extra_timeout=extra_timeout))
    app.register_blueprint(directory_console.blueprint(routing=routing, sessions=sessions, nonces=nonces,
                                                       timeout=intake_timeout))
    app.register_blueprint(rules_console.blueprint(routing=routing, sessions=sessions, nonces=nonces,
                                                   timeout=intake_timeout))
    app.register_blueprint(process_pages.blueprint(sla=sla, sessions=sessions, nonces=nonces,
                                                   timeout=intake_timeout))
    app.jinja_env.globals["bpmn_viewer_available"] = process_pages.viewer_available
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
        return show_form(forms.ReportForm.empty(reporter_session.account(sessions.peek())), nonces.issue())

    @app.post("/laporan")
    def submit_report():
        if request.mimetype == "multipart/form-data":
            request.max_content_length = forms.MAX_UPLOAD_BYTES  # the files; each other field keeps its limit
        try:
            form = forms.ReportForm.parse(request.form, request.files,
                                          today=forms.today_in_indonesia(clock.now()))
        except RequestEntityTooLarge:
            return render_template("upload_too_large.html"), 413
        nonce = request.form.get("nonce", "")
        key = nonces.key(nonce)
        if key is None:
            form.errors[forms.FORM_ERROR] = _(forms.FORM_INVALID)
            return show_form(form, nonces.issue(), 400)
        if not sessions.csrf_ok():
            form.errors[forms.FORM_ERROR] = _(forms.SESSION_EXPIRED)
            return show_form(form, nonce, 400)
        if form.errors:
            return show_form(form, nonce, 400)
        if reports_sent.spend(rate_limits.address(request.remote_addr)) is not None:
            abort(429)
        account = reporter_session.account(sessions.peek())
        submission = form.to_request(key, language=i18n.current(), account_id=account["id"] if account else "")
        try:
            answer = client.call("SubmitReport", submission)
        except ServiceUnavailable:
            # Intake may have taken it all the same; the same nonce makes sending again safe.
            form.errors[forms.FORM_ERROR] = _(INTAKE_BUSY)
            return show_form(form, nonce, 503)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            form.refused_by_intake(field_violation(e))
            return show_form(form, nonce, 400)
        # A signed-in reporter follows the report through the account: no code to keep.
        reporter_session.submitted(sessions, answer.tracking_id, "" if account else answer.access_code)
        return redirect(url_for("confirmation"), 303)

    @app.get("/laporan/terkirim")
    def confirmation():
        held = reporter_session.take_submitted(sessions)
        if held is None:
            return redirect(url_for("report_form"), 303)
        tracking_id, access_code = held
        return render_template("confirmation.html", tracking_id=tracking_id, access_code=access_code,
                               signed_in=reporter_session.account(sessions.peek()) is not None)

    @app.get("/lacak")
    def track_lookup():
        typed = request.args.get("id")
        if typed is None:
            return render_template("track_lookup.html", typed="", error="")
        if (tracking_id := forms.tracking_id(typed)) is None:
            return render_template("track_lookup.html", typed=typed[:40], error=INVALID_TRACKING_ID), 400
        return redirect(url_for("tracking", tracking_id=tracking_id), 303)

    @app.get("/healthz")
    def healthz():
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 503:
            log.warning("a service the page needs is unavailable")
        # The error's own headers stay (Allow on a 405, Retry-After); the body is this page.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return render_template("error.html", code=error.code), error.code, headers

    @app.errorhandler(Exception)
    def internal_error(error: Exception):
        log.exception("%s %s failed", request.method, request.path)
        return render_template("error.html", code=500), 500

    return app
