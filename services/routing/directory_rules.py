"""The rules of the agency directory (K/L/D), and the check a whole directory passes before an import
writes anything. Pure: no SQL, no gRPC.

Levels: the national desk at the top; ministries (kementerian) and agencies (lembaga) under it, an
agency possibly under a ministry; provinces under the desk, regencies (kabupaten) and cities (kota)
under their province; units (dinas, badan, balai, ...) under any of these or under another unit.

Regions: a province, regency or city governs one region of the reference list, of its own kind, and
a regency or city lies in its parent province; one active government per region (routing's fallback
looks it up by region). A unit lies in its parent's region (by default that region itself); a
ministry or agency has none, but its units may (a ministry's regional office).

Time zones: a regional agency's is its region's; a national one's is Asia/Jakarta unless given."""

import re
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Iterable, Mapping

from services.plumbing.errors import InvalidArgument
from services.plumbing.text import has_control_characters
from services.routing.domain import AGENCY_ID, LEVELS, NATIONAL_DESK, TIMEZONES, Agency, LiaisonOfficer
from services.routing.regions import REGION_CODE, Region

AGENCIES_FILE = "agencies"
LIAISON_OFFICERS_FILE = "liaison_officers"

DEFAULT_TIMEZONE = "Asia/Jakarta"
PARENT_LEVELS: dict[str, tuple[str, ...]] = {
    "ministry": ("national",),
    "agency": ("national", "ministry"),
    "province": ("national",),
    "regency": ("province",),
    "city": ("province",),
    "unit": ("ministry", "agency", "province", "regency", "city", "unit"),
}
GOVERNMENTS = ("province", "regency", "city")  # the levels that govern a region of their own kind
NATIONAL_BODIES = ("ministry", "agency")
IMPORTED_LEVELS = tuple(level for level in LEVELS if level != "national")

CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,49}$")
MAX_NAME = 200
MAX_POSITION = 200
EMAIL = re.compile(r"^[^@\s,;<>\"']+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_EMAIL = 254
PHONE = re.compile(r"^\+?[0-9(][0-9 ().-]*[0-9]$")
PHONE_DIGITS = (6, 15)
MAX_PHONE = 30
TRUE, FALSE = ("", "true", "yes", "ya", "1"), ("false", "no", "tidak", "0")
MAX_PROBLEMS_SHOWN = 200
CYCLE_SHOWN = 10


@dataclass(frozen=True)
class AgencyRow:
    """One line of an agencies file, as written (values stripped)."""
    line: int
    id: str
    code: str
    name: str
    parent_id: str = ""  # '' or 'nasional': directly under the national desk
    level: str = ""
    region_code: str = ""  # '' for a unit: its parent's region
    timezone: str = ""  # '' : the region's, or Asia/Jakarta for a national body
    active: str = ""  # '' : true


@dataclass(frozen=True)
class LiaisonRow:
    """One line of a liaison officers file, as written (values stripped)."""
    line: int
    agency_id: str
    name: str
    position: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Problem:
    file: str  # AGENCIES_FILE or LIAISON_OFFICERS_FILE
    line: int  # 0: the file as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


def _problem_order(p: Problem) -> tuple:
    return p.file != AGENCIES_FILE, p.line


class DirectoryRejected(InvalidArgument):
    """A directory that cannot be imported: every problem found, each naming its file and line."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=_problem_order)
        shown = "\n".join(map(str, self.problems[:MAX_PROBLEMS_SHOWN]))
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        super().__init__(f"{self.problems[0].file}_csv",
                         f"refused whole, nothing was changed; {len(self.problems)} problem(s):\n{shown}"
                         + (f"\n... and {more} more" if more > 0 else ""))


@dataclass(frozen=True)
class Directory:
    """A checked directory, ready to write."""
    agencies: tuple[Agency, ...]  # parents before children
    liaison_officers: tuple[LiaisonOfficer, ...] | None  # None: the import leaves contacts as they are


def parse_active(value: str) -> bool | None:
    """true/false, yes/no, ya/tidak, 1/0 in any case; empty is true; None when it is none of these."""
    value = value.strip().lower()
    return True if value in TRUE else False if value in FALSE else None


def _text_problem(value: str, what: str, maximum: int, *, required: bool) -> str | None:
    if not value:
        return f"{what} is required" if required else None
    if len(value) > maximum:
        return f"{what} has {len(value)} characters, at most {maximum}"
    if has_control_characters(value):
        return f"{what} contains control characters"
    return None


def _agency_field_problems(row: AgencyRow, regions: Mapping[str, Region]) -> list[str]:
    """What is wrong with a line on its own, before the hierarchy is looked at."""
    found = []
    if row.id == NATIONAL_DESK.id:
        found.append(f"the national desk {NATIONAL_DESK.id!r} is built in and is not imported; put the top "
                     f"agencies under it with parent_id {NATIONAL_DESK.id}")
    elif not AGENCY_ID.match(row.id):
        found.append(f"id {row.id!r}: lowercase letters, digits and dashes, at most 100, such as kab-tanah-bumbu")
    if not row.code:
        found.append("code is required")
    elif not CODE.match(row.code):
        found.append(f"code {row.code!r}: capital letters, digits, '.', '_' and '-', at most 50, such as KAB-TANBU")
    if problem := _text_problem(row.name, "name", MAX_NAME, required=True):
        found.append(problem)
    if row.parent_id and not AGENCY_ID.match(row.parent_id):
        found.append(f"parent_id {row.parent_id!r} is not an agency id")
    if row.level == "national":
        found.append(f"level national is the national desk's alone; use one of {', '.join(IMPORTED_LEVELS)}")
    elif row.level not in IMPORTED_LEVELS:
        found.append(f"level {row.level!r} is not one of {', '.join(IMPORTED_LEVELS)}")
    if row.region_code and not REGION_CODE.match(row.region_code):
        found.append(f"region_code {row.region_code!r}: a BPS code of 2 digits (province) or 4 (regency or city)")
    elif row.region_code and row.region_code not in regions:
        found.append(f"region {row.region_code} is not on the reference list of regions")
    if row.timezone and row.timezone not in TIMEZONES:
        found.append(f"timezone {row.timezone!r} is not one of {', '.join(TIMEZONES)}")
    region = regions.get(row.region_code)
    if row.level in NATIONAL_BODIES and row.region_code:
        found.append(f"a {row.level} is national and has no region; list its regional offices as units with "
                     "a region")
    elif row.level in GOVERNMENTS and not row.region_code:
        found.append(f"a {row.level} needs region_code: the region it governs")
    elif row.level in GOVERNMENTS and region is not None and region.kind != row.level:
        found.append(f"region {region.code} ({region.name}) is a {region.kind}, not a {row.level}")
    if region is not None and row.timezone and row.timezone != region.timezone:
        found.append(_timezone_problem(row.timezone, region))
    if parse_active(row.active) is None:
        found.append(f"active {row.active!r}: true or false (empty: true)")
    return found


def _timezone_problem(timezone: str, region: Region) -> str:
    return (f"timezone {timezone} differs from {region.timezone}, that of region {region.code} ({region.name}); "
            "leave it empty to take the region's")


def _place(row: AgencyRow, parent: Agency, regions: Mapping[str, Region]) -> tuple[Agency, list[str]]:
    """The agency a line (whose own fields are right) describes under its parent: its region and time zone
    settled, with what is wrong with where it sits."""
    found = []
    region_code = row.region_code
    if row.level in ("regency", "city") and regions[region_code].parent_code != parent.region_code:
        region = regions[region_code]
        found.append(f"region {region.code} ({region.name}) is not in province {parent.region_code}, "
                     f"the region of its parent {parent.id}")
    elif row.level == "unit" and not region_code:
        region_code = parent.region_code
        if region_code and row.timezone and row.timezone != regions[region_code].timezone:
            found.append(_timezone_problem(row.timezone, regions[region_code]))
    elif row.level == "unit" and parent.region_code and not region_code.startswith(parent.region_code):
        found.append(f"region {region_code} is outside {parent.region_code}, the region of its parent {parent.id}")
    timezone = regions[region_code].timezone if region_code else row.timezone or DEFAULT_TIMEZONE
    active = bool(parse_active(row.active))
    if active and not parent.active:
        found.append(f"an active agency cannot sit under the inactive {parent.id}: deactivate it too, or "
                     "activate its parent")
    return Agency(row.id, row.code, row.name, parent.id, row.level, region_code, timezone, active), found


def _cycles(rows: dict[str, AgencyRow], among: Iterable[str]) -> dict[str, list[str]]:
    """Each row of `among` that is part of a cycle of parents, with the cycle as it walks from it."""
    found: dict[str, list[str]] = {}
    walked: set[str] = set()  # each line is walked through once, however long the chains
    for start in among:
        path, seen = [], {}
        node = start
        while node in rows and node not in seen and node not in walked:
            seen[node] = len(path)
            path.append(node)
            node = rows[node].parent_id or NATIONAL_DESK.id
        walked.update(path)
        if node in seen:
            cycle = path[seen[node]:]
            for n, member in enumerate(cycle):
                found[member] = [cycle[(n + k) % len(cycle)] for k in range(min(len(cycle), CYCLE_SHOWN))]
                if len(cycle) > CYCLE_SHOWN:
                    found[member].append(f"... ({len(cycle)} agencies in the cycle)")
    return found


def check_agencies(rows: list[AgencyRow], regions: Mapping[str, Region]) -> tuple[list[Agency], list[Problem]]:
    """The agencies of a file in hierarchy order (parents first), and every problem with its lines."""
    problems: list[Problem] = []

    def bad(row: AgencyRow, message: str) -> None:
        problems.append(Problem(AGENCIES_FILE, row.line, message))

    listed: dict[str, AgencyRow] = {}  # the first line of each id
    code_line: dict[str, int] = {}
    sound: dict[str, AgencyRow] = {}  # lines whose own fields are right, by id
    for row in rows:
        own = _agency_field_problems(row, regions)
        for message in own:
            bad(row, message)
        if row.id in listed:
            bad(row, f"duplicate id {row.id}: already on line {listed[row.id].line}")
            continue
        if row.id == NATIONAL_DESK.id:
            continue  # refused above; the desk's place is not taken
        listed[row.id] = row
        duplicate_code = bool(row.code) and row.code in code_line
        if duplicate_code:
            bad(row, f"duplicate code {row.code}: already on line {code_line[row.code]}")
        code_line.setdefault(row.code, row.line)
        if not own and not duplicate_code:
            sound[row.id] = row

    # Where each line sits, even a line with problems of its own: every bad line is named at once.
    broken: set[str] = set()
    for row in listed.values():
        parent_id = row.parent_id or NATIONAL_DESK.id
        if parent_id == row.id or not AGENCY_ID.match(parent_id):
            continue  # a cycle of one (reported below), or a malformed parent (reported above)
        if parent_id != NATIONAL_DESK.id and parent_id not in listed:
            bad(row, f"unknown parent {parent_id!r}: not in the file, and not the national desk {NATIONAL_DESK.id!r}")
            broken.add(row.id)
            continue
        parent_level = NATIONAL_DESK.level if parent_id == NATIONAL_DESK.id else listed[parent_id].level
        known = parent_id == NATIONAL_DESK.id or parent_level in IMPORTED_LEVELS
        if row.level in PARENT_LEVELS and known and parent_level not in PARENT_LEVELS[row.level]:
            allowed = " or ".join(PARENT_LEVELS[row.level])
            bad(row, f"a {row.level} cannot sit under a {parent_level} ({parent_id}); its parent must be a {allowed}")
            broken.add(row.id)

    # Parents first, from the national desk down; lines under a line in trouble are not reached.
    children: dict[str, list[AgencyRow]] = defaultdict(list)
    for row in sound.values():
        if row.id not in broken:
            children[row.parent_id or NATIONAL_DESK.id].append(row)
    placed: dict[str, Agency] = {NATIONAL_DESK.id: NATIONAL_DESK}
    order: list[Agency] = []
    queue = deque([NATIONAL_DESK.id])
    while queue:
        for row in children.pop(queue.popleft(), []):
            agency, found = _place(row, placed[row.parent_id or NATIONAL_DESK.id], regions)
            for message in found:
                bad(row, message)
            if not found:
                placed[agency.id] = agency
                order.append(agency)
                queue.append(agency.id)

    unreached = [i for i in listed if i not in placed and i not in broken]
    for agency_id, cycle in _cycles(listed, unreached).items():
        back = [] if cycle[-1].startswith("...") else [agency_id]
        bad(listed[agency_id], f"cycle of parents: {' → '.join([*cycle, *back])}")

    government_line: dict[str, tuple[str, int]] = {}
    for agency in order:
        if agency.level in GOVERNMENTS and agency.active:
            if agency.region_code in government_line:
                other, line = government_line[agency.region_code]
                bad(sound[agency.id], f"region {agency.region_code} already has its government {other} (line "
                                      f"{line}); a region has one active government")
            else:
                government_line[agency.region_code] = (agency.id, sound[agency.id].line)
    return order, problems


def check_liaison_officers(rows: list[LiaisonRow], agency_ids: set[str]) -> tuple[list[LiaisonOfficer],
                                                                                     list[Problem]]:
    """The contacts of a liaison officers file, and every problem with its lines."""
    problems: list[Problem] = []
    officers: list[LiaisonOfficer] = []
    first_line: dict[tuple[str, str], int] = {}
    for row in rows:
        found = []
        if not row.agency_id:
            found.append("agency_id is required")
        elif row.agency_id not in agency_ids:
            found.append(f"agency {row.agency_id!r} is not in the agencies file (nor the national desk)")
        for value, what, maximum, required in [(row.name, "name", MAX_NAME, True),
                                               (row.position, "position", MAX_POSITION, False)]:
            if problem := _text_problem(value, what, maximum, required=required):
                found.append(problem)
        if row.email and (len(row.email) > MAX_EMAIL or not EMAIL.match(row.email)):
            found.append(f"email {row.email!r} is not an e-mail address")
        digits = sum(c.isdigit() for c in row.phone)
        if row.phone and (len(row.phone) > MAX_PHONE or not PHONE.match(row.phone)
                          or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]):
            found.append(f"phone {row.phone!r}: {PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits, with an optional "
                         "leading + and spaces, dashes, dots or brackets between them")
        if not row.email and not row.phone:
            found.append("give an e-mail address or a phone number (or both)")
        key = (row.agency_id, row.name.lower())
        if row.name and key in first_line:
            found.append(f"{row.name} is listed twice for {row.agency_id}: already on line {first_line[key]}")
        first_line.setdefault(key, row.line)
        problems += [Problem(LIAISON_OFFICERS_FILE, row.line, message) for message in found]
        if not found:
            officers.append(LiaisonOfficer(row.agency_id, row.name, row.position, row.email, row.phone))
    return officers, problems


def check_directory(agencies: list[AgencyRow], regions: Mapping[str, Region],
                    liaison_officers: list[LiaisonRow] | None = None,
                    reading_problems: Iterable[Problem] = ()) -> Directory:
    """A whole directory checked at once: DirectoryRejected names every bad line of both files and why."""
    problems = list(reading_problems)
    checked, found = check_agencies(agencies, regions)
    problems += found
    officers = None
    if liaison_officers is not None:
        officers, found = check_liaison_officers(liaison_officers,
                                                 {row.id for row in agencies} | {NATIONAL_DESK.id})
        problems += found
    if problems:
        raise DirectoryRejected(problems)
    return Directory(tuple(checked), None if officers is None else tuple(officers))


def hierarchy_order(agencies: Iterable[Agency]) -> list[Agency]:
    """Parents before children, depth first, siblings by level and name: how a file lists a directory."""
    children: dict[str, list[Agency]] = defaultdict(list)
    everyone = list(agencies)
    ids = {a.id for a in everyone}
    for agency in everyone:
        children[agency.parent_id if agency.parent_id in ids else ""].append(agency)
    order, stack = [], sorted(children[""], key=_sibling_order, reverse=True)
    while stack:
        agency = stack.pop()
        order.append(agency)
        stack += sorted(children[agency.id], key=_sibling_order, reverse=True)
    return order


def _sibling_order(agency: Agency) -> tuple:
    return LEVELS.index(agency.level), agency.name, agency.id
