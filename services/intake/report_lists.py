"""Lists of reports for those who follow or handle them: a signed-in reporter's own reports, and the
reports assigned to an agency. Newest first, paged by keyset; never with the reporter's identity."""

from dataclasses import dataclass, replace
from datetime import datetime

from services.intake.domain import ReportStatus, ReportType
from services.intake.submission import check_agency_id
from services.plumbing.errors import InvalidArgument


@dataclass(frozen=True)
class ReportSummary:
    tracking_id: str
    type: ReportType
    title: str
    category: str
    region_code: str
    status: ReportStatus
    agency_id: str
    agency_name: str
    submitted_at: datetime
    updated_at: datetime  # its latest timeline entry
    anonymous: bool
    confidential: bool


@dataclass(frozen=True)
class ReportScope:
    """Which reports a list holds: an account's, or an agency's in any of `statuses` (all when empty)."""
    account_id: str = ""
    agency_id: str = ""
    statuses: tuple[ReportStatus, ...] = ()


@dataclass(frozen=True)
class Position:
    """Where a page ended: the list's order key of its last report."""
    submitted_at: datetime
    tracking_id: str


@dataclass(frozen=True)
class ReportPage:
    reports: tuple[ReportSummary, ...]
    next_page_token: str  # empty on the last page


def check_agency_scope(scope: ReportScope) -> ReportScope:
    agency_id = check_agency_id(scope.agency_id, "agency_id")
    if not agency_id:
        raise InvalidArgument("agency_id", "is required")
    if None in scope.statuses:
        raise InvalidArgument("statuses", "must be statuses of a report")
    return replace(scope, agency_id=agency_id, statuses=tuple(sorted(set(scope.statuses), key=lambda s: s.value)))
