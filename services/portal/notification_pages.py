"""What staff see of notify: a report's notifications on the staff report pages (the verification
console's and the agency console's), the signed-in staff member's in-app notifications at
/staf/pemberitahuan, and for national administrators the dead letters at /staf/notifikasi-gagal, each of
which they may send again.

Notify owns the notifications and decides who sees which (services.notify.access): every call is made as
the signed-in staff member. A report page does without its notifications when notify does not answer
(the section says so, as with deadlines from sla); the two lists are notify's alone and say on the page,
with 503, that they cannot be shown.

Resending is a national administrator's decision that notify records: each row's form carries a nonce of
its own, the idempotency key, so a form sent twice resends once. A notification that is no longer a
dead letter (resent already, from another form or by another administrator) is refused by notify with
FAILED_PRECONDITION, said on the list; nothing is sent.
"""

import logging
import re

import grpc
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import ServiceUnavailable

from services.portal import forms, labels
from services.portal.i18n import N_, _
from services.portal.sessions import Sessions
from services.portal.staff_accounts import AGENCY_ROLES
from services.portal.staff_session import call_as_staff, call_metadata, member, requires
from sp4n.intake.v1 import intake_pb2
from sp4n.notify.v1 import notify_pb2

log = logging.getLogger(__name__)

NATIONAL_ADMIN = "national_admin"
INBOX_ROLES = (NATIONAL_ADMIN, *AGENCY_ROLES)
PAGE_SIZE = 50
PAGE = "halaman"  # notify's page token
CHANNEL = "kanal"
MAX_PAGE_TOKEN = 200
DEAD_LETTER_CHANNELS = ("email", "sms", "x")  # in-app notifications are delivered by being stored
NOTIFICATION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
NOTICE = "notification_notice"
NOTICES = {
    "resent": N_("Notifikasi %(event)s untuk %(tracking_id)s dikirim ulang melalui %(channel)s, mulai dari percobaan "
                 "pertama."),
    "not_dead_letter": N_("Notifikasi ini tidak dikirim ulang karena tidak lagi gagal terkirim: notifikasi itu sudah "
                          "dikirim ulang atau sudah terkirim. Daftar di bawah sudah diperbarui."),
}
CHANNEL_UNKNOWN = N_("Pilih saluran dari daftar.")
FORM_INVALID = N_("Formulir ini sudah tidak berlaku. Muat ulang halaman lalu coba lagi.")


def report_notifications(notify, tracking_id: str, *, timeout: float) -> list[notify_pb2.Notification] | None:
    """Report `tracking_id`'s notifications that the signed-in staff member may see, as notify gives them;
    None when notify does not answer (or refuses: the page is still shown, without them)."""
    if notify is None:
        return None
    try:
        answer = notify.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                          timeout=timeout, metadata=call_metadata())
    except grpc.RpcError as e:
        log.warning("no notifications for %s: notify answered %s", tracking_id, e.code().name)
        return None
    return list(answer.notifications)


def blueprint(*, notify, intake, sessions: Sessions, nonces: forms.Nonces, timeout: float = 5.0,
              extra_timeout: float = 1.0) -> Blueprint:
    """The inbox and the dead letters over a stub of notify (None: they answer 503); intake's stub tells
    which reports an agency's staff member may open from the inbox, within `extra_timeout`."""
    bp = Blueprint("notification_pages", __name__)

    def call(method: str, message):
        return call_as_staff(notify, method, message, timeout=timeout)

    def page_token() -> str:
        token = request.args.get(PAGE, "") if request.method == "GET" else ""
        return token if len(token) <= MAX_PAGE_TOKEN else ""

    def report_links(notifications) -> dict[str, str]:
        """The staff page of each notification's report, for the reports the signed-in member may open:
        a national administrator every report's verification page; agency staff their agency's reports
        (not one an escalation took elsewhere, say), as intake answers for them."""
        tracking_ids = sorted({n.tracking_id for n in notifications if forms.tracking_id(n.tracking_id)})
        if member().role == NATIONAL_ADMIN:
            return {t: url_for("verification_console.report", tracking_id=t) for t in tracking_ids}
        metadata = call_metadata()
        asked = {t: intake.GetReport.future(intake_pb2.GetReportRequest(tracking_id=t), timeout=extra_timeout,
                                            metadata=metadata)
                 for t in tracking_ids}
        links = {}
        for tracking_id, future in asked.items():
            try:
                future.result()
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND):
                    log.warning("no link to %s: intake answered %s", tracking_id, e.code().name)
                continue
            links[tracking_id] = url_for("agency.report", tracking_id=tracking_id)
        return links

    @bp.get("/staf/pemberitahuan")
    @requires(*INBOX_ROLES)
    def inbox():
        token = page_token()
        try:
            found = call("ListInbox", notify_pb2.ListInboxRequest(page_size=PAGE_SIZE, page_token=token))
        except ServiceUnavailable:
            return render_template("staff_inbox.html", notifications=None, links={}, next_page="",
                                   later_page=bool(token)), 503
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:  # a page token not of notify's making
                return redirect(url_for("notification_pages.inbox"), 303)
            raise
        next_page = url_for("notification_pages.inbox", **{PAGE: found.next_page_token}) \
            if found.next_page_token else ""
        return render_template("staff_inbox.html", notifications=found.notifications,
                               links=report_links(found.notifications), next_page=next_page,
                               later_page=bool(token))

    def chosen_channel() -> str:
        return request.args.get(CHANNEL, "").strip()[:20]

    def take_notice() -> tuple[str, bool]:
        """The notice left by the last resend, and whether it tells of a refusal."""
        held = sessions.take_notice(NOTICE)
        if not held or held.get("kind") not in NOTICES:
            return "", False
        return _(NOTICES[held["kind"]], tracking_id=held.get("tracking_id", ""),
                 event=labels.humanize(held.get("event", ""), labels.NOTIFICATION_EVENTS),
                 channel=labels.humanize(held.get("channel", ""), labels.NOTIFICATION_CHANNELS)), \
            held["kind"] != "resent"

    def dead_letter_page(*, message: str = "", status: int = 200):
        channel, token = chosen_channel(), page_token()
        found, unavailable = None, False
        if channel and channel not in DEAD_LETTER_CHANNELS:
            message, status = message or _(CHANNEL_UNKNOWN), 400
        else:
            try:
                found = call("ListDeadLetters", notify_pb2.ListDeadLettersRequest(
                    channel=channel, page_size=PAGE_SIZE, page_token=token))
            except ServiceUnavailable:
                unavailable, status = True, 503
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.INVALID_ARGUMENT:  # a page token not of notify's making
                    return redirect(url_for("notification_pages.dead_letters", **filtered(channel)), 303)
                raise
        next_page = url_for("notification_pages.dead_letters", **filtered(channel), **{PAGE: found.next_page_token}) \
            if found is not None and found.next_page_token else ""
        notice, refused = take_notice()
        return render_template(
            "dead_letters.html", notifications=found.notifications if found is not None else None,
            unavailable=unavailable, channel=channel, channels=DEAD_LETTER_CHANNELS, next_page=next_page,
            later_page=bool(token), notice=notice, refused=refused, message=message,
            nonce=nonces.issue), status

    def filtered(channel: str) -> dict[str, str]:
        return {CHANNEL: channel} if channel in DEAD_LETTER_CHANNELS else {}

    @bp.get("/staf/notifikasi-gagal")
    @requires(NATIONAL_ADMIN)
    def dead_letters():
        return dead_letter_page()

    @bp.post("/staf/notifikasi-gagal/<notification_id>/kirim-ulang")
    @requires(NATIONAL_ADMIN)
    def resend(notification_id: str):
        if not NOTIFICATION_ID.fullmatch(notification_id):
            abort(404)
        key = nonces.posted_key(sessions)
        if key is None:
            return dead_letter_page(message=_(FORM_INVALID), status=400)
        back = url_for("notification_pages.dead_letters", **filtered(chosen_channel()))
        try:
            resent = call("ResendNotification", notify_pb2.ResendNotificationRequest(
                idempotency_key=f"notify-resend:{key}", notification_id=notification_id))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:  # an id notify never gives: no such notification
                abort(404)
            if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            sessions.leave_notice(NOTICE, {"kind": "not_dead_letter"})
            return redirect(back, 303)
        sessions.leave_notice(NOTICE, {"kind": "resent", "tracking_id": resent.tracking_id, "event": resent.event,
                                       "channel": resent.channel})
        return redirect(back, 303)

    return bp
