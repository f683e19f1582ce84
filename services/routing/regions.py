"""The reference list of Indonesia's regions: every province, regency (kabupaten) and city (kota),
by BPS code, with its official name and time zone. Routing owns it; the list lives in
data/regions.csv (see data/README.md for its sources and how to update it) and the service loads it
at every start.

Codes: 2 digits for a province; 4 for a regency or city, the first 2 its province's, the last 2
01-69 for a regency and 71-99 for a city. Time zones follow provinces (WIB, WITA or WIT)."""

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from services.plumbing.errors import InvalidArgument
from services.routing.domain import TIMEZONES

REGIONS_CSV = Path(__file__).with_name("data") / "regions.csv"
COLUMNS = ["code", "name", "kind", "timezone"]
KINDS = ("province", "regency", "city")
# The name a region carries starts with its kind, as officially written.
NAME_PREFIX = {"province": "Provinsi ", "regency": "Kabupaten ", "city": "Kota "}
PROVINCE_CODE = re.compile(r"^[0-9]{2}$")
REGION_CODE = re.compile(r"^[0-9]{2}([0-9]{2})?$")
MAX_NAME = 200


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    kind: str
    parent_code: str  # the province of a regency or city; '' for a province
    timezone: str

    @property
    def province_code(self) -> str:
        return self.code[:2]


class RegionListError(ValueError):
    """The region list cannot be used as it is; the message names the line and why."""


def kind_of(code: str) -> tuple[str, ...]:
    """The kinds a well-formed code can be: a 2-digit code is a province, a 4-digit one a regency
    (01-69) or a city (71-99)."""
    if len(code) == 2:
        return ("province",)
    suffix = int(code[2:])
    if 1 <= suffix <= 69:
        return ("regency",)
    if 71 <= suffix <= 99:
        return ("city",)
    return ()


def _region(line: int, row: dict[str, str]) -> Region:
    def fail(why: str) -> RegionListError:
        return RegionListError(f"line {line}: {why}")

    code, name, kind, tz = (row[c].strip() for c in COLUMNS)
    if not REGION_CODE.match(code):
        raise fail(f"code {code!r} is not 2 or 4 digits")
    if kind not in KINDS:
        raise fail(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind not in kind_of(code):
        raise fail(f"code {code} cannot be a {kind} (2 digits: province; 4 ending 01-69: regency, 71-99: city)")
    if not name.startswith(NAME_PREFIX[kind]) or len(name) <= len(NAME_PREFIX[kind]) or len(name) > MAX_NAME:
        raise fail(f"the name of a {kind} is {NAME_PREFIX[kind]!r} and its name, at most {MAX_NAME} characters: "
                   f"{name!r}")
    if tz not in TIMEZONES:
        raise fail(f"timezone {tz!r} is not one of {', '.join(TIMEZONES)}")
    return Region(code, name, kind, "" if kind == "province" else code[:2], tz)


def parse_regions(text: str) -> list[Region]:
    """The regions of a CSV list (columns code, name, kind, timezone), ordered by code. The whole list
    is refused if any line is wrong, a code repeats, a regency or city has no province in the list,
    or its time zone is not its province's."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != COLUMNS:
        raise RegionListError(f"line 1: the columns must be {','.join(COLUMNS)}, not {reader.fieldnames}")
    regions: dict[str, Region] = {}
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise RegionListError(f"line {line}: expected {len(COLUMNS)} fields")
        region = _region(line, row)
        if region.code in regions:
            raise RegionListError(f"line {line}: code {region.code} appears twice")
        regions[region.code] = region
    for region in regions.values():
        if region.kind == "province":
            continue
        province = regions.get(region.parent_code)
        if province is None:
            raise RegionListError(f"{region.code} {region.name}: its province {region.parent_code} is not in the list")
        if region.timezone != province.timezone:
            raise RegionListError(f"{region.code} {region.name}: timezone {region.timezone} differs from its "
                                  f"province's ({province.timezone}); time zones follow provinces")
    if not regions:
        raise RegionListError("the list has no regions")
    return sorted(regions.values(), key=lambda r: r.code)


def read_regions(path: Path = REGIONS_CSV) -> list[Region]:
    return parse_regions(path.read_text(encoding="utf-8"))


def check_region_code(value: str, field: str) -> str:
    if not REGION_CODE.match(value):
        raise InvalidArgument(field, "a BPS region code: 2 digits for a province, 4 for a regency or city")
    return value


def check_parent_code(value: str, field: str = "parent_code") -> str:
    """Only provinces have regions under them in the list."""
    if value and not PROVINCE_CODE.match(value):
        raise InvalidArgument(field, "a province's 2-digit BPS code, or empty for every region")
    return value


def check_kind(value: str, field: str = "kind") -> str:
    if value and value not in KINDS:
        raise InvalidArgument(field, f"one of {', '.join(KINDS)}, or empty for every kind")
    return value
