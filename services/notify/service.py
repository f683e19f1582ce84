"""Notify use cases. Each owns its transaction."""

from psycopg_pool import ConnectionPool

import logging
from dataclasses import dataclass

from services.notify import repository
from services.notify.domain import (DEFAULT_LANGUAGE, REPORTER_EVENTS, Channel, Contacts, ContactUnavailable,
                                    Notification, StaffContact,
                                    NotificationRequest, Recipient, ReportUnknown, Status, before_id, channels_for,
                                    check_channel, check_event, check_language, check_params, check_request,
                                    check_tracking_id, page_limit, page_token, params_digest)
from services.notify.access import AGENCY_STAFF, visible_to
from services.notify.templates import ROOM, Templates
from services.plumbing import db, identity
from services.plumbing.clock import Clock
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

log = logging.getLogger(__name__)

SAMPLE_TRACKING_ID = "LAP-20261102-0001"  # for a template rendered without a report


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    room: int  # SMS and X: how much more would fit; 0 for the others


@dataclass(frozen=True)
class Page:
    notifications: list[Notification]
    next_page_token: str


class NotifyService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock, templates: Templates, contacts: Contacts,
                 channels: frozenset[Channel], public_url: str):
        """`channels`: the delivery channels configured (e-mail, SMS, X); in-app is always there.
        `public_url`: the portal as reporters reach it, for the tracking link in messages."""
        self.pool = pool
        self.clock = clock
        self.templates = templates
        self.contacts = contacts
        self.channels = channels
        self.public_url = public_url.rstrip("/")

    def send(self, *, caller: identity.Caller, key: str, request: NotificationRequest) -> Notification:
        """Tells a report's event to its recipient: in-app at once; by e-mail, SMS or a reply on X through
        the delivery worker. Answers with the in-app notification; a repeat (the same key, or the same event,
        recipient, agency and params) changes nothing."""
        identity.require_service(caller, "sla")
        check_idempotency_key(key)
        recipient = check_request(request)
        # A repeat usually comes after its first was stored: it is answered here without asking intake, so
        # it is answered even while intake is down or no longer knows the report. The unique constraints,
        # not this look, keep repeats that race their first from storing anything (see repository.add).
        with db.autocommit(self.pool) as conn:
            if (earlier := self._earlier(conn, key, request, recipient)) is not None:
                return earlier
        # Intake (routing, for staff) is asked outside any transaction: no lock is held while it answers.
        # Only the language, the channel the report came by and whether an address exists are used; the
        # contact is not stored.
        if recipient is Recipient.REPORTER:
            contact = self.contacts.reporter(request.tracking_id)
            language = contact.language
        else:
            contact, language = self._staff_contact(recipient, request.agency_id), DEFAULT_LANGUAGE
        values = {**(request.params or {}), "tracking_id": request.tracking_id,
                  "tracking_url": f"{self.public_url}/lacak/{request.tracking_id}"}
        rendered = self.templates.render(request.event, language, values)
        # In-app is delivered by being stored; the other channels are queued for the delivery worker.
        queued = {channel: rendered.body if channel is Channel.EMAIL
                  else self.templates.render_short(channel, request.event, language, values)
                  for channel in channels_for(recipient, request.event, contact, self.channels)
                  if channel is not Channel.IN_APP}
        with db.autocommit(self.pool) as conn:
            added = repository.add(
                conn, key=key, tracking_id=request.tracking_id, event=request.event, recipient=recipient,
                agency_id=request.agency_id, params_digest=params_digest(request.params), language=language,
                subject=rendered.subject, body=rendered.body, queued=queued, now=self.clock.now())
            if added is not None:
                return added
            # A repeat stored since the look above: its first committed before the insert saw it (an
            # identical insert in progress is waited for), so this look finds it.
            if (earlier := self._earlier(conn, key, request, recipient)) is None:
                raise RuntimeError(f"notification {key} was neither stored nor found stored")
            return earlier

    def _staff_contact(self, recipient: Recipient, agency_id: str) -> StaffContact | None:
        """Whether staff can be e-mailed; None when the directory cannot say just now (the e-mail is
        queued anyway and its delivery asks again): a directory outage must not hold up the lifecycle."""
        if Channel.EMAIL not in self.channels:
            return StaffContact()
        try:
            return self.contacts.staff(recipient, agency_id)
        except ContactUnavailable as e:
            log.warning("e-mail to %s %s queued without knowing its addresses: %s", recipient.value, agency_id, e)
            return None

    @staticmethod
    def _earlier(conn, key: str, request: NotificationRequest, recipient: Recipient) -> Notification | None:
        return repository.earlier(conn, key=key, tracking_id=request.tracking_id, event=request.event,
                                  recipient=recipient, agency_id=request.agency_id,
                                  params_digest=params_digest(request.params))

    def for_report(self, *, caller: identity.Caller, tracking_id: str) -> list[Notification]:
        """Every notification of a report the caller may see, oldest first (see `visible_to`)."""
        check_tracking_id(tracking_id)
        assigned = None
        if caller.role in AGENCY_STAFF:  # intake is asked outside any transaction, and only for staff
            try:
                assigned = self.contacts.assigned_agency(tracking_id)
            except ReportUnknown:
                assigned = ""
        audience = visible_to(caller, tracking_id, assigned_agency=assigned)
        if audience is None:
            raise PermissionDenied(f"role {caller.role} may not see the notifications of report {tracking_id}")
        with self.pool.connection() as conn:
            return [n for n in repository.for_report(conn, tracking_id) if audience(n)]

    def inbox(self, *, caller: identity.Caller, page_size: int = 0, token: str = "") -> Page:
        """The caller's in-app notifications, newest first: agency staff those addressed to their agency,
        national administrators those addressed to national administrators."""
        if caller.role in AGENCY_STAFF and caller.agency_id:
            recipient, agency_id = Recipient.AGENCY, caller.agency_id
        elif caller.role == identity.NATIONAL_ADMIN:
            recipient, agency_id = Recipient.NATIONAL_ADMINS, None
        else:
            raise PermissionDenied(f"role {caller.role} has no inbox of notifications")
        limit, before = page_limit(page_size), before_id(token)
        with self.pool.connection() as conn:
            found = repository.inbox(conn, recipient=recipient, agency_id=agency_id, before_id=before, limit=limit + 1)
        return _page(found, limit)

    def dead_letters(self, *, caller: identity.Caller, channel: str = "", page_size: int = 0, token: str = "") -> Page:
        """Deliveries given up on, newest first: for national administrators and services."""
        identity.require_role(caller, identity.NATIONAL_ADMIN, identity.SERVICE)
        wanted = check_channel(channel) if channel else None
        limit, before = page_limit(page_size), before_id(token)
        with self.pool.connection() as conn:
            found = repository.dead_letters(conn, channel=wanted, before_id=before, limit=limit + 1)
        return _page(found, limit)

    def resend(self, *, caller: identity.Caller, key: str, notification_id: str) -> Notification:
        """Puts a dead letter back in the outbox for a first attempt. A national administrator decides
        this knowing the last error: a delivery whose outcome was unknown may then reach the reporter
        twice. A repeated key answers with the notification as it is now."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_idempotency_key(key)
        if not (notification_id.isdigit() and len(notification_id) <= 18):
            raise InvalidArgument("notification_id", "must be the id of a notification")
        with self.pool.connection() as conn, conn.transaction():
            if (earlier := repository.by_resend_key(conn, key)) is not None:
                if earlier.id != notification_id:
                    raise InvalidArgument("idempotency_key", "was used to resend another notification")
                return earlier
            found = repository.lock(conn, int(notification_id))
            if found is None:
                raise NotFound(f"no notification {notification_id}")
            if found.status is not Status.FAILED:
                raise FailedPrecondition(f"notification {notification_id} is {found.status.value}, not a dead letter: "
                                         "only a delivery given up on can be sent again")
            resent = repository.resend(conn, int(notification_id), key=key, by=caller.subject, now=self.clock.now())
            repository.wake_delivery(conn)
            return resent

    def preview(self, *, caller: identity.Caller, event: str, channel: str, language: str,
                params: dict[str, str]) -> Preview:
        """An event's template rendered for a channel and language, as an operator checks an edit."""
        identity.require_role(caller, identity.NATIONAL_ADMIN, identity.PROCESS_ANALYST, identity.SERVICE)
        check_event(event)
        wanted = check_channel(channel)
        check_language(language)
        check_params(params)
        tracking_id = params.get("tracking_id") or SAMPLE_TRACKING_ID
        values = {"tracking_url": f"{self.public_url}/lacak/{tracking_id}", **params, "tracking_id": tracking_id}
        if wanted in ROOM:
            if event not in REPORTER_EVENTS:
                raise InvalidArgument("channel", f"{event} has no {wanted.value} template: SMS and X carry only what "
                                                 "reporters are told")
            body = self.templates.render_short(wanted, event, language, values)
            return Preview("", body, ROOM[wanted](body))
        rendered = self.templates.render(event, language, values)
        return Preview(rendered.subject, rendered.body, 0)


def _page(found: list[Notification], limit: int) -> Page:
    """A page of `limit` from `found`, which holds one more when there is a next page."""
    shown = found[:limit]
    return Page(shown, page_token(shown[-1]) if len(found) > limit else "")
