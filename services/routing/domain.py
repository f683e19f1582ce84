"""Routing: the agency directory (K/L/D), the rules that name the competent agency for a report,
and the fallback chain that never leaves a report unrouted ("no wrong door")."""

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from services.plumbing.errors import InvalidArgument
from services.plumbing.identifiers import check_tracking_id

AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
# BPS codes: 2 digits province, 4 regency/city, 7 district (kecamatan), 10 village (desa/kelurahan).
REGION_CODE = re.compile(r"^([0-9]{2,10})?$")
MAX_EXCLUDED = 100

LEVELS = ("national", "ministry", "agency", "province", "regency", "city", "unit")
TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


class MatchedBy(enum.Enum):
    PREFERRED = "preferred"
    RULE = "rule"
    REGION = "region"
    NATIONAL = "national"


@dataclass(frozen=True)
class Agency:
    id: str
    code: str
    name: str
    parent_id: str  # '' for the top of the directory
    level: str
    region_code: str
    timezone: str


# The national administrators' desk: the last resort of routing. The migration creates it.
NATIONAL_DESK = Agency(id="nasional", code="NASIONAL", name="Administrator Nasional SP4N-LAPOR!", parent_id="",
                       level="national", region_code="", timezone="Asia/Jakarta")


@dataclass(frozen=True)
class Rule:
    id: int
    category: str
    region_prefix: str  # '' matches any region
    agency_id: str
    priority: int  # among equally long prefixes, the higher priority wins


@dataclass(frozen=True)
class RoutingRequest:
    tracking_id: str
    category: str = ""
    region_code: str = ""
    preferred_agency_id: str = ""
    excluded_agency_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Assignment:
    id: str
    tracking_id: str
    agency: Agency
    matched_by: MatchedBy
    assigned_at: datetime
    active: bool




def check_agency_id(value: str, field: str) -> str:
    if not AGENCY_ID.match(value or ""):
        raise InvalidArgument(field, "must be an agency id such as kab-tanah-bumbu")
    return value


def check_request(request: RoutingRequest) -> RoutingRequest:
    """Refuses a routing request that cannot be routed as asked."""
    check_tracking_id(request.tracking_id)
    if request.category and not CATEGORY.match(request.category):
        raise InvalidArgument("category", "lowercase letters, digits and dashes, at most 100 characters")
    if not REGION_CODE.match(request.region_code):
        raise InvalidArgument("region_code", "a BPS region code of 2 to 10 digits, or empty")
    if request.preferred_agency_id:
        check_agency_id(request.preferred_agency_id, "preferred_agency_id")
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
