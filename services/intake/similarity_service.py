"""Candidate duplicates for the verification console: reports that may be the same as one being verified."""

from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from services.intake import repository, similarity, similarity_repository
from services.intake.domain import check_tracking_id
from services.intake.report_lists import ReportSummary
from services.intake.similarity import Match, check_limit, match, ranked
from services.plumbing import identity
from services.plumbing.errors import NotFound


@dataclass(frozen=True)
class SimilarReport:
    summary: ReportSummary
    location_text: str
    match: Match


class SimilarityService:
    def __init__(self, *, pool: ConnectionPool):
        self.pool = pool
        self._stopwords: list[str] | None = None  # stemmed once, by the database that stems the documents

    def similar(self, *, caller: identity.Caller, tracking_id: str, limit: int = 0) -> list[SimilarReport]:
        """Reports like `tracking_id` submitted up to WINDOW before or after it, in any status (confidential ones too:
        only national administrators ask), best match first."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_tracking_id(tracking_id)
        limit = check_limit(limit)
        with self.pool.connection() as conn:
            if self._stopwords is None:
                self._stopwords = similarity_repository.stopwords(conn)
            report = similarity_repository.source(conn, tracking_id, self._stopwords)
            if report is None:
                raise NotFound(f"report {tracking_id} does not exist")
            found = similarity_repository.candidates(conn, report, self._stopwords,
                                                     since=report.submitted_at - similarity.WINDOW,
                                                     until=report.submitted_at + similarity.WINDOW,
                                                     per_way=similarity.CANDIDATES_PER_WAY)
            places = {candidate.tracking_id: place for candidate, place in found}
            matches = [m for candidate, _ in found
                       if (m := match(report.words, report.region_code, report.coordinates, candidate)) is not None]
            best = ranked(matches, limit)
            summaries = repository.summaries_by_ids(conn, [m.tracking_id for m in best])
        return [SimilarReport(summaries[m.tracking_id], places[m.tracking_id], m) for m in best]
