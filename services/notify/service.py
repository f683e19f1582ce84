"""Notify use cases. Each owns its transaction."""

from psycopg_pool import ConnectionPool

from services.notify import repository
from services.notify.domain import (DEFAULT_LANGUAGE, Channel, Contacts, Notification, NotificationRequest,
                                    Recipient, ReportUnknown, Status, channels_for, check_request,
                                    check_tracking_id, params_digest)
from services.notify.access import AGENCY_STAFF, visible_to
from services.notify.templates import Templates
from services.plumbing import identity
from services.plumbing.clock import Clock
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.errors import PermissionDenied


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
        with self.pool.connection() as conn:
            if (earlier := self._earlier(conn, key, request, recipient)) is not None:
                return earlier
        # Intake is asked outside any transaction: no lock is held while it answers. Only the language,
        # the channel the report came by and whether an address exists are used; the contact is not stored.
        contact = self.contacts.reporter(request.tracking_id) if recipient is Recipient.REPORTER else None
        language = contact.language if contact else DEFAULT_LANGUAGE
        values = {**(request.params or {}), "tracking_id": request.tracking_id,
                  "tracking_url": f"{self.public_url}/lacak/{request.tracking_id}"}
        rendered = self.templates.render(request.event, language, values)
        now = self.clock.now()
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"notify:{request.tracking_id}",))
            if (earlier := self._earlier(conn, key, request, recipient)) is not None:
                return earlier
            answer = None
            for channel in channels_for(recipient, request.event, contact, self.channels):
                in_app = channel is Channel.IN_APP  # in-app is delivered by being stored; the others are queued
                body = (rendered.body if channel in (Channel.IN_APP, Channel.EMAIL)
                        else self.templates.render_short(channel, request.event, language, values))
                added = repository.add(
                    conn, key=key if in_app else None, tracking_id=request.tracking_id, event=request.event,
                    recipient=recipient, agency_id=request.agency_id, params_digest=params_digest(request.params),
                    channel=channel, language=language, subject=rendered.subject, body=body,
                    status=Status.SENT if in_app else Status.PENDING, created_at=now, attempts=int(in_app),
                    sent_at=now if in_app else None, next_attempt_at=None if in_app else now)
                answer = answer or added
                if not in_app:
                    repository.wake_delivery(conn)
            return answer

    @staticmethod
    def _earlier(conn, key: str, request: NotificationRequest, recipient: Recipient) -> Notification | None:
        return repository.by_key(conn, key) or repository.for_event(
            conn, tracking_id=request.tracking_id, event=request.event, recipient=recipient,
            agency_id=request.agency_id, params_digest=params_digest(request.params))

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
