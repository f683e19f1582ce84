"""Intake use cases. Each owns its transaction; every change locks the report's row first."""

import secrets
from dataclasses import dataclass, replace
from typing import Callable

import psycopg
from psycopg_pool import ConnectionPool

from services.intake import access, account_repository, domain, redaction, repository
from services.intake.account_service import AccountService
from services.intake.attachments import attachment_number, check_attachments, check_room
from services.intake.domain import (FOLLOW_UP_POSTED, REPLY_POSTED, REPORT_COMPLETED, SYSTEM, Attachment,
                                    AttachmentFile, Contact, EntryKind, Receipt, Report, ReportStatus, StatusChange,
                                    Submission, TimelineEntry, VerifiedChanges, account_number, applied, check_body,
                                    check_status_change, check_tracking_id, check_verified_changes,
                                    ensure_agency_may_answer, ensure_completion_allowed, ensure_open,
                                    ensure_reply_allowed, text)
from services.intake.publication import public_text
from services.intake.publication_service import PublicationService
from services.intake.report_list_service import ReportListService
from services.intake.similarity_service import SimilarityService
from services.intake.submission import check_submission
from services.plumbing import db, identity, outbox
from services.plumbing.clock import Clock
from services.plumbing.errors import InvalidArgument, NotFound, PermissionDenied
from services.plumbing.group_commit import GroupCommit, outcome
from services.plumbing.identifiers import check_idempotency_key

SCHEMA = "intake"
MAX_CONTACTS = 100  # reporter contacts in one call: a delivery batch's
MAX_ID_ATTEMPTS = 20  # 32^8 IDs: a run of collisions this long means something else is wrong
# New reports are stored by at most WRITERS connections at a time, up to MAX_BATCH reports in one transaction.
# One: intake's handlers spend most of a call in Python, so they seldom meet at the database, and a
# second writer would take the reports that a queue behind the first would have brought together
# (bench.intake: 1.2 to 1.5 reports a transaction with two writers, 1.6 to 3.0 with one, and 920 to
# 1,090 reports/s against 790). One statement takes a millisecond or two: 32 of them carry far more.
WRITERS = 1
MAX_BATCH = 32


@dataclass(frozen=True)
class _Answer:
    """A reporter's timeline entry that moves the report on and tells its process."""
    kind: EntryKind
    allowed: Callable[[Report], None]  # raises FailedPrecondition when the report is not waiting for it
    status: ReportStatus  # where it moves the report
    event: str
    stamp: str  # the event's name for the time it was posted
    administrators: bool  # national administrators may post it too, so the event names its author
    denial: str


_REPLY = _Answer(EntryKind.REPLY, ensure_reply_allowed, ReportStatus.FORWARDED, REPLY_POSTED, "posted_at",
                 administrators=True, denial="only the reporter or a national administrator may reply")
_COMPLETION = _Answer(EntryKind.COMPLETION, ensure_completion_allowed, ReportStatus.IN_VERIFICATION,
                      REPORT_COMPLETED, "completed_at", administrators=False,
                      denial="only the reporter may complete the report")


class IntakeService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock, page_key: bytes | None = None, writers: int = WRITERS):
        """`page_key` signs page tokens; replicas must share it (a random key serves one process).
        `writers`: how many connections may store new reports at a time (see GroupCommit)."""
        self.pool = pool
        self.clock = clock
        page_key = page_key or secrets.token_bytes(32)
        self.publication = PublicationService(pool=pool, clock=clock, page_key=page_key)
        self.accounts = AccountService(pool=pool, clock=clock)
        self.lists = ReportListService(pool=pool, page_key=page_key)
        self.similarity = SimilarityService(pool=pool)
        self._store = GroupCommit("intake_reports", self._store_together, writers=writers, max_batch=MAX_BATCH)

    def submit(self, *, caller: identity.Caller, key: str, submission: Submission) -> Receipt:
        """Stores a report with its reporter and attachments and starts its process. The receipt carries a
        new access code: a repeated key returns the first report, its old code replaced by the new one."""
        identity.require_service(caller, access.PORTAL)
        check_idempotency_key(key)
        now = self.clock.now()
        submission = check_submission(submission, now=now)
        public = public_text(submission.title, submission.description, submission.location_text, submission.reporter)
        if submission.account_id:
            with db.autocommit(self.pool) as conn:
                if not account_repository.account_exists(conn, account_number(submission.account_id)):
                    raise InvalidArgument("account_id", "names no reporter account")
        code = access.new_access_code()
        receipt = self._store(repository.NewReport(
            tracking_id=domain.new_tracking_id(), key=key, submission=submission, status=ReportStatus.IN_VERIFICATION,
            submitted_at=now, public=public, redaction_version=redaction.VERSION,
            access_code_hash=access.code_hash(code), event=(outbox.START_CASE, {
                "submitted_at": now.isoformat(), "category": submission.category,
                "region_code": submission.region_code, "suggested_agency_id": submission.suggested_agency_id})))
        return replace(receipt, access_code=access.shown(code))

    def _store_together(self, reports: list[repository.NewReport]) -> list[Receipt | BaseException]:
        """Stores the reports submitted at about the same time in one statement (see GroupCommit): one
        commit, one WAL flush and one turn at the lock of notifying commits for them all. A report
        whose tracking ID or key was taken is then stored alone, and so is each when one report spoils
        the statement for the rest: the fault is that report's alone."""
        try:
            with db.autocommit(self.pool) as conn:
                receipts: list[Receipt | None] = repository.add_reports(conn, reports)
        except psycopg.OperationalError:
            raise  # the database, not a report: every one of them fails, and its caller may retry
        except psycopg.Error:
            if len(reports) == 1:
                raise
            receipts = [None] * len(reports)
        if all(receipts):
            return receipts
        with db.autocommit(self.pool) as conn:
            return [receipt or outcome(self._store_alone, conn, report) for receipt, report in zip(receipts, reports)]

    def _store_alone(self, conn, report: repository.NewReport) -> Receipt:
        """Stores a report that could not be stored with the others: its key has its report already (a
        repeat, whose report gets the new access code), or its tracking ID collided (it gets another),
        or another report spoiled the transaction. Every statement stands alone: a repeat or a
        collision leaves nothing behind to roll back."""
        s = report.submission
        for _ in range(MAX_ID_ATTEMPTS):
            if repository.receipt_by_key(conn, s.channel, report.key) is not None:
                return repository.replace_access_code(conn, s.channel, report.key, report.access_code_hash)
            [receipt] = repository.add_reports(conn, [replace(report, tracking_id=domain.new_tracking_id())])
            if receipt is not None:
                return receipt
        raise RuntimeError(f"no free tracking ID after {MAX_ID_ATTEMPTS} attempts")

    def verify_access(self, *, caller: identity.Caller, tracking_id: str, access_code: str) -> str:
        """The tracking ID when `access_code` is its report's. PERMISSION_DENIED alike for a wrong code and
        an unknown report, so that the answer tells nothing about reports one holds no code for."""
        identity.require_service(caller, access.PORTAL)
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn:
            stored = repository.access_code_hash(conn, tracking_id)
        if not access.code_matches(access_code, stored):
            raise PermissionDenied("the access code does not match the tracking ID")
        return tracking_id

    def report(self, *, caller: identity.Caller, tracking_id: str) -> Report:
        """A report with its timeline and attachments, for those who may see it; the reporter's name only
        for national administrators, never if anonymous."""
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn:
            report = self._full(conn, _readable(caller, repository.get_report(conn, tracking_id), tracking_id))
            if access.sees_reporter_name(caller, report):
                contact = repository.contact(conn, tracking_id)
                report = replace(report, reporter_name=contact.reporter.name if contact else "")
            return report

    def attachment(self, *, caller: identity.Caller, tracking_id: str, attachment_id: str) -> Attachment:
        """An attachment with its content, for those who may see its report."""
        check_tracking_id(tracking_id)
        number = attachment_number(attachment_id)
        with self.pool.connection() as conn:
            _readable(caller, repository.get_report(conn, tracking_id), tracking_id)
            found = repository.attachment(conn, tracking_id, number) if number is not None else None
        if found is None:
            raise NotFound(f"report {tracking_id} has no such attachment")
        return found

    def forward(self, *, caller: identity.Caller, key: str, tracking_id: str, agency_id: str, agency_name: str,
                changes: VerifiedChanges = VerifiedChanges()) -> Report:
        """Assigns the competent agency, applies the verification's changes (an edited title, privacy flags
        set) and publishes the report unless it is confidential."""
        identity.require_service(caller, "sla")
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        agency_id = text(agency_id, "agency_id", min_length=1, max_length=domain.MAX_AGENCY_ID)
        agency_name = text(agency_name, "agency_name", min_length=1, max_length=domain.MAX_AGENCY_NAME)
        changes = check_verified_changes(changes)
        with self.pool.connection() as conn, conn.transaction():
            report = _found(repository.get_report(conn, tracking_id, for_update=True), tracking_id)
            if repository.entry_by_key(conn, tracking_id, EntryKind.STATUS, key) is None:
                ensure_open(report)
                now = self.clock.now()
                report = self._apply(conn, report, changes)
                repository.forward(conn, tracking_id, agency_id=agency_id, agency_name=agency_name,
                                   published=not report.confidential, at=now)
                repository.add_entry(conn, tracking_id=tracking_id, kind=EntryKind.STATUS, author=SYSTEM,
                                     body=agency_name, status=ReportStatus.FORWARDED, created_at=now, key=key)
                report = repository.get_report(conn, tracking_id)
            return self._full(conn, report)

    @staticmethod
    def _apply(conn, report: Report, changes: VerifiedChanges) -> Report:
        """The report with `changes` stored: flags only ever set, and a new title with its public text (and
        search document) redone under the current redaction rules. The reporter's own title is kept."""
        changed = applied(report, changes)
        if changed == report:
            return report
        repository.apply_changes(conn, changed)
        if changed.title != report.title:
            contact = repository.contact(conn, report.tracking_id)
            public = public_text(changed.title, changed.description, changed.location_text,
                                 contact.reporter if contact else domain.ReporterContact())
            repository.set_public_text(conn, report.tracking_id, public, redaction.VERSION)
        return changed

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

    def post_follow_up(self, *, caller: identity.Caller, key: str, tracking_id: str, body: str,
                       attachments: tuple[AttachmentFile, ...] = ()) -> TimelineEntry:
        """The assigned agency's follow-up with its files, stored in one transaction; only its own staff
        may post it. A repeated key returns the first entry with its files and stores nothing."""
        identity.require_role(caller, identity.LIAISON_OFFICER, identity.AGENCY_ADMIN)
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        body = check_body(body)
        attachments = check_attachments(attachments)
        with self.pool.connection() as conn, conn.transaction():
            report = _found(repository.get_report(conn, tracking_id, for_update=True), tracking_id)
            earlier = repository.entry_by_key(conn, tracking_id, EntryKind.FOLLOW_UP, key)
            agency_id = earlier.agency_id if earlier else report.agency_id
            if not agency_id or caller.agency_id != agency_id:
                raise PermissionDenied(f"report {tracking_id} is not assigned to your agency")
            if earlier is not None:
                return earlier
            ensure_agency_may_answer(report)
            first = repository.next_attachment_number(conn, tracking_id)
            check_room(first, attachments)
            now = self.clock.now()
            entry = repository.add_entry(conn, tracking_id=tracking_id, kind=EntryKind.FOLLOW_UP,
                                         author=report.agency_name, agency_id=agency_id, body=body, created_at=now,
                                         key=key)
            entry = replace(entry, attachments=repository.add_attachments(conn, tracking_id, attachments, first=first,
                                                                          entry_id=entry.id))
            repository.set_status(conn, tracking_id, ReportStatus.FOLLOWED_UP)
            outbox.add(conn, SCHEMA, kind=FOLLOW_UP_POSTED, tracking_id=tracking_id, payload={
                "entry_id": entry.id, "posted_at": now.isoformat(), "agency_id": agency_id})
            return entry

    def post_reply(self, *, caller: identity.Caller, key: str, tracking_id: str, body: str,
                   sender_phone: str = "") -> TimelineEntry:
        """A reply to a follow-up from the reporter (by SMS too: the portal passes on the sender's number) or
        a national administrator; the agency must answer again."""
        return self._add_answer(_REPLY, caller=caller, key=key, tracking_id=tracking_id, body=body,
                                sender_phone=sender_phone)

    def complete(self, *, caller: identity.Caller, key: str, tracking_id: str, body: str,
                 sender_phone: str = "") -> TimelineEntry:
        """The reporter's completion of a report sent back to them (by SMS too); it returns to verification."""
        return self._add_answer(_COMPLETION, caller=caller, key=key, tracking_id=tracking_id, body=body,
                                sender_phone=sender_phone)

    def _add_answer(self, answer: _Answer, *, caller: identity.Caller, key: str, tracking_id: str, body: str,
                    sender_phone: str) -> TimelineEntry:
        """Posts `answer` (event payload: the entry id, its time, and its author when that may be an
        administrator); a repeated key changes nothing."""
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        body = check_body(body)
        with self.pool.connection() as conn, conn.transaction():
            report = repository.get_report(conn, tracking_id, for_update=True)
            author = self._author(conn, caller, report, tracking_id, answer, sender_phone)
            if (earlier := repository.entry_by_key(conn, tracking_id, answer.kind, key)) is not None:
                return earlier
            answer.allowed(report)
            now = self.clock.now()
            entry = repository.add_entry(conn, tracking_id=tracking_id, kind=answer.kind, author=author, body=body,
                                         created_at=now, key=key)
            repository.set_status(conn, tracking_id, answer.status)
            payload = {"entry_id": entry.id, answer.stamp: now.isoformat()}
            outbox.add(conn, SCHEMA, kind=answer.event, tracking_id=tracking_id,
                       payload=payload | ({"author": author} if answer.administrators else {}))
            return entry

    @staticmethod
    def _author(conn, caller: identity.Caller, report: Report | None, tracking_id: str, answer: _Answer,
                sender_phone: str) -> str:
        """Who posts `answer`, or PERMISSION_DENIED (for a missing report too, unless the caller is an
        administrator who may answer any)."""
        may_answer_any = answer.administrators and caller.role == identity.NATIONAL_ADMIN
        report = _existing(report, tracking_id, tell=may_answer_any, denial=answer.denial)
        reporter_phone = ""
        if sender_phone and caller.is_service(access.PORTAL):
            contact = repository.contact(conn, tracking_id)
            reporter_phone = contact.reporter.phone if contact else ""
        author = access.answer_author(caller, report, administrators=answer.administrators,
                                      sender_phone=sender_phone, reporter_phone=reporter_phone)
        if author is None:
            raise PermissionDenied(answer.denial)
        return author

    def contact(self, *, caller: identity.Caller, tracking_id: str) -> Contact:
        """Where to reach the reporter, for delivering a notification (see `_contacts`)."""
        identity.require_service(caller, "notify")
        check_tracking_id(tracking_id)
        return _found(self._contacts([tracking_id]).get(tracking_id), tracking_id)

    def contacts(self, *, caller: identity.Caller, tracking_ids: list[str]) -> list[Contact]:
        """Where to reach the reporters of several reports, in the order asked, unknown ones left out:
        notify's delivery asks once for the messages it sends together."""
        identity.require_service(caller, "notify")
        if len(tracking_ids) > MAX_CONTACTS:
            raise InvalidArgument("tracking_ids", f"at most {MAX_CONTACTS}")
        for tracking_id in tracking_ids:
            check_tracking_id(tracking_id, "tracking_ids")
        found = self._contacts(tracking_ids)
        return [found[t] for t in dict.fromkeys(tracking_ids) if t in found]

    def _contacts(self, tracking_ids: list[str]) -> dict[str, Contact]:
        """Without the name when the report is anonymous: delivery needs an address, not who the reporter
        is, and no one outside verification may learn that of an anonymous reporter."""
        with self.pool.connection() as conn:
            found = repository.contacts(conn, tracking_ids)
        return {tracking_id: replace(contact, reporter=replace(contact.reporter, name="")) if anonymous else contact
                for tracking_id, (contact, anonymous) in found.items()}

    @staticmethod
    def _full(conn, report: Report) -> Report:
        return replace(report, timeline=repository.timeline_with_attachments(conn, report.tracking_id),
                       attachments=repository.attachments(conn, report.tracking_id))


def _found(value, tracking_id: str):
    if value is None:
        raise NotFound(f"report {tracking_id} does not exist")
    return value


def _existing(report: Report | None, tracking_id: str, *, tell: bool, denial: str) -> Report:
    """The report. When there is none: NOT_FOUND if `tell` (the caller may see any report), else the very
    PERMISSION_DENIED (`denial`) of a report the caller may not see, so that no one learns which IDs exist."""
    if report is not None:
        return report
    if tell:
        raise NotFound(f"report {tracking_id} does not exist")
    raise PermissionDenied(denial)


def _readable(caller: identity.Caller, report: Report | None, tracking_id: str) -> Report:
    denial = f"you may not see report {tracking_id}"
    report = _existing(report, tracking_id, tell=access.sees_every_report(caller), denial=denial)
    if not access.may_read(caller, report):
        raise PermissionDenied(denial)
    return report
