"""Intake use cases. Each owns its transaction; every change locks the report's row first."""

import secrets
from dataclasses import replace
from typing import Callable

from psycopg_pool import ConnectionPool

from services.intake import domain, redaction, repository
from services.intake.domain import (ADMINISTRATOR, FOLLOW_UP_POSTED, REPLY_POSTED, REPORT_COMPLETED, REPORTER, SYSTEM,
                                    Contact, EntryKind, Receipt, Report, ReportStatus, StatusChange, Submission,
                                    TimelineEntry, check_body, check_status_change, check_tracking_id,
                                    ensure_agency_may_answer, ensure_completion_allowed, ensure_open,
                                    ensure_reply_allowed, text)
from services.intake.publication import public_text
from services.intake.publication_service import PublicationService
from services.intake.submission import check_submission
from services.plumbing import identity, outbox
from services.plumbing.clock import Clock
from services.plumbing.errors import NotFound, PermissionDenied
from services.plumbing.identifiers import check_idempotency_key

SCHEMA = "intake"
MAX_ID_ATTEMPTS = 20  # 32^8 IDs: a run of collisions this long means something else is wrong


class IntakeService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock, page_key: bytes | None = None):
        """`page_key` signs the feed's page tokens; replicas must share it (a random key serves one process)."""
        self.pool = pool
        self.clock = clock
        self.publication = PublicationService(pool=pool, clock=clock, page_key=page_key or secrets.token_bytes(32))

    def submit(self, *, caller: identity.Caller, key: str, submission: Submission) -> Receipt:
        """Stores a report with its reporter and starts its process; a repeated key returns the first receipt."""
        identity.require_service(caller, "portal")
        check_idempotency_key(key)
        now = self.clock.now()
        submission = check_submission(submission, now=now)
        public = public_text(submission.title, submission.description, submission.location_text, submission.reporter)
        with self.pool.connection() as conn, conn.transaction():
            if (earlier := repository.receipt_by_key(conn, submission.channel, key)) is not None:
                return earlier
            for _ in range(MAX_ID_ATTEMPTS):
                receipt = repository.add_report(conn, tracking_id=domain.new_tracking_id(), key=key,
                                                submission=submission, status=ReportStatus.IN_VERIFICATION,
                                                submitted_at=now, public=public, redaction_version=redaction.VERSION)
                if receipt is not None:
                    break
                # Taken: either the same key committed meanwhile, or the tracking ID collided.
                if (earlier := repository.receipt_by_key(conn, submission.channel, key)) is not None:
                    return earlier
            else:
                raise RuntimeError(f"no free tracking ID after {MAX_ID_ATTEMPTS} attempts")
            repository.add_reporter(conn, receipt.tracking_id, submission.reporter)
            repository.add_entry(conn, tracking_id=receipt.tracking_id, kind=EntryKind.SUBMITTED, author=REPORTER,
                                 created_at=now)
            outbox.add(conn, SCHEMA, kind=outbox.START_CASE, tracking_id=receipt.tracking_id, payload={
                "submitted_at": now.isoformat(), "category": submission.category,
                "region_code": submission.region_code, "suggested_agency_id": submission.suggested_agency_id})
            return receipt

    def report(self, *, caller: identity.Caller, tracking_id: str) -> Report:
        """A report with its timeline; the reporter's name only for national administrators, never if anonymous."""
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn:
            report = self._full(conn, _found(repository.get_report(conn, tracking_id), tracking_id))
            if caller.role == identity.NATIONAL_ADMIN and not report.anonymous:
                contact = repository.contact(conn, tracking_id)
                report = replace(report, reporter_name=contact.reporter.name if contact else "")
            return report

    def forward(self, *, caller: identity.Caller, key: str, tracking_id: str, agency_id: str,
                agency_name: str) -> Report:
        """Assigns the competent agency and publishes the report unless it is confidential."""
        identity.require_service(caller, "sla")
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        agency_id = text(agency_id, "agency_id", min_length=1, max_length=domain.MAX_AGENCY_ID)
        agency_name = text(agency_name, "agency_name", min_length=1, max_length=domain.MAX_AGENCY_NAME)
        with self.pool.connection() as conn, conn.transaction():
            report = _found(repository.get_report(conn, tracking_id, for_update=True), tracking_id)
            if repository.entry_by_key(conn, tracking_id, EntryKind.STATUS, key) is None:
                ensure_open(report)
                now = self.clock.now()
                repository.forward(conn, tracking_id, agency_id=agency_id, agency_name=agency_name,
                                   published=not report.confidential, at=now)
                repository.add_entry(conn, tracking_id=tracking_id, kind=EntryKind.STATUS, author=SYSTEM,
                                     body=agency_name, status=ReportStatus.FORWARDED, created_at=now, key=key)
                report = repository.get_report(conn, tracking_id)
            return self._full(conn, report)

    def set_status(self, *, caller: identity.Caller, key: str, change: StatusChange) -> Report:
        """Moves the report to a lifecycle status decided by its process."""
        identity.require_service(caller, "sla")
        check_idempotency_key(key)
        change = check_status_change(change)
        with self.pool.connection() as conn, conn.transaction():
            report = _found(repository.get_report(conn, change.tracking_id, for_update=True), change.tracking_id)
            if repository.entry_by_key(conn, change.tracking_id, EntryKind.STATUS, key) is None:
                ensure_open(report)
                repository.set_status(conn, change.tracking_id, change.status)
                repository.add_entry(conn, tracking_id=change.tracking_id, kind=EntryKind.STATUS, author=SYSTEM,
                                     body=change.reason, status=change.status, created_at=self.clock.now(), key=key)
                report = replace(report, status=change.status)
            return self._full(conn, report)

    def post_follow_up(self, *, caller: identity.Caller, key: str, tracking_id: str, body: str) -> TimelineEntry:
        """The assigned agency's follow-up; only its own staff may post it."""
        identity.require_role(caller, identity.LIAISON_OFFICER, identity.AGENCY_ADMIN)
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        body = check_body(body)
        with self.pool.connection() as conn, conn.transaction():
            report = _found(repository.get_report(conn, tracking_id, for_update=True), tracking_id)
            earlier = repository.entry_by_key(conn, tracking_id, EntryKind.FOLLOW_UP, key)
            agency_id = earlier.agency_id if earlier else report.agency_id
            if not agency_id or caller.agency_id != agency_id:
                raise PermissionDenied(f"report {tracking_id} is not assigned to your agency")
            if earlier is not None:
                return earlier
            ensure_agency_may_answer(report)
            now = self.clock.now()
            entry = repository.add_entry(conn, tracking_id=tracking_id, kind=EntryKind.FOLLOW_UP,
                                         author=report.agency_name, agency_id=agency_id, body=body, created_at=now,
                                         key=key)
            repository.set_status(conn, tracking_id, ReportStatus.FOLLOWED_UP)
            outbox.add(conn, SCHEMA, kind=FOLLOW_UP_POSTED, tracking_id=tracking_id, payload={
                "entry_id": entry.id, "posted_at": now.isoformat(), "agency_id": agency_id})
            return entry

    def post_reply(self, *, caller: identity.Caller, key: str, tracking_id: str, body: str) -> TimelineEntry:
        """The reporter's or an administrator's reply to a follow-up; the agency must answer again."""
        if caller.role == identity.NATIONAL_ADMIN:
            author = ADMINISTRATOR
        elif caller.role == identity.REPORTER and caller.subject == tracking_id:
            author = REPORTER
        else:
            raise PermissionDenied("only the reporter or a national administrator may reply")
        return self._add_answer(key=key, tracking_id=tracking_id, body=body, kind=EntryKind.REPLY, author=author,
                                allowed=ensure_reply_allowed, status=ReportStatus.FORWARDED, event=REPLY_POSTED,
                                stamp="posted_at", extra={"author": author})

    def complete(self, *, caller: identity.Caller, key: str, tracking_id: str, body: str) -> TimelineEntry:
        """The reporter's completion of a report sent back to them; it returns to verification."""
        if caller.role != identity.REPORTER or caller.subject != tracking_id:
            raise PermissionDenied("only the reporter may complete the report")
        return self._add_answer(key=key, tracking_id=tracking_id, body=body, kind=EntryKind.COMPLETION,
                                author=REPORTER, allowed=ensure_completion_allowed,
                                status=ReportStatus.IN_VERIFICATION, event=REPORT_COMPLETED, stamp="completed_at")

    def _add_answer(self, *, key: str, tracking_id: str, body: str, kind: EntryKind, author: str,
                    allowed: Callable[[Report], None], status: ReportStatus, event: str, stamp: str,
                    extra: dict | None = None) -> TimelineEntry:
        """A reporter's or administrator's timeline entry that moves the report on and tells its
        process (payload: the entry id, `stamp` at now, and `extra`); a repeated key changes nothing."""
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        body = check_body(body)
        with self.pool.connection() as conn, conn.transaction():
            report = _found(repository.get_report(conn, tracking_id, for_update=True), tracking_id)
            if (earlier := repository.entry_by_key(conn, tracking_id, kind, key)) is not None:
                return earlier
            allowed(report)
            now = self.clock.now()
            entry = repository.add_entry(conn, tracking_id=tracking_id, kind=kind, author=author, body=body,
                                         created_at=now, key=key)
            repository.set_status(conn, tracking_id, status)
            outbox.add(conn, SCHEMA, kind=event, tracking_id=tracking_id,
                       payload={"entry_id": entry.id, stamp: now.isoformat(), **(extra or {})})
            return entry

    def contact(self, *, caller: identity.Caller, tracking_id: str) -> Contact:
        """Where to reach the reporter, for delivering a notification."""
        identity.require_service(caller, "notify")
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn:
            return _found(repository.contact(conn, tracking_id), tracking_id)

    @staticmethod
    def _full(conn, report: Report) -> Report:
        return replace(report, timeline=repository.timeline(conn, report.tracking_id))


def _found(value, tracking_id: str):
    if value is None:
        raise NotFound(f"report {tracking_id} does not exist")
    return value
