"""Delivery of e-mail notifications: a background worker claims due e-mails, asks intake for the
reporter's address at that moment (it is never stored here) and hands each message to SMTP.

Delivery guarantee. Everything before the SMTP conversation (claiming, asking intake, building the
message) may fail or crash freely: the claim runs out and the e-mail is tried again. Right before the
message is handed to the SMTP server, the attempt is committed as 'sending'. A worker that dies
after the server accepted the message but before marking it 'sent' leaves us not knowing whether it
went out; for that window we choose AT MOST ONCE: when the sending lease runs out the e-mail is
marked failed ("outcome unknown") and not sent again, because an e-mail cannot be unsent while the
same message stays readable in-app on the tracking page. When smtplib reports an error the server
did not accept the message, and the attempt is retried with back-off (at least once up to the
hand-off; a connection lost after the final "." of DATA is the one case that may still repeat). The
Message-ID is derived from the notification, so every attempt and any manual resend carry the same
one, and mail clients that de-duplicate on it show one message.
"""

import email.utils
import logging
import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

from psycopg_pool import ConnectionPool

from services.notify import repository
from services.notify.domain import Contacts, ContactUnavailable, Notification, ReportUnknown, backoff
from services.plumbing.background import BackgroundWorker
from services.plumbing.clock import Clock

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
INTERRUPTED = ("delivery was interrupted while handing the message to the SMTP server; outcome unknown, "
               "not sent again so that the reporter cannot receive it twice")
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hands one message to the mail system; raises when it was not accepted."""


class SmtpMailer:
    """Sends through an SMTP server, one connection per message."""

    def __init__(self, *, host: str, port: int, timeout: float = 30.0, user: str = "", password: str = "",
                 starttls: bool = False):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.user = user
        self.password = password
        self.starttls = starttls

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)


def refused_for_good(error: Exception) -> bool:
    """The server refused every recipient with a permanent (5xx) reply: trying again cannot help."""
    return isinstance(error, smtplib.SMTPRecipientsRefused) and bool(error.recipients) and all(
        code >= 500 for code, _ in error.recipients.values())


def message_id(notification: Notification, mail_from: str) -> str:
    domain = mail_from.rpartition("@")[2].strip(" >") or "sp4n.invalid"
    return f"<sp4n-notify-{notification.id}.{int(notification.created_at.timestamp())}@{domain}>"


class DeliveryWorker(BackgroundWorker):
    """Delivers pending e-mail notifications in a background thread; wakes on NOTIFY or every poll."""

    def __init__(self, *, pool: ConnectionPool, clock: Clock, contacts: Contacts, mailer: Mailer, mail_from: str,
                 poll_seconds: float = 1.0, batch: int = 20, max_attempts: int = MAX_ATTEMPTS,
                 retry_base_seconds: float = 30.0, max_backoff_seconds: float = 6 * 3600.0,
                 claim_seconds: float = 300.0, lease_seconds: float = 300.0):
        super().__init__(name="notify-delivery", poll_seconds=poll_seconds, pool=pool,
                         wake_channel=repository.WAKE_CHANNEL)
        self.pool = pool
        self.clock = clock
        self.contacts = contacts
        self.mailer = mailer
        self.mail_from = mail_from
        self.batch = batch
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # A claim covers a whole batch; one that runs out anyway is harmless: the attempt guards let
        # only one worker hand a message over.
        self.claim_seconds = claim_seconds
        self.lease_seconds = lease_seconds  # longer than an SMTP conversation can take

    def run_once(self) -> int:
        """Makes one attempt at each due e-mail (up to a batch); returns how many it attempted."""
        now = self.clock.now()
        with self.pool.connection() as conn, conn.transaction():
            for notification_id in repository.fail_interrupted(conn, now=now, error=INTERRUPTED):
                log.error("e-mail notification %s: %s", notification_id, INTERRUPTED)
            for notification_id in repository.fail_abandoned(conn, now=now, max_attempts=self.max_attempts):
                log.error("e-mail notification %s: its last attempt was abandoned; giving up", notification_id)
            claimed = repository.claim_due(conn, now=now, claim_until=now + _seconds(self.claim_seconds),
                                           limit=self.batch)
        for notification_id, attempts in claimed:
            try:
                self._deliver(notification_id, attempts)
            except Exception as e:  # one bad notification must not hold up the others
                log.exception("e-mail notification %s failed unexpectedly", notification_id)
                # Only before the hand-off to SMTP (the status guard): a 'sending' one waits for its lease.
                self._retry(notification_id, attempts, f"internal error: {e}", only_if_pending=True)
        return len(claimed)

    def _deliver(self, notification_id: int, attempts: int) -> None:
        with self.pool.connection() as conn:
            notification = repository.get(conn, notification_id)
        try:
            contact = self.contacts.reporter(notification.tracking_id)
        except ReportUnknown as e:
            return self._fail(notification_id, attempts, str(e))
        except ContactUnavailable as e:
            return self._retry(notification_id, attempts, str(e))
        if not contact.email:
            return self._fail(notification_id, attempts, "the reporter has no e-mail address any more")
        if not _ADDRESS.match(contact.email):
            return self._fail(notification_id, attempts, "intake gave an e-mail address that cannot be used")
        message = self.message(notification, contact.email)
        with self.pool.connection() as conn, conn.transaction():
            lease_until = self.clock.now() + _seconds(self.lease_seconds)
            if not repository.mark_sending(conn, notification_id, attempts=attempts, lease_until=lease_until):
                log.info("e-mail notification %s was taken over by another worker", notification_id)
                return
        try:
            self.mailer.send(message)
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
            if refused_for_good(e):
                return self._fail(notification_id, attempts, f"the mail server refused the address: {error}")
            return self._retry(notification_id, attempts, error)
        try:
            with self.pool.connection() as conn, conn.transaction():
                repository.mark_sent(conn, notification_id, attempts=attempts, sent_at=self.clock.now())
        except Exception:
            # Sent but not recorded: left 'sending', its lease runs out and it is marked failed with the
            # outcome unknown. Never retried from here, or the reporter could get it twice.
            log.exception("e-mail notification %s was sent but could not be marked sent", notification_id)
            return
        log.info("e-mail notification %s sent", notification_id)

    def message(self, notification: Notification, to: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = to
        message["Subject"] = notification.subject
        message["Date"] = email.utils.format_datetime(self.clock.now())
        message["Message-ID"] = message_id(notification, self.mail_from)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a notification
        message["X-SP4N-Tracking-ID"] = notification.tracking_id
        message.set_content(notification.body)
        message["Content-Language"] = notification.language  # after set_content, which clears Content-*
        return message

    def _retry(self, notification_id: int, attempts: int, error: str, *, only_if_pending: bool = False) -> None:
        with self.pool.connection() as conn, conn.transaction():
            if attempts >= self.max_attempts:
                repository.mark_failed(conn, notification_id, attempts=attempts, only_if_pending=only_if_pending,
                                       error=f"gave up after {attempts} attempts: {error}")
                log.error("e-mail notification %s failed for good after %d attempts: %s", notification_id,
                          attempts, error)
                return
            wait = backoff(attempts, base_seconds=self.retry_base_seconds, max_seconds=self.max_backoff_seconds)
            repository.mark_retry(conn, notification_id, attempts=attempts, error=error,
                                  next_attempt_at=self.clock.now() + wait, only_if_pending=only_if_pending)
        log.warning("e-mail notification %s attempt %d failed, next in %s: %s", notification_id, attempts, wait,
                    error)

    def _fail(self, notification_id: int, attempts: int, error: str) -> None:
        with self.pool.connection() as conn, conn.transaction():
            repository.mark_failed(conn, notification_id, attempts=attempts, error=error)
        log.error("e-mail notification %s failed for good: %s", notification_id, error)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
