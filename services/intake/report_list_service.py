"""Report list use cases: a signed-in reporter's own reports, an agency's assigned reports."""

from psycopg_pool import ConnectionPool

from services.intake import access, page_tokens, repository
from services.intake.domain import ReportStatus, check_tracking_id
from services.intake.publication import check_page_size
from services.intake.report_lists import Position, ReportPage, ReportScope, ReportSummary, check_agency_scope
from services.plumbing import identity
from services.plumbing.errors import InvalidArgument, PermissionDenied

MAX_SUMMARIES = 500


class ReportListService:
    def __init__(self, *, pool: ConnectionPool, page_key: bytes):
        self.pool = pool
        self.page_key = page_key

    def reporter_reports(self, *, caller: identity.Caller, page_size: int = 0, page_token: str = "") -> ReportPage:
        """The signed-in reporter's reports, newest first."""
        account = access.listed_account(caller)
        if account is None:
            raise PermissionDenied("only a signed-in reporter has a list of their reports")
        return self._page(ReportScope(account_id=account), page_size, page_token)

    def agency_reports(self, *, caller: identity.Caller, agency_id: str, statuses: tuple[ReportStatus | None, ...] = (),
                       page_size: int = 0, page_token: str = "") -> ReportPage:
        """The reports assigned to an agency (in any of `statuses`), newest first: for its own staff and
        national administrators."""
        scope = check_agency_scope(ReportScope(agency_id=agency_id, statuses=statuses))
        if not access.may_list_agency(caller, scope.agency_id):
            raise PermissionDenied("only the agency's own staff and national administrators see its reports")
        return self._page(scope, page_size, page_token)

    def summaries(self, *, caller: identity.Caller, tracking_ids: list[str]) -> list[ReportSummary]:
        """Summaries of the given reports, in the order asked, unknown ones left out: for national
        administrators (the verification queue shows each report's title, category and region)."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        if len(tracking_ids) > MAX_SUMMARIES:
            raise InvalidArgument("tracking_ids", f"at most {MAX_SUMMARIES}")
        for tracking_id in tracking_ids:
            check_tracking_id(tracking_id, "tracking_ids")
        with self.pool.connection() as conn:
            found = repository.summaries_by_ids(conn, tracking_ids)
        return [found[t] for t in dict.fromkeys(tracking_ids) if t in found]

    def _page(self, scope: ReportScope, page_size: int, page_token: str) -> ReportPage:
        page_size = check_page_size(page_size)
        after = page_tokens.decode_position(page_token, scope, self.page_key)
        with self.pool.connection() as conn:
            reports = repository.report_summaries(conn, scope, after, page_size + 1)
        token = ""
        if len(reports) > page_size:
            last = reports[page_size - 1]
            token = page_tokens.encode_position(Position(last.submitted_at, last.tracking_id), scope, self.page_key)
        return ReportPage(tuple(reports[:page_size]), token)
