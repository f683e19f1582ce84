"""The staff member signed in to a request's session, for the staff pages and the consoles to come.

The session (services.portal.sessions) holds only the account's id; the account is read again at each
request, so that a disabled account's sessions stop working at once and a changed role applies at
once. Pages guard themselves with `requires(*roles)`: a visitor who is not signed in is sent to
sign in (303), a member without one of the roles gets the 403 page, and a member signed in with a
temporary password (after a reset) is sent to set their own (303) from every page but that one. Calls to
services act for the member with `call_metadata()`: the signed caller identity "staff:<id>" with its
role and agency; `call_as_staff` makes such a call and turns what a page cannot say into its page.
"""

import functools
import logging

import grpc
from flask import Flask, abort, current_app, g, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import ServiceUnavailable

from services.plumbing import channels, identity
from services.plumbing.errors import Unauthenticated
from services.portal.intake_client import UNAVAILABLE
from services.portal.sessions import Sessions
from services.portal.staff_accounts import StaffAccount
from services.portal.staff_service import SESSION_ENTRY, StaffService

STAFF = SESSION_ENTRY  # the session's entry: {"id": <account id>}
OWN_PASSWORD = "staff_accounts.own_password"  # the page a temporary password leads to
EXTENSION = "sp4n_staff"
NEXT = "lanjut"  # where sign-in leads afterwards: a staff page only
MAX_NEXT = 500

log = logging.getLogger(__name__)


class StaffSessions:
    """Signing staff in and out of the request's session, and who is signed in."""

    def __init__(self, *, sessions: Sessions, service: StaffService, identity_key: str):
        self.sessions = sessions
        self.service = service
        self.identity_key = identity_key

    def member(self) -> StaffAccount | None:
        """The signed-in staff member, if the account is still active."""
        if "staff_member" not in g:
            session = self.sessions.peek()
            held = session.data.get(STAFF) if session else None
            g.staff_member = self.service.active_account(int(held["id"])) if held else None
        return g.staff_member

    def sign_in(self, account: StaffAccount) -> None:
        """Signs the session in to `account` under a new session id and CSRF token. Whatever the session
        held before (a reporter's reports or account) is left behind: staff work in a session of their own."""
        session = self.sessions.rotate()
        session.data.clear()
        session.data[STAFF] = {"id": account.id}
        self.sessions.save()
        g.staff_member = account

    def rotate(self, account: StaffAccount) -> None:
        """Gives the signed-in session a new id and CSRF token, as `account` is now (after a changed password)."""
        self.sessions.rotate()
        g.staff_member = account

    def sign_out(self) -> None:
        self.sessions.end()
        g.staff_member = None


def install(app: Flask, staff: StaffSessions) -> None:
    """Makes `staff` the app's, for `member`, `requires` and `caller`, and offers `staff_member` to templates."""
    app.extensions[EXTENSION] = staff
    app.jinja_env.globals["staff_member"] = staff.member


def _staff() -> StaffSessions:
    return current_app.extensions[EXTENSION]


def member() -> StaffAccount | None:
    """The staff member signed in to the request's session."""
    return _staff().member()


def caller_of(account: StaffAccount) -> identity.Caller:
    return identity.Caller(subject=account.subject, role=account.role, agency_id=account.agency_id)


def caller() -> identity.Caller:
    """The caller identity of the signed-in staff member; Unauthenticated when no one is signed in."""
    account = member()
    if account is None:
        raise Unauthenticated("no staff member is signed in")
    return caller_of(account)


def call_metadata() -> list[tuple[str, str]]:
    """gRPC call metadata carrying the signed identity of the signed-in staff member."""
    return channels.as_caller(caller(), _staff().identity_key)


def forbidden():
    """The 403 page: signed in, but not allowed this."""
    return render_template("staff_forbidden.html"), 403


def call_as_staff(stub, method: str, message, *, timeout: float):
    """`method` of `stub` (a service's gRPC stub) as the signed-in staff member. A service that does not
    answer is the 503 page, PERMISSION_DENIED the 403 page, NOT_FOUND the 404 page; any other refusal is
    raised for the page to say next to what it concerns."""
    if stub is None:
        raise ServiceUnavailable()
    try:
        return getattr(stub, method)(message, timeout=timeout, wait_for_ready=True, metadata=call_metadata())
    except grpc.RpcError as e:
        if e.code() in UNAVAILABLE:
            log.warning("%s did not answer: %s", method, e.code().name)
            raise ServiceUnavailable() from None
        if e.code() == grpc.StatusCode.PERMISSION_DENIED:
            abort(make_response(forbidden()))
        if e.code() == grpc.StatusCode.NOT_FOUND:
            abort(404)
        raise


def safe_next(value: str | None) -> str:
    """A staff page to go to after signing in, or '' for anything else (another site, say)."""
    if not value or len(value) > MAX_NEXT or "\\" in value or any(c < " " for c in value):
        return ""
    if value != "/staf" and not value.startswith(("/staf/", "/staf?")):
        return ""
    return value


def requires(*roles: str, with_temporary_password: bool = False):
    """A view only a signed-in staff member with one of `roles` (any role, when none are given) may open;
    with a temporary password, only if `with_temporary_password` (the page that replaces it)."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            account = member()
            if account is None:
                here = request.full_path.rstrip("?") if request.method == "GET" else ""
                return redirect(url_for("staff.sign_in", **({NEXT: here} if safe_next(here) else {})), 303)
            if account.must_change_password and not with_temporary_password:
                return redirect(url_for(OWN_PASSWORD), 303)
            if roles and account.role not in roles:
                return forbidden()
            return view(*args, **kwargs)
        return guarded

    return decorate
