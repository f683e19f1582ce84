"""The public side of intake: what the public may see of a published report, the feed's filters and
pages, and support ("dukung"). Types and rules only; the text rules themselves are in `redaction`.

What the public sees is never the reporter's identity, never a confidential report, and never text
that has not been through redaction.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from services.intake import redaction
from services.intake.domain import (ADMINISTRATOR, REPORTER, SYSTEM, Coordinates, EntryKind, ReporterContact,
                                    ReportStatus, ReportType, TimelineEntry, text)
from services.intake.submission import MAX_CATEGORY, REGION_CODE, check_agency_id
from services.plumbing.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# A search ranks the newest matches only, so that it costs the same whether a word is in ten reports or in
# half a million: "jalan" finds the most relevant of the 1,000 newest reports that have it. Fewer matches
# than this are all ranked.
SEARCH_WINDOW = 1000
MAX_QUERY = 200
MAX_SUPPORTER = 200

# The public timeline: no completions (the reporter's added details may say who they are).
PUBLIC_KINDS = frozenset({EntryKind.SUBMITTED, EntryKind.STATUS, EntryKind.FOLLOW_UP, EntryKind.REPLY})
# How the public timeline names its authors; a follow-up's author is its agency's name.
AUTHOR_LABELS = {REPORTER: "Pelapor", ADMINISTRATOR: "Administrator", SYSTEM: "Sistem"}


@dataclass(frozen=True)
class PublicText:
    """A report's title, description and location as the public may read and search them."""
    title: str
    description: str
    location_text: str


@dataclass(frozen=True)
class PublishedReport:
    tracking_id: str
    type: ReportType
    title: str
    description: str
    category: str
    region_code: str
    location_text: str
    coordinates: Coordinates | None
    status: ReportStatus
    agency_id: str
    agency_name: str
    submitted_at: datetime
    published_at: datetime
    updated_at: datetime
    support_count: int
    anonymous: bool
    timeline: tuple[TimelineEntry, ...] = ()
    rank: float | None = None  # relevance to the feed's query, when it has one


@dataclass(frozen=True)
class FeedFilter:
    """Which published reports a feed lists. Every field narrows it; empty ones do not."""
    query: str = ""
    agency_id: str = ""
    category: str = ""
    region_code: str = ""  # a province's 2 digits also match its regencies' and cities' 4
    statuses: tuple[ReportStatus, ...] = ()  # any of them
    submitted_after: datetime | None = None  # inclusive
    submitted_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the feed's order key of its last report."""
    published_at: datetime
    tracking_id: str
    rank: float | None = None  # with a query, the feed is ordered by relevance first
    as_of: tuple[datetime, str] | None = None  # with a query: the newest report when the search began


@dataclass(frozen=True)
class FeedPage:
    reports: tuple[PublishedReport, ...]
    next_page_token: str  # empty on the last page


@dataclass(frozen=True)
class Support:
    support_count: int
    counted: bool  # False: this supporter had supported the report already


def public_text(title: str, description: str, location_text: str, reporter: ReporterContact) -> PublicText:
    """The text as published: phone numbers, e-mail addresses and NIK hidden, and the reporter's own name
    and address wherever the text repeats them."""
    known = redaction.Known((reporter.name, reporter.email))
    return PublicText(redaction.redact(title, known), redaction.redact(description, known),
                      redaction.redact(location_text, known))


def check_feed_filter(f: FeedFilter) -> FeedFilter:
    query = " ".join(text(f.query, "query", max_length=MAX_QUERY).split())
    region_code = text(f.region_code, "region_code", max_length=4)
    if region_code and not REGION_CODE.fullmatch(region_code):
        raise InvalidArgument("region_code", "must be a BPS province (2 digits) or regency/city (4 digits) code")
    if None in f.statuses:
        raise InvalidArgument("statuses", "must be statuses of a report")
    if f.submitted_after and f.submitted_before and f.submitted_after >= f.submitted_before:
        raise InvalidArgument("submitted_before", "must be later than submitted_after")
    return replace(f, query=query, region_code=region_code, agency_id=check_agency_id(f.agency_id, "agency_id"),
                   category=text(f.category, "category", max_length=MAX_CATEGORY),
                   statuses=tuple(sorted(set(f.statuses), key=lambda s: s.value)))


def check_page_size(value: int) -> int:
    if value < 0 or value > MAX_PAGE_SIZE:
        raise InvalidArgument("page_size", f"must be between 0 (the default, {DEFAULT_PAGE_SIZE}) and {MAX_PAGE_SIZE}")
    return value or DEFAULT_PAGE_SIZE


def check_supporter(value: str) -> str:
    return text(value, "supporter", min_length=1, max_length=MAX_SUPPORTER)


def public_timeline(entries: tuple[TimelineEntry, ...], reporter: ReporterContact) -> tuple[TimelineEntry, ...]:
    """The entries the public may read, their bodies redacted, their authors named for the public, and
    without files: a follow-up's attachments are for the reporter and staff only."""
    known = redaction.Known((reporter.name, reporter.email))
    return tuple(replace(e, author=AUTHOR_LABELS.get(e.author, e.author) if e.kind is not EntryKind.FOLLOW_UP
                         else e.author, body=redaction.redact(e.body, known), attachments=())
                 for e in entries if e.kind in PUBLIC_KINDS)


def redacted(report: PublishedReport, reporter: ReporterContact = ReporterContact()) -> PublishedReport:
    """The stored public text with today's rules applied again: a rule that changed since the text was
    stored applies at once, before the stored copy is redone."""
    known = redaction.Known((reporter.name, reporter.email))
    return replace(report, title=redaction.redact(report.title, known),
                   description=redaction.redact(report.description, known),
                   location_text=redaction.redact(report.location_text, known))
