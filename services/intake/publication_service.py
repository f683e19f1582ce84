"""Public use cases: the feed, one published report, support; and the worker that keeps the stored
public text redacted under the current rules. Any authenticated caller may use them (the portal calls
with its service identity on the public's behalf)."""

from dataclasses import replace

from psycopg_pool import ConnectionPool

from services.intake import page_tokens, publication, publication_repository, redaction, repository
from services.intake.domain import ReporterContact, check_tracking_id
from services.intake.publication import (Cursor, FeedFilter, FeedPage, PublishedReport, Support, check_feed_filter,
                                         check_page_size, check_supporter, public_text, public_timeline, redacted)
from services.plumbing import identity
from services.plumbing.background import BackgroundWorker
from services.plumbing.clock import Clock
from services.plumbing.errors import NotFound
from services.plumbing.identifiers import check_idempotency_key


class PublicationService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock, page_key: bytes):
        self.pool = pool
        self.clock = clock
        self.page_key = page_key

    def feed(self, *, caller: identity.Caller, feed_filter: FeedFilter, page_size: int = 0,
             page_token: str = "") -> FeedPage:
        """One page of published reports: newest published first, or the most relevant first for a query."""
        feed_filter = check_feed_filter(feed_filter)
        page_size = check_page_size(page_size)
        cursor = page_tokens.decode(page_token, feed_filter, self.page_key)
        with self.pool.connection() as conn:
            as_of = None  # a search ranks a window of its newest matches: the same one from page to page
            if feed_filter.query:
                as_of = cursor.as_of if cursor else publication_repository.newest(conn)
            reports = publication_repository.feed(conn, feed_filter, cursor, page_size + 1, as_of=as_of,
                                                  window=publication.SEARCH_WINDOW)
        token = ""
        if len(reports) > page_size:
            last = reports[page_size - 1]
            token = page_tokens.encode(Cursor(last.published_at, last.tracking_id, last.rank, as_of), feed_filter,
                                       self.page_key)
        return FeedPage(tuple(redacted(r) for r in reports[:page_size]), token)

    def published_report(self, *, caller: identity.Caller, tracking_id: str) -> PublishedReport:
        """A published report with its public timeline; NOT_FOUND alike for unknown, unpublished and
        confidential reports, so that the answer tells nothing about a report the public may not see."""
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn:
            report = _published(publication_repository.published_report(conn, tracking_id), tracking_id)
            contact = repository.contact(conn, tracking_id)
            reporter = contact.reporter if contact else ReporterContact()
            timeline = public_timeline(repository.timeline(conn, tracking_id), reporter)
        return replace(redacted(report, reporter), timeline=timeline)

    def support(self, *, caller: identity.Caller, key: str, tracking_id: str, supporter: str) -> Support:
        """Counts a supporter's "dukung" once per report; a repeated key returns the first answer."""
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        supporter = check_supporter(supporter)
        with self.pool.connection() as conn, conn.transaction():
            count = _published(publication_repository.lock_support_count(conn, tracking_id), tracking_id)
            if (earlier := publication_repository.support_by_key(conn, tracking_id, key)) is not None:
                return Support(earlier, counted=True)
            if publication_repository.has_supported(conn, tracking_id, supporter):
                return Support(count, counted=False)
            publication_repository.add_support(conn, tracking_id=tracking_id, supporter=supporter, key=key,
                                               support_count=count + 1, at=self.clock.now())
            return Support(count + 1, counted=True)

    def refresh_public_text(self, *, after: str = "", batch: int = 200) -> str:
        """Redacts again, under the current rules, the next batch of public text (in tracking ID order after
        `after`) written under older ones. Returns the last tracking ID it redid: where the next batch
        starts; empty when there was none left."""
        with self.pool.connection() as conn, conn.transaction():
            stale = repository.stale_public_text(conn, redaction.VERSION, after=after, limit=batch)
            for tracking_id, title, description, location_text, reporter in stale:
                repository.set_public_text(conn, tracking_id, public_text(title, description, location_text, reporter),
                                           redaction.VERSION)
        return stale[-1][0] if stale else ""


class PublicTextRefresh(BackgroundWorker):
    """Brings stored public text and its search document up to the current redaction rules: one pass at
    start (rules change with a release, and the migration that added the text left it empty), then daily."""

    def __init__(self, service: PublicationService, poll_seconds: float = 24 * 3600, batch: int = 200):
        super().__init__(name="intake-public-text", poll_seconds=poll_seconds)
        self.service = service
        self.batch = batch
        self._after = ""

    def run_once(self) -> int:
        self._after = self.service.refresh_public_text(after=self._after, batch=self.batch)
        return 1 if self._after else 0


def _published(value, tracking_id: str):
    if value is None:
        raise NotFound(f"report {tracking_id} is not published")
    return value
