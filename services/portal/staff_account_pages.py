"""Staff account management at /staf/akun: the list, a new account, disabling and enabling one again,
resetting its password; and at /staf/kata-sandi, a staff member's own password.

A national administrator manages every account; an agency administrator the agency administrators
and liaison officers of their own agency (services.portal.staff_accounts). Anything else is refused
with the 403 page and changes nothing, whatever the form says: the rights are checked on what is
posted, not only by what the pages offer.

A reset's temporary password is shown once, on the answer to the form (never stored in a session,
never cached); its account is then sent to /staf/kata-sandi from every staff page until it sets its own.
Changing one's password asks for the current one, a few wrong tries per account at most (429 after).
"""

from datetime import timedelta

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from services.portal import forms
from services.portal.i18n import N_, _
from services.portal.rate_limits import RateLimit
from services.portal.sessions import Sessions
from services.portal.staff_accounts import (AGENCY_ADMIN, MANAGERS, PASSWORD_LENGTH, TAKEN, Invalid,
                                            NewStaffAccount, NoSuchAccount, Refused, WrongPassword, may_disable,
                                            roles_made_by)
from services.portal.staff_service import StaffService
from services.portal.staff_session import StaffSessions, forbidden, member, requires

PAGE_SIZE = 50
AFTER = "setelah"  # the username a page of the list starts after
MAX_AFTER = 64
NOTICE = "staff_notice"  # what the list says once after an account was made or disabled
NOTICES = {
    "created": N_("Akun %(username)s dibuat."),
    "disabled": N_("Akun %(username)s dinonaktifkan."),
    "enabled": N_("Akun %(username)s diaktifkan kembali."),
}
PASSWORD_NOTICE = "staff_password_notice"  # what the staff home says once after a changed password
PASSWORD_CHANGED = N_("Kata sandi Anda diganti. Sesi lain akun ini telah diakhiri.")
WRONG_CURRENT_PASSWORD = N_("Kata sandi saat ini salah.")
CURRENT_PASSWORD_MISSING = N_("Isi kata sandi Anda saat ini.")
FIELD_MESSAGES = {
    "username": N_("Nama pengguna terdiri dari 3 sampai 64 karakter: huruf kecil, angka, titik, garis bawah, atau "
                   "tanda hubung, diawali huruf atau angka."),
    "password": N_("Kata sandi harus terdiri dari %(low)s sampai %(high)s karakter."),
    "role": N_("Pilih peran akun."),
    "agency_id": N_("Isi kode instansi untuk administrator instansi dan petugas penghubung (misalnya "
                    "kab-tanah-bumbu-dinas-pupr); kosongkan untuk peran nasional."),
}
USERNAME_TAKEN = N_("Nama pengguna ini sudah dipakai. Pilih nama lain.")
PASSWORDS_DIFFER = N_("Kedua kata sandi tidak sama.")
def field_message(field: str) -> str:
    if field == "password":
        return _(FIELD_MESSAGES[field], low=PASSWORD_LENGTH[0], high=PASSWORD_LENGTH[1])
    return _(FIELD_MESSAGES[field])


FIELDS = ("username", "password", "password_again", "role", "agency_id")
PASSWORD_FIELDS = ("current_password", "password", "password_again")
# Whoever holds a signed-in session must not learn its password by trying: a few wrong current passwords
# per account, then "too many attempts" (429) until the window ends. Counted beside the account, not in it.
WRONG_CURRENT_PASSWORDS = 5
WRONG_CURRENT_PASSWORD_WINDOW = timedelta(minutes=15)


def blueprint(*, service: StaffService, sessions: Sessions, staff: StaffSessions) -> Blueprint:
    bp = Blueprint("staff_accounts", __name__)
    wrong_current_passwords = RateLimit(pool=service.pool, clock=service.clock, name="staff-password:account",
                                        limit=WRONG_CURRENT_PASSWORDS, window=WRONG_CURRENT_PASSWORD_WINDOW)

    def new_account_page(form: forms.TextForm, status: int = 200):
        for secret in ("password", "password_again"):
            form.values.pop(secret, None)
        return render_template("staff_account_new.html", form=form, roles=roles_made_by(member()),
                               password_length=PASSWORD_LENGTH), status

    def notify(kind: str, username: str) -> None:
        sessions.leave_notice(NOTICE, {"kind": kind, "username": username})

    def take_notice() -> str:
        held = sessions.take_notice(NOTICE)
        if held is None or held.get("kind") not in NOTICES:
            return ""
        return _(NOTICES[held["kind"]], username=held["username"])

    @bp.get("/staf/akun")
    @requires(*MANAGERS)
    def accounts():
        actor = member()
        after = request.args.get(AFTER, "")[:MAX_AFTER]
        found = service.accounts(actor, after=after, limit=PAGE_SIZE + 1)
        shown = found[:PAGE_SIZE]
        next_page = url_for("staff_accounts.accounts", **{AFTER: shown[-1].username}) if len(found) > PAGE_SIZE else ""
        return render_template("staff_accounts.html", actor=actor, accounts=shown, next_page=next_page,
                               notice=take_notice(), may_disable=lambda account: may_disable(actor, account))

    @bp.get("/staf/akun/baru")
    @requires(*MANAGERS)
    def new_account():
        return new_account_page(forms.TextForm())

    @bp.post("/staf/akun")
    @requires(*MANAGERS)
    def create_account():
        actor = member()
        form = forms.TextForm.parse(request.form, *FIELDS, keep_spaces=("password", "password_again"))
        if actor.role == AGENCY_ADMIN and "agency_id" not in request.form:
            form.values["agency_id"] = actor.agency_id  # theirs: the form does not ask
        if not sessions.csrf_ok():
            form.errors[forms.FORM_ERROR] = _(forms.SESSION_EXPIRED)
            return new_account_page(form, 400)
        v = form.values
        asked = NewStaffAccount(username=v["username"], password=v["password"], role=v["role"],
                                agency_id=v["agency_id"])
        try:
            if v["password"] != v["password_again"]:
                form.errors["password_again"] = _(PASSWORDS_DIFFER)
                service.check(actor, asked)  # what else is wrong, or refused
            else:
                created = service.create(actor, asked)
        except Refused:
            return forbidden()
        except Invalid as e:
            for field, problem in e.problems.items():
                form.errors[field] = _(USERNAME_TAKEN) if problem == TAKEN else field_message(field)
            if "password" in form.errors:  # a password of the wrong length is said once
                form.errors.pop("password_again", None)
        if form.errors:
            return new_account_page(form, 400)
        notify("created", created.username)
        return redirect(url_for("staff_accounts.accounts"), 303)

    @bp.post("/staf/akun/<int:account_id>/nonaktifkan")
    @requires(*MANAGERS)
    def disable_account(account_id: int):
        if not sessions.csrf_ok():
            abort(400)
        try:
            disabled = service.disable(member(), account_id)
        except NoSuchAccount:
            abort(404)
        except Refused:
            return forbidden()
        notify("disabled", disabled.username)
        return redirect(url_for("staff_accounts.accounts"), 303)

    @bp.post("/staf/akun/<int:account_id>/aktifkan")
    @requires(*MANAGERS)
    def enable_account(account_id: int):
        if not sessions.csrf_ok():
            abort(400)
        try:
            enabled = service.enable(member(), account_id)
        except NoSuchAccount:
            abort(404)
        except Refused:
            return forbidden()
        notify("enabled", enabled.username)
        return redirect(url_for("staff_accounts.accounts"), 303)

    @bp.post("/staf/akun/<int:account_id>/atur-ulang-sandi")
    @requires(*MANAGERS)
    def reset_password(account_id: int):
        if not sessions.csrf_ok():
            abort(400)
        try:
            account, temporary = service.reset_password(member(), account_id)
        except NoSuchAccount:
            abort(404)
        except Refused:
            return forbidden()
        response = make_response(render_template("staff_password_reset.html", account=account, temporary=temporary))
        response.headers["Cache-Control"] = "no-store"  # shown once: not kept by the browser or a proxy
        return response

    def own_password_page(form: forms.TextForm, status: int = 200):
        form.values.clear()  # no password is ever sent back
        return render_template("staff_password.html", form=form, account=member(),
                               password_length=PASSWORD_LENGTH), status

    @bp.get("/staf/kata-sandi")
    @requires(with_temporary_password=True)
    def own_password():
        return own_password_page(forms.TextForm())

    @bp.post("/staf/kata-sandi")
    @requires(with_temporary_password=True)
    def change_own_password():
        form = forms.TextForm.parse(request.form, *PASSWORD_FIELDS, keep_spaces=PASSWORD_FIELDS)
        if not sessions.csrf_ok():
            form.errors[forms.FORM_ERROR] = _(forms.SESSION_EXPIRED)
            return own_password_page(form, 400)
        actor = member()
        if wrong_current_passwords.exceeded(str(actor.id)):
            abort(429)
        v = form.values
        if not v["current_password"]:
            form.errors["current_password"] = _(CURRENT_PASSWORD_MISSING)
        try:
            service.check_new_password(v["password"])
        except Invalid:
            form.errors["password"] = field_message("password")
        if "password" not in form.errors and v["password"] != v["password_again"]:
            form.errors["password_again"] = _(PASSWORDS_DIFFER)
        if form.errors:
            return own_password_page(form, 400)
        try:
            changed = service.change_password(actor, v["current_password"], v["password"],
                                              session_id=sessions.peek().id)
        except WrongPassword:
            wrong_current_passwords.hit(str(actor.id))
            form.errors["current_password"] = _(WRONG_CURRENT_PASSWORD)
            return own_password_page(form, 400)
        staff.rotate(changed)
        sessions.leave_notice(PASSWORD_NOTICE, {"kind": "changed"})
        return redirect(url_for("staff.home"), 303)

    return bp


def take_password_notice(sessions: Sessions) -> str:
    """What the staff home says once after its reader changed their password."""
    return _(PASSWORD_CHANGED) if sessions.take_notice(PASSWORD_NOTICE) else ""
