"""Staff sign-in and sign-out at /staf/masuk and /staf/keluar, and the staff home page /staf: who is
signed in, and the pages their role works in.

A failed sign-in says only that the username or the password is wrong, for an unknown username, a
wrong password, a disabled account and a locked one alike (services.portal.staff_service). Per
address (rate_limits, shared by every replica), after FAILED_SIGN_INS_PER_ADDRESS failed sign-ins in
SIGN_IN_WINDOW the next is answered with the "too many attempts" page (429) until the window ends:
the lock of an account stops guessing one password, this stops trying many accounts.
"""

from datetime import timedelta

from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from psycopg_pool import ConnectionPool

from services.plumbing.clock import Clock
from services.portal import forms, rate_limits, staff_account_pages, staff_session
from services.portal.i18n import N_, _
from services.portal.rate_limits import RateLimit
from services.portal.sessions import Sessions
from services.portal.staff_accounts import AGENCY_ROLES, LOCK_TIME, MANAGERS, MAX_FAILURES, ROLES
from services.portal.staff_service import StaffService
from services.portal.staff_session import NEXT, StaffSessions, requires, safe_next

SIGN_IN_WINDOW = timedelta(minutes=15)
# Staff are few, but an office's staff share one address.
FAILED_SIGN_INS_PER_ADDRESS = 20
WRONG_SIGN_IN = N_("Nama pengguna atau kata sandi salah. Setelah %(n)s kali gagal, akun dikunci selama %(minutes)s "
                   "menit.")
ROLE_NAMES = {
    "national_admin": N_("Administrator nasional"),
    "agency_admin": N_("Administrator instansi"),
    "liaison_officer": N_("Petugas penghubung"),
    "process_analyst": N_("Analis proses"),
}
# The pages of the staff home, each for the roles that work in it: (endpoint, wording, roles). The
# consoles add theirs here.
WORK_PAGES = (
    ("staff_accounts.accounts", N_("Akun staf"), MANAGERS),
    ("agency.inbox", N_("Kotak masuk instansi"), AGENCY_ROLES),
    ("verification_console.queue", N_("Antrean verifikasi"), ("national_admin",)),
    ("directory_console.agencies", N_("Direktori instansi"), ("national_admin",)),
    ("rules_console.rules", N_("Aturan routing"), ("national_admin",)),
    ("notification_pages.inbox", N_("Kotak pemberitahuan"), ("national_admin", *AGENCY_ROLES)),
    ("notification_pages.dead_letters", N_("Notifikasi gagal terkirim"), ("national_admin",)),
    ("process_pages.versions", N_("Versi proses"), ("process_analyst", "national_admin")),
    ("process_pages.cockpit", N_("Kokpit proses"), ("process_analyst", "national_admin")),
    ("process_pages.statistics", N_("Statistik tenggat"), ("process_analyst", "national_admin")),
)


def register(app: Flask, *, sessions: Sessions, pool: ConnectionPool, clock: Clock, identity_key: str) -> None:
    """The staff pages of `app`, over its sessions; accounts and attempts kept in `pool`, by `clock`."""
    service = StaffService(pool=pool, clock=clock)
    staff = StaffSessions(sessions=sessions, service=service, identity_key=identity_key)
    staff_session.install(app, staff)
    app.jinja_env.globals["staff_role_name"] = lambda role: _(ROLE_NAMES[role])
    app.register_blueprint(blueprint(staff=staff, sessions=sessions, pool=pool, clock=clock))
    app.register_blueprint(staff_account_pages.blueprint(service=service, sessions=sessions, staff=staff))


def blueprint(*, staff: StaffSessions, sessions: Sessions, pool: ConnectionPool, clock: Clock) -> Blueprint:
    bp = Blueprint("staff", __name__)
    failed_sign_ins = RateLimit(pool=pool, clock=clock, name="staff-sign-in:address",
                                limit=FAILED_SIGN_INS_PER_ADDRESS, window=SIGN_IN_WINDOW)

    def sign_in_page(form: forms.TextForm, next_page: str, status: int = 200):
        form.values.pop("password", None)  # never sent back
        return render_template("staff_sign_in.html", form=form, next_page=next_page), status

    @bp.get("/staf/masuk")
    def sign_in():
        next_page = safe_next(request.args.get(NEXT))
        if staff.member() is not None:
            return redirect(next_page or url_for("staff.home"), 303)
        return sign_in_page(forms.TextForm(), next_page)

    @bp.post("/staf/masuk")
    def check_sign_in():
        form = forms.TextForm.parse(request.form, "username", "password", keep_spaces=("password",))
        next_page = safe_next(request.form.get(NEXT))
        if not sessions.csrf_ok():
            form.errors[forms.FORM_ERROR] = _(forms.SESSION_EXPIRED)
            return sign_in_page(form, next_page, 400)
        address = rate_limits.address(request.remote_addr)
        if failed_sign_ins.exceeded(address):
            abort(429)
        if not form.values["username"]:
            form.errors["username"] = _("Isi nama pengguna Anda.")
        if not form.values["password"]:
            form.errors["password"] = _("Isi kata sandi Anda.")
        if form.errors:
            return sign_in_page(form, next_page, 400)
        account = staff.service.sign_in(form.values["username"], form.values["password"])
        if account is None:
            failed_sign_ins.hit(address)
            form.errors[forms.FORM_ERROR] = _(WRONG_SIGN_IN, n=MAX_FAILURES, minutes=LOCK_TIME // timedelta(minutes=1))
            return sign_in_page(form, next_page, 400)
        staff.sign_in(account)
        return redirect(next_page or url_for("staff.home"), 303)

    @bp.post("/staf/keluar")
    def sign_out():
        if not sessions.csrf_ok():
            abort(400)
        staff.sign_out()
        return redirect(url_for("staff.sign_in"), 303)

    @bp.get("/staf")
    @requires(*ROLES)
    def home():
        account = staff.member()
        pages = [(url_for(endpoint), _(wording)) for endpoint, wording, roles in WORK_PAGES if account.role in roles]
        return render_template("staff_home.html", account=account, pages=pages,
                               notice=staff_account_pages.take_password_notice(sessions))

    return bp
