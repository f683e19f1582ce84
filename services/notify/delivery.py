"""Delivery of notifications by e-mail, SMS and X: a background worker claims due notifications,
asks intake for the reporters' contacts at that moment (never stored here) and hands each message to
the sender of its channel (senders.py).

Batches. What is due is claimed a batch at a time, and the round's contacts are asked in one call to
intake (GetReporterContacts; the directory once per agency). The messages go out in up to
`concurrency` lanes of up to batch / concurrency messages (a lane is filled before the next is
opened); each lane records its attempts as 'sending' in one transaction and their outcomes in one
more. A notification alone in its round costs three transactions; in a full batch,
well under one each.

Isolation. Each channel has its own worker thread and its own few sending threads: an SMS gateway
that times out or answers errors slows only SMS, never e-mail or X, and within a channel one slow
request holds up one sending thread, not the others. Failed attempts wait with exponential back-off
and jitter (domain.backoff), so a provider coming back after an outage is not hit by everything at
once; after the last attempt a notification becomes a dead letter (status failed), listed for staff,
who may send it again (NotifyService.resend).

Delivery guarantee. Everything before the hand-over (claiming, asking intake, building the message)
may fail or crash freely: the claim runs out and the notification is tried again. Right before the
message is handed over, the attempt is committed as 'sending' (with the rest of its lane). A worker
that dies after the other end took the message but before marking it 'sent' leaves us not knowing
whether it went out; for that window we choose AT MOST ONCE: when the sending lease runs out the
notification is marked failed ("outcome unknown") and not sent again, because a message cannot be
unsent while the same message stays readable in-app on the tracking page. A worker that dies in the
middle of a lane leaves the whole lane so: those not yet sent too, at most batch / concurrency
messages, which staff can send again from the dead letters. The same holds when a sender cannot tell (OutcomeUnknown: a
request went out and no answer came back). When the other end answers that it did not take the
message, or could not be reached, the attempt is retried with back-off.
"""

import contextvars
import logging
import random
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg_pool import ConnectionPool

from services.notify import repository
from services.notify.domain import (Channel, Contacts, ContactUnavailable, Notification, Recipient, ReporterContact,
                                   ReportUnknown, StaffContact, backoff)
from services.notify.senders import OutcomeUnknown, Refused, Sender, Undeliverable
from services.plumbing import request_ids
from services.plumbing.background import BackgroundWorker
from services.plumbing.clock import Clock

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
INTERRUPTED = ("delivery was interrupted while handing the message over; outcome unknown, not sent again so "
               "that the reporter cannot receive it twice")


@dataclass(frozen=True)
class Ready:
    """A claimed notification with its message, made for the contact of now (kept only in memory, for
    taking the recipient's address out of errors)."""
    notification: Notification
    contact: ReporterContact | StaffContact
    message: object


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: sent (no error), to be tried again (`again`), or given up on."""
    notification: Notification
    error: str = ""
    again: bool = False

    @property
    def sent(self) -> bool:
        return not self.error


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
                 claim_seconds: float = 300.0, lease_seconds: float = 300.0, gather_seconds: float = 0.1,
                 sweep_seconds: float = 10.0, rng: random.Random | None = None):
        super().__init__(name=f"notify-delivery-{sender.channel.value}", poll_seconds=poll_seconds, pool=pool,
                         wake_channel=repository.WAKE_CHANNEL)
        self.pool = pool
        self.clock = clock
        self.contacts = contacts
        self.sender = sender
        self.channels = (sender.channel,)
        self.batch = batch
        self.concurrency = concurrency
        # Lanes are filled before more are opened: a few messages share one lane's two transactions;
        # a full batch goes in `concurrency` lanes at once.
        self.lane_size = -(-batch // concurrency)
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # A claim covers a whole batch, sends that time out included; one that runs out anyway is
        # harmless: the attempt guards let only one worker hand a message over.
        self.claim_seconds = claim_seconds
        # Longer than a lane's SMTP conversations or HTTP requests can take (batch / concurrency of them).
        self.lease_seconds = lease_seconds
        # Woken by a notification queued, the worker waits this long first: what is queued meanwhile goes
        # in the same batch (one claim, one call to intake, one lane's transactions), not a round each.
        self.gather_seconds = gather_seconds
        self.sweep_seconds = sweep_seconds
        self._swept_at: datetime | None = None
        self.rng = rng or random.Random()
        self._sending = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=self.name)

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._sending.shutdown(wait=False, cancel_futures=True)
        self.sender.close()

    def _drain(self) -> None:
        self._stop.wait(self.gather_seconds)
        super()._drain()

    def run_once(self) -> int:
        """Makes one attempt at each due notification of the channel (up to a batch), in lanes of up to
        `lane_size`, at most `concurrency` of them at a time; returns how many it attempted."""
        claimed = self._claim()
        if not claimed:
            return 0
        with request_ids.bound():  # one id per round, in notify's logs and intake's
            ready, unsendable = self._prepare(claimed)
            self._record(unsendable, handed_over=False)
            lanes = [ready[i:i + self.lane_size] for i in range(0, len(ready), self.lane_size)]
            if len(lanes) == 1:  # a round of a few: no hand-off to a thread
                self._hand_over(lanes[0])
            else:
                contexts = [contextvars.copy_context() for _ in lanes]  # the round's request id in each lane
                list(self._sending.map(lambda context, lane: context.run(self._hand_over, lane), contexts, lanes))
        return len(claimed)

    def _claim(self) -> list[Notification]:
        """Claims the due notifications, after giving up on attempts that were interrupted or abandoned
        (at most every `sweep_seconds`: they wait minutes for their lease or claim to run out anyway)."""
        now = self.clock.now()
        with self.pool.connection() as conn, conn.transaction():
            if self._swept_at is None or not self._swept_at <= now < self._swept_at + _seconds(self.sweep_seconds):
                self._sweep(conn, now)
                self._swept_at = now  # a clock set back sweeps again at once
            return repository.claim_due(conn, channels=self.channels, now=now,
                                        claim_until=now + _seconds(self.claim_seconds), limit=self.batch)

    def _sweep(self, conn, now: datetime) -> None:
        for notification_id in repository.fail_interrupted(conn, channels=self.channels, now=now, error=INTERRUPTED):
            log.error("notification %s: %s", notification_id, INTERRUPTED)
        for notification_id in repository.fail_abandoned(conn, channels=self.channels, now=now,
                                                         max_attempts=self.max_attempts):
            log.error("notification %s: its last attempt was abandoned; giving up", notification_id)

    def _prepare(self, claimed: list[Notification]) -> tuple[list[Ready], list[Outcome]]:
        """The message of each claimed notification, made for its recipient's contact of now; and the
        outcomes of those that cannot be sent (no contact, or none that can be used)."""
        contact_of = self._contacts(claimed)
        ready, unsendable = [], []
        for notification in claimed:
            try:
                contact = contact_of(notification)
                ready.append(Ready(notification, contact, self.sender.prepare(notification, contact)))
            except (ReportUnknown, Undeliverable) as e:
                unsendable.append(Outcome(notification, str(e)))
            except ContactUnavailable as e:
                unsendable.append(Outcome(notification, str(e), again=True))
            except Exception as e:  # one bad notification must not hold up the others
                log.exception("notification %s failed unexpectedly", notification.id)
                unsendable.append(Outcome(notification, f"internal error: {e}", again=True))
        return ready, unsendable

    def _contacts(self, claimed: list[Notification]) -> Callable[[Notification], ReporterContact | StaffContact]:
        """How to reach the recipient of each claimed notification, asked once for them all: intake in one
        call for the reporters, the agency directory once per agency. The function returned raises
        ReportUnknown for a report intake does not know, ContactUnavailable when it could not be asked."""
        tracking_ids = [n.tracking_id for n in claimed if n.recipient is Recipient.REPORTER]
        reporters: dict[str, ReporterContact] = {}
        unavailable = ""
        try:
            reporters = self.contacts.reporters(tracking_ids) if tracking_ids else {}
        except ContactUnavailable as e:
            unavailable = str(e)
        staff: dict[tuple[Recipient, str], StaffContact] = {}

        def contact_of(notification: Notification) -> ReporterContact | StaffContact:
            if notification.recipient is not Recipient.REPORTER:
                key = (notification.recipient, notification.agency_id)
                if key not in staff:
                    staff[key] = self.contacts.staff(*key)
                return staff[key]
            if unavailable:
                raise ContactUnavailable(unavailable)
            if notification.tracking_id not in reporters:
                raise ReportUnknown(f"intake knows no report {notification.tracking_id}")
            return reporters[notification.tracking_id]

        return contact_of

    def _hand_over(self, lane: list[Ready]) -> None:
        """Hands a lane's messages over one after the other. Their attempts are committed as 'sending'
        together first, and their outcomes recorded together at the end: two transactions for the lane,
        not two per message."""
        lease_until = self.clock.now() + _seconds(self.lease_seconds)
        try:
            with self.pool.connection() as conn, conn.transaction():
                taken = repository.mark_sending(conn, [r.notification for r in lane], lease_until=lease_until)
        except Exception as e:
            log.exception("the attempts of %d notifications could not be recorded; not sent", len(lane))
            return self._record([Outcome(r.notification, f"internal error: {e}", again=True) for r in lane],
                                handed_over=False)
        outcomes = []
        for r in lane:
            if r.notification.id in taken:
                outcomes.append(self._send(r))
            else:
                log.info("notification %s was taken over by another worker", r.notification.id)
        self._record(outcomes, handed_over=True)

    def _send(self, ready: Ready) -> Outcome:
        try:
            self.sender.send(ready.message)
        except (Refused, OutcomeUnknown) as e:
            return Outcome(ready.notification, unquoted(str(e), ready.contact))
        except Exception as e:
            return Outcome(ready.notification, unquoted(f"{type(e).__name__}: {e}", ready.contact), again=True)
        return Outcome(ready.notification)

    def _record(self, outcomes: list[Outcome], *, handed_over: bool) -> None:
        """Records the outcomes of attempts, in one transaction. Before the hand-over, only a notification
        still pending is changed (a 'sending' one waits for its lease). After it, a failure to record is
        logged and left alone: those sent stay 'sending', their lease runs out and they are marked failed
        with the outcome unknown; never sent again from here, or a reporter could get one twice."""
        if not outcomes:
            return
        try:
            with self.pool.connection() as conn, conn.transaction():
                repository.mark_sent(conn, [o.notification for o in outcomes if o.sent], sent_at=self.clock.now())
                for outcome in outcomes:
                    if not outcome.sent:
                        self._not_sent(conn, outcome, only_if_pending=not handed_over)
        except Exception:
            if not handed_over:
                raise
            log.exception("the outcomes of %d notifications handed over could not be recorded", len(outcomes))
            return
        if sent := [o.notification.id for o in outcomes if o.sent]:  # one line for the lane
            log.info("%s notifications sent: %s", self.sender.channel.value, ", ".join(sent))

    def _not_sent(self, conn, outcome: Outcome, *, only_if_pending: bool) -> None:
        """A dead letter, or, when trying again may help, another attempt after a back-off (a dead letter
        too once the attempts are used up)."""
        notification_id, attempts, error = int(outcome.notification.id), outcome.notification.attempts, outcome.error
        if not outcome.again:
            repository.mark_failed(conn, notification_id, attempts=attempts, error=error,
                                   only_if_pending=only_if_pending)
            log.error("notification %s failed for good: %s", notification_id, error)
        elif attempts >= self.max_attempts:
            repository.mark_failed(conn, notification_id, attempts=attempts, only_if_pending=only_if_pending,
                                   error=f"gave up after {attempts} attempts: {error}")
            log.error("notification %s failed for good after %d attempts: %s", notification_id, attempts, error)
        else:
            wait = backoff(attempts, base_seconds=self.retry_base_seconds, max_seconds=self.max_backoff_seconds,
                           rng=self.rng)
            repository.mark_retry(conn, notification_id, attempts=attempts, error=error,
                                  next_attempt_at=self.clock.now() + wait, only_if_pending=only_if_pending)
            log.warning("notification %s attempt %d failed, next in %s: %s", notification_id, attempts, wait, error)


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
