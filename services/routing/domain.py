"""Routing: the agency directory (K/L/D), the rules that name the competent agency for a report,
the fallback chain that never leaves a report unrouted ("no wrong door"), and an agency's decline
of a report outside its authority ("bukan wewenang"), and an agency administrator's dispatch
(disposisi) of a report to one of the agencies directly under theirs.

The national desk is the end of the chain: it can never be excluded, so it cannot decline either
(a decline would only bring the report back to it)."""

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from services.plumbing import categories
from services.plumbing.errors import FailedPrecondition, InvalidArgument
from services.plumbing.identifiers import check_tracking_id
from services.plumbing.text import has_control_characters

AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
# BPS codes: 2 digits province, 4 regency/city, 7 district (kecamatan), 10 village (desa/kelurahan).
REGION_CODE = re.compile(r"^([0-9]{2,10})?$")
MAX_EXCLUDED = 100
DECLINE_REASON_LENGTH = (10, 2000)
AGENCY_DECLINED = "agency_declined"  # the outbox event, and the message the report's process waits for
AGENCY_DISPATCHED = "agency_dispatched"  # likewise for a dispatch to a unit
DISPATCH_NOTE_LENGTH = 2000

LEVELS = ("national", "ministry", "agency", "province", "regency", "city", "unit")
TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


class MatchedBy(enum.Enum):
    PREFERRED = "preferred"
    SUGGESTED = "suggested"
    RULE = "rule"
    REGION = "region"
    NATIONAL = "national"
    DISPATCH = "dispatch"  # an agency administrator handed it to a unit of their agency


@dataclass(frozen=True)
class Agency:
    id: str
    code: str
    name: str
    parent_id: str  # '' for the top of the directory
    level: str
    region_code: str  # '' for a national body
    timezone: str
    active: bool = True  # an inactive agency is never chosen by routing; it stays for its history


@dataclass(frozen=True)
class LiaisonOfficer:
    """Who to contact at an agency about its reports: directory data (their logins are the portal's)."""
    agency_id: str
    name: str
    position: str
    email: str
    phone: str


@dataclass(frozen=True)
class AgencyFilter:
    """Which agencies a list shows; every field narrows it."""
    parent_id: str = ""  # its children only
    level: str = ""
    region_code: str = ""  # agencies in this region or inside it
    query: str = ""  # part of the name, code or id, in any case
    active: bool | None = None  # None: active and inactive


# The national administrators' desk: the last resort of routing. The migration creates it.
NATIONAL_DESK = Agency(id="nasional", code="NASIONAL", name="Administrator Nasional SP4N-LAPOR!", parent_id="",
                       level="national", region_code="", timezone="Asia/Jakarta")


@dataclass(frozen=True)
class Rule:
    id: int
    category: str
    region_prefix: str  # '' matches any region
    agency_id: str
    priority: int  # among equally long prefixes, the higher priority wins (the store keeps one rule per prefix)
    agency_name: str = ""
    agency_active: bool = True
    changed_by: str = ""  # who made the last change: an account, or "demo"
    changed_at: datetime | None = None


@dataclass(frozen=True)
class RuleDraft:
    """A rule as a national administrator writes it: reports of `category` from `region_prefix` (a region
    of the reference list, or '' for any region) go to `agency_id`."""
    category: str
    region_prefix: str
    agency_id: str


@dataclass(frozen=True)
class RuleFilter:
    """Which rules a list shows; every field narrows it."""
    category: str = ""
    region_code: str = ""  # rules for this region or for regions inside it
    agency_id: str = ""


@dataclass(frozen=True)
class RoutingRequest:
    tracking_id: str
    category: str = ""
    region_code: str = ""
    preferred_agency_id: str = ""
    suggested_agency_id: str = ""
    excluded_agency_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Assignment:
    id: str
    tracking_id: str
    agency: Agency
    matched_by: MatchedBy
    assigned_at: datetime
    active: bool  # false once declined or replaced by a newer assignment
    declined_reason: str = ""
    declined_at: datetime | None = None
    declined_by: str = ""  # the account that declined
    dispatched_by: str = ""  # for a dispatch: the agency administrator's account
    dispatch_note: str = ""  # and the instruction they gave the unit, if any

    @property
    def declined(self) -> bool:
        return self.declined_at is not None


def check_agency_id(value: str, field: str) -> str:
    if not AGENCY_ID.match(value or ""):
        raise InvalidArgument(field, "must be an agency id such as kab-tanah-bumbu")
    return value


check_category = categories.check


def check_rule_draft(draft: RuleDraft) -> RuleDraft:
    """Refuses a rule whose fields cannot be right whatever the directory holds; the service checks the
    region against the reference list and the agency against the directory."""
    check_category(draft.category)
    if draft.region_prefix and not re.fullmatch(r"[0-9]{2}([0-9]{2})?", draft.region_prefix):
        raise InvalidArgument("region_code", "a region of the reference list (2 digits for a province, 4 for a "
                                             "regency or city), or empty for any region")
    if not draft.agency_id:
        raise InvalidArgument("agency_id", "is required: the agency that takes these reports")
    check_agency_id(draft.agency_id, "agency_id")
    return draft


def check_request(request: RoutingRequest) -> RoutingRequest:
    """Refuses a routing request that cannot be routed as asked."""
    check_tracking_id(request.tracking_id)
    if request.category and not CATEGORY.match(request.category):
        raise InvalidArgument("category", "lowercase letters, digits and dashes, at most 100 characters")
    if not REGION_CODE.match(request.region_code):
        raise InvalidArgument("region_code", "a BPS region code of 2 to 10 digits, or empty")
    if request.preferred_agency_id:
        check_agency_id(request.preferred_agency_id, "preferred_agency_id")
    if request.suggested_agency_id:
        check_agency_id(request.suggested_agency_id, "suggested_agency_id")
    if len(request.excluded_agency_ids) > MAX_EXCLUDED:
        raise InvalidArgument("excluded_agency_ids", f"at most {MAX_EXCLUDED} agencies")
    for agency_id in request.excluded_agency_ids:
        check_agency_id(agency_id, "excluded_agency_ids")
    return request


def best_rule(rules: list[Rule], region_code: str, excluded: frozenset[str]) -> Rule | None:
    """The rule for a report from `region_code`: longest matching prefix, then highest priority,
    then the oldest rule; rules naming an excluded agency do not count."""
    candidates = [r for r in rules if region_code.startswith(r.region_prefix) and r.agency_id not in excluded]
    return max(candidates, key=lambda r: (len(r.region_prefix), r.priority, -r.id), default=None)


def regional_governments(region_code: str) -> list[tuple[str, tuple[str, ...]]]:
    """Where to look for the government of a region, nearest first: the regency or city of its
    first four digits, then the province of its first two."""
    places = []
    if len(region_code) >= 4:
        places.append((region_code[:4], ("regency", "city")))
    if len(region_code) >= 2:
        places.append((region_code[:2], ("province",)))
    return places


def check_decline_reason(value: str) -> str:
    """Why an agency is not competent: stripped, 10 to 2000 characters, line breaks allowed (staff
    write it in a text box) but no other control characters."""
    value = (value or "").strip()
    if not value:
        raise InvalidArgument("reason", "is required: say why the report is not within your agency's authority")
    if has_control_characters(value, multiline=True):
        raise InvalidArgument("reason", "must not contain control characters")
    low, high = DECLINE_REASON_LENGTH
    if not low <= len(value) <= high:
        raise InvalidArgument("reason", f"{low} to {high} characters")
    return value


def decline_payload(assignment: Assignment) -> dict:
    """What the report's process learns of a decline: enough to exclude the agency when it re-routes."""
    return {"assignment_id": assignment.id, "agency_id": assignment.agency.id,
            "reason": assignment.declined_reason, "declined_at": assignment.declined_at.isoformat()}


def ensure_declinable(assignment: Assignment) -> None:
    """Only an active assignment can be declined, and never the national desk's: no one comes after it."""
    if not assignment.active:
        how = f"declined at {assignment.declined_at.isoformat()}" if assignment.declined else "replaced"
        raise FailedPrecondition(f"your agency's assignment of report {assignment.tracking_id} is no longer "
                                 f"active (it was {how}); there is nothing to decline")
    if assignment.agency.id == NATIONAL_DESK.id:
        raise FailedPrecondition(f"the national desk {NATIONAL_DESK.id!r} is the last resort of routing and cannot "
                                 "decline a report: no one comes after it")


def check_dispatch_note(value: str) -> str:
    """The agency administrator's instruction to the unit: optional, at most 2000 characters, line
    breaks allowed but no other control characters."""
    value = (value or "").strip()
    if has_control_characters(value, multiline=True):
        raise InvalidArgument("note", "must not contain control characters")
    if len(value) > DISPATCH_NOTE_LENGTH:
        raise InvalidArgument("note", f"at most {DISPATCH_NOTE_LENGTH} characters")
    return value


def ensure_dispatchable(held: Assignment, unit: Agency | None, unit_id: str, declined: set[str]) -> Agency:
    """A report goes from the agency holding it to an active agency directly under it that has not
    declined it before (it would only decline again: the report goes back to routing then)."""
    if not held.active:
        raise FailedPrecondition(f"your agency's assignment of report {held.tracking_id} is no longer active; "
                                 "there is nothing to dispatch")
    if unit is None or unit.parent_id != held.agency.id:
        raise InvalidArgument("agency_id", f"{unit_id!r} is not an agency directly under {held.agency.id}")
    if not unit.active:
        raise FailedPrecondition(f"{unit.id} is inactive: routing no longer gives it reports")
    if unit.id in declined:
        raise FailedPrecondition(f"{unit.id} declined report {held.tracking_id} before as not within its authority")
    return unit


def dispatch_payload(assignment: Assignment, from_agency_id: str) -> dict:
    """What the report's process learns of a dispatch: the new agency as AssignReport's answer gives it
    (the process keeps it as its assignment), and where it came from."""
    agency = assignment.agency
    return {"assignment_id": assignment.id, "agency_id": agency.id, "agency_name": agency.name,
            "timezone": agency.timezone, "parent_id": agency.parent_id or NATIONAL_DESK.id,
            "assigned_at": assignment.assigned_at.isoformat(), "from_agency_id": from_agency_id}
