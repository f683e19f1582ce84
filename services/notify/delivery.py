"""Delivery of notifications by e-mail, SMS and X: a background worker claims due notifications,
asks intake for the reporter's contact at that moment (it is never stored here) and hands each
message to the sender of its channel (senders.py).

Isolation. Each channel has its own worker thread and its own few sending threads: an SMS gateway
that times out or answers errors slows only SMS, never e-mail or X, and within a channel one slow
request holds up one sending thread, not the others. Failed attempts wait with exponential back-off
and jitter (domain.backoff), so a provider coming back after an outage is not hit by everything at
once; after the last attempt a notification becomes a dead letter (status failed), listed for staff,
who may send it again (NotifyService.resend).

Delivery guarantee. Everything before the hand-over (claiming, asking intake, building the message)
may fail or crash freely: the claim runs out and the notification is tried again. Right before the
message is handed over, the attempt is committed as 'sending'. A worker that dies after the other end
took the message but before marking it 'sent' leaves us not knowing whether it went out; for that
window we choose AT MOST ONCE: when the sending lease runs out the notification is marked failed
("outcome unknown") and not sent again, because a message cannot be unsent while the same message stays
readable in-app on the tracking page. The same holds when a sender cannot tell (OutcomeUnknown: a
request went out and no answer came back). When the other end answers that it did not take the
message, or could not be reached, the attempt is retried with back-off.
"""

import logging
import random
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from psycopg_pool import ConnectionPool

from services.notify import repository
from services.notify.domain import (Channel, Contacts, ContactUnavailable, Recipient, ReporterContact, ReportUnknown,
                                   StaffContact, backoff)
from services.notify.senders import OutcomeUnknown, Refused, Sender, Undeliverable
from services.plumbing import request_ids
from services.plumbing.background import BackgroundWorker
from services.plumbing.clock import Clock

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
INTERRUPTED = ("delivery was interrupted while handing the message over; outcome unknown, not sent again so "
               "that the reporter cannot receive it twice")


class DeliveryWorker:
    """Delivers pending notifications on the channels it has senders for: one ChannelWorker each.
    Notifications of other channels wait until one is configured."""

    def __init__(self, *, senders: Iterable[Sender], **settings):
        self.channels = [ChannelWorker(sender=sender, **settings) for sender in senders]

    def channel(self, channel: Channel) -> "ChannelWorker":
        return next(worker for worker in self.channels if worker.sender.channel is channel)

    @property
    def lease_seconds(self) -> float:
        return max(worker.lease_seconds for worker in self.channels)

    def run_once(self) -> int:
        """One round on every channel, one after the other (tests drive delivery with it)."""
        return sum(worker.run_once() for worker in self.channels)

    def start(self) -> None:
        for worker in self.channels:
            worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.channels:
            worker.stop(timeout)


class ChannelWorker(BackgroundWorker):
    """Delivers the due notifications of one channel, in a background thread, `concurrency` at a time;
    wakes on NOTIFY or every poll."""

    def __init__(self, *, pool: ConnectionPool, clock: Clock, contacts: Contacts, sender: Sender,
                 poll_seconds: float = 1.0, batch: int = 20, concurrency: int = 4, max_attempts: int = MAX_ATTEMPTS,
                 retry_base_seconds: float = 30.0, max_backoff_seconds: float = 6 * 3600.0,
                 claim_seconds: float = 300.0, lease_seconds: float = 300.0, rng: random.Random | None = None):
        super().__init__(name=f"notify-delivery-{sender.channel.value}", poll_seconds=poll_seconds, pool=pool,
                         wake_channel=repository.WAKE_CHANNEL)
        self.pool = pool
        self.clock = clock
        self.contacts = contacts
        self.sender = sender
        self.channels = (sender.channel,)
        self.batch = batch
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # A claim covers a whole batch, sends that time out included; one that runs out anyway is
        # harmless: the attempt guards let only one worker hand a message over.
        self.claim_seconds = claim_seconds
        self.lease_seconds = lease_seconds  # longer than an SMTP conversation or HTTP request can take
        self.rng = rng or random.Random()
        self._sending = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=self.name)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._sending.shutdown(wait=False, cancel_futures=True)
        self.sender.close()

    def run_once(self) -> int:
        """Makes one attempt at each due notification of the channel (up to a batch), `concurrency` at a
        time; returns how many it attempted."""
        now = self.clock.now()
        with self.pool.connection() as conn, conn.transaction():
            for notification_id in repository.fail_interrupted(conn, channels=self.channels, now=now,
                                                               error=INTERRUPTED):
                log.error("notification %s: %s", notification_id, INTERRUPTED)
            for notification_id in repository.fail_abandoned(conn, channels=self.channels, now=now,
                                                             max_attempts=self.max_attempts):
                log.error("notification %s: its last attempt was abandoned; giving up", notification_id)
            claimed = repository.claim_due(conn, channels=self.channels, now=now,
                                           claim_until=now + _seconds(self.claim_seconds), limit=self.batch)
        if len(claimed) == 1:  # the common case when a notification is queued: no hand-off to a thread
            self._attempt(*claimed[0])
        else:
            list(self._sending.map(lambda c: self._attempt(*c), claimed))
        return len(claimed)

    def _attempt(self, notification_id: int, attempts: int) -> None:
        with request_ids.bound():  # one id per delivery attempt, in notify's logs and intake's
            try:
                self._deliver(notification_id, attempts)
            except Exception as e:  # one bad notification must not hold up the others
                log.exception("notification %s failed unexpectedly", notification_id)
                # Only before the hand-over (the status guard): a 'sending' one waits for its lease.
                self._retry(notification_id, attempts, f"internal error: {e}", only_if_pending=True)

    def _deliver(self, notification_id: int, attempts: int) -> None:
        with self.pool.connection() as conn:
            notification = repository.get(conn, notification_id)
        sender = self.sender
        try:
            contact = (self.contacts.reporter(notification.tracking_id) if notification.recipient is Recipient.REPORTER
                       else self.contacts.staff(notification.recipient, notification.agency_id))
        except ReportUnknown as e:
            return self._fail(notification_id, attempts, str(e))
        except ContactUnavailable as e:
            return self._retry(notification_id, attempts, str(e))
        try:
            message = sender.prepare(notification, contact)
        except Undeliverable as e:
            return self._fail(notification_id, attempts, str(e))
        with self.pool.connection() as conn, conn.transaction():
            lease_until = self.clock.now() + _seconds(self.lease_seconds)
            if not repository.mark_sending(conn, notification_id, attempts=attempts, lease_until=lease_until):
                log.info("notification %s was taken over by another worker", notification_id)
                return
        try:
            sender.send(message)
        except (Refused, OutcomeUnknown) as e:
            return self._fail(notification_id, attempts, unquoted(str(e), contact))
        except Exception as e:
            return self._retry(notification_id, attempts, unquoted(f"{type(e).__name__}: {e}", contact))
        try:
            with self.pool.connection() as conn, conn.transaction():
                repository.mark_sent(conn, notification_id, attempts=attempts, sent_at=self.clock.now())
        except Exception:
            # Sent but not recorded: left 'sending', its lease runs out and it is marked failed with the
            # outcome unknown. Never retried from here, or the reporter could get it twice.
            log.exception("notification %s was sent but could not be marked sent", notification_id)
            return
        log.info("%s notification %s sent", notification.channel.value, notification_id)

    def _retry(self, notification_id: int, attempts: int, error: str, *, only_if_pending: bool = False) -> None:
        with self.pool.connection() as conn, conn.transaction():
            if attempts >= self.max_attempts:
                repository.mark_failed(conn, notification_id, attempts=attempts, only_if_pending=only_if_pending,
                                       error=f"gave up after {attempts} attempts: {error}")
                log.error("notification %s failed for good after %d attempts: %s", notification_id, attempts,
                          error)
                return
            wait = backoff(attempts, base_seconds=self.retry_base_seconds, max_seconds=self.max_backoff_seconds,
                           rng=self.rng)
            repository.mark_retry(conn, notification_id, attempts=attempts, error=error,
                                  next_attempt_at=self.clock.now() + wait, only_if_pending=only_if_pending)
        log.warning("notification %s attempt %d failed, next in %s: %s", notification_id, attempts, wait, error)

    def _fail(self, notification_id: int, attempts: int, error: str) -> None:
        with self.pool.connection() as conn, conn.transaction():
            repository.mark_failed(conn, notification_id, attempts=attempts, error=error)
        log.error("notification %s failed for good: %s", notification_id, error)


def unquoted(error: str, contact: ReporterContact | StaffContact) -> str:
    """The error without the recipient's address or number, which mail servers and gateways often quote
    back ("550 5.1.1 <siti@...>: User unknown"): errors are logged and shown to staff, contact details never."""
    if isinstance(contact, StaffContact):
        quoted = list(contact.emails)
    else:
        digits = contact.phone.lstrip("+")
        quoted = [contact.email, contact.phone, digits, digits[2:] if digits.startswith("62") else ""]
    for value in sorted(filter(None, quoted), key=len, reverse=True):
        error = re.sub(re.escape(value), "<recipient>", error, flags=re.IGNORECASE)
    return error


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
