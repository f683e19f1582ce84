"""Optional reporter accounts: register, sign in, sign out, and "Laporan saya" (my reports).

Intake keeps the accounts and checks the passwords (and locks an account after repeated failed
sign-ins); the portal keeps only the signed-in account in the session, acting for it with the
reporter identity "account:<n>".

Per address (rate_limits, shared by every replica), after FAILED_SIGN_INS_PER_ADDRESS failed sign-ins
in SIGN_IN_WINDOW, and after REGISTRATIONS_PER_ADDRESS registrations tried in REGISTRATION_WINDOW,
the next is answered with the "too many attempts" page (429) until the window ends. Intake's own
lock of an account stops guessing one password; these stop trying many accounts, or making them.
"""

from datetime import timedelta

import grpc
from flask import Blueprint, abort, redirect, render_template, request, url_for
from psycopg_pool import ConnectionPool

from services.plumbing.clock import Clock
from services.portal import forms, rate_limits, reporter_session
from services.portal.i18n import N_, _
from services.portal.intake_client import IntakeClient, field_violation, reporter
from services.portal.rate_limits import RateLimit
from services.portal.sessions import Sessions
from sp4n.intake.v1 import intake_pb2

PAGE_SIZE = 20
# Generous, as many people share one mobile network's address.
SIGN_IN_WINDOW = timedelta(minutes=15)
FAILED_SIGN_INS_PER_ADDRESS = 30
REGISTRATION_WINDOW = timedelta(hours=1)
REGISTRATIONS_PER_ADDRESS = 20
WRONG_SIGN_IN = N_("Alamat e-mail atau kata sandi salah.")
EMAIL_TAKEN = N_("Alamat e-mail ini sudah terdaftar. Silakan masuk dengan akun tersebut.")
# Intake's field names in a refused registration: the form field and what to say. The portal has
# checked the address's form as intake does, so intake refusing it means it is someone's already.
REGISTRATION_FIELDS = {
    "name": ("name", N_("Nama paling banyak %(high)s karakter, dalam satu baris."), {"high": forms.MAX_NAME}),
    "email": ("email", EMAIL_TAKEN, {}),
    "phone": ("phone", forms.PHONE_INVALID, {}),
    "password": ("password", N_("Kata sandi harus terdiri dari %(low)s sampai %(high)s karakter."),
                 {"low": forms.MIN_PASSWORD, "high": forms.MAX_PASSWORD}),
}


def blueprint(*, intake: IntakeClient, sessions: Sessions, nonces: forms.Nonces, pool: ConnectionPool,
              clock: Clock) -> Blueprint:
    """The account pages; attempts are counted in `pool` by `clock`."""
    bp = Blueprint("accounts", __name__)
    failed_sign_ins = RateLimit(pool=pool, clock=clock, name="sign-in:address", limit=FAILED_SIGN_INS_PER_ADDRESS,
                                window=SIGN_IN_WINDOW)
    registrations = RateLimit(pool=pool, clock=clock, name="registration:address", limit=REGISTRATIONS_PER_ADDRESS,
                              window=REGISTRATION_WINDOW)

    def registration(form: forms.TextForm, nonce: str, status: int = 200):
        for secret in ("password", "password_again"):  # never sent back
            form.values.pop(secret, None)
        return render_template("account_register.html", form=form, nonce=nonce), status

    def sign_in_page(form: forms.TextForm, status: int = 200):
        form.values.pop("password", None)
        return render_template("account_sign_in.html", form=form), status

    @bp.get("/akun/daftar")
    def register():
        return registration(forms.TextForm(), nonces.issue())

    @bp.post("/akun/daftar")
    def create_account():
        form = forms.registration_form(request.form)
        nonce = request.form.get("nonce", "")
        key = nonces.posted_key(sessions)
        if key is None:
            form.errors[forms.FORM_ERROR] = _(forms.SESSION_EXPIRED)
            return registration(form, nonces.issue(), 400)
        if form.errors:
            return registration(form, nonce, 400)
        if registrations.spend(rate_limits.address(request.remote_addr)) is not None:
            abort(429)
        v = form.values
        try:
            account = intake.call("CreateReporterAccount", intake_pb2.CreateReporterAccountRequest(
                idempotency_key=key, email=v["email"], password=v["password"], name=v["name"], phone=v["phone"]))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.ALREADY_EXISTS:
                form.errors["email"] = _(EMAIL_TAKEN)
            elif e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                name, wording, params = REGISTRATION_FIELDS.get(field_violation(e).split(".")[-1],
                                                                (forms.FORM_ERROR, forms.FORM_INVALID, {}))
                form.errors[name] = _(wording, **params)
            else:
                raise
            return registration(form, nonce, 400)
        reporter_session.sign_in(sessions, account)
        return redirect(url_for("accounts.my_reports"), 303)

    @bp.get("/akun/masuk")
    def sign_in():
        return sign_in_page(forms.TextForm())

    @bp.post("/akun/masuk")
    def check_sign_in():
        form = forms.sign_in_form(request.form)
        if not sessions.csrf_ok():
            form.errors = {forms.FORM_ERROR: _(forms.SESSION_EXPIRED)}
            return sign_in_page(form, 400)
        address = rate_limits.address(request.remote_addr)
        if failed_sign_ins.exceeded(address):
            abort(429)
        if form.errors:
            return sign_in_page(form, 400)
        try:
            account = intake.call("SignInReporter", intake_pb2.SignInReporterRequest(
                email=form.values["email"], password=form.values["password"]))
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT,
                                grpc.StatusCode.RESOURCE_EXHAUSTED):
                raise
            failed_sign_ins.hit(address)
            if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # intake has locked the account for a while
                abort(429)
            form.errors[forms.FORM_ERROR] = _(WRONG_SIGN_IN)  # which of the two is not said
            return sign_in_page(form, 400)
        reporter_session.sign_in(sessions, account)
        return redirect(url_for("accounts.my_reports"), 303)

    @bp.post("/akun/keluar")
    def sign_out():
        if not sessions.csrf_ok():
            abort(400)
        sessions.end()
        return redirect(url_for("report_form"), 303)

    @bp.get("/akun/laporan")
    def my_reports():
        account = reporter_session.account(sessions.peek())
        if account is None:
            return redirect(url_for("accounts.sign_in"), 303)
        try:
            page = intake.call("ListReporterReports", intake_pb2.ListReporterReportsRequest(
                page_size=PAGE_SIZE, page_token=request.args.get("halaman", "")[:1000]),
                caller=reporter(reporter_session.account_subject(account["id"])))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                abort(400)  # a tampered or stale page link
            raise
        next_page = url_for("accounts.my_reports", halaman=page.next_page_token) if page.next_page_token else ""
        return render_template("my_reports.html", account=account, reports=page.reports, next_page=next_page)

    return bp
