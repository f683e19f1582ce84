"""Use cases of the agency directory: reading it (staff and services), importing it whole from CSV
(the CLI, the demo data, national administrators) and exporting it. Each owns its transaction."""

import base64
import binascii
import hashlib
import json
import logging
from dataclasses import asdict, dataclass

from psycopg_pool import ConnectionPool

from services.plumbing import identity
from services.plumbing.clock import Clock
from services.plumbing.errors import InvalidArgument, NotFound
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.text import has_control_characters
from services.routing import directory_csv, directory_repository, repository
from services.routing.directory_rules import Directory, check_directory, hierarchy_order
from services.routing.domain import LEVELS, NATIONAL_DESK, Agency, AgencyFilter, LiaisonOfficer, check_agency_id
from services.routing.regions import check_region_code

log = logging.getLogger(__name__)

STAFF = (identity.NATIONAL_ADMIN, identity.AGENCY_ADMIN, identity.LIAISON_OFFICER, identity.PROCESS_ANALYST)
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000
MAX_QUERY = 100
MAX_CSV_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class AgencyDetail:
    agency: Agency
    ancestors: tuple[Agency, ...]  # from the top (the national desk) down to its parent
    liaison_officers: tuple[LiaisonOfficer, ...]


@dataclass(frozen=True)
class AgencyPage:
    agencies: tuple[Agency, ...]
    next_page_token: str  # '' on the last page
    total_size: int  # agencies that pass the filter, on every page


@dataclass(frozen=True)
class ImportSummary:
    """What an import changed, or (dry run) would change."""
    dry_run: bool
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    deactivated: tuple[str, ...]  # no longer listed, but assignments or rules name them
    deleted: tuple[str, ...]  # no longer listed, and nothing refers to them
    liaison_officers_imported: bool  # False: the contacts were left as they were
    liaison_officers_added: int
    liaison_officers_changed: int
    liaison_officers_removed: int
    import_id: str = ""  # '' for a dry run, and for an import without a key that changed nothing

    @property
    def changed_anything(self) -> bool:
        return bool(self.added or self.changed or self.deactivated or self.deleted or self.liaison_officers_added
                    or self.liaison_officers_changed or self.liaison_officers_removed)

    def as_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if k != "import_id"}

    @classmethod
    def from_json(cls, import_id: int, data: dict) -> "ImportSummary":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}, import_id=str(import_id))


def ensure_reader(caller: identity.Caller) -> None:
    """Any signed-in staff member and any service reads the directory; reporters do not."""
    if not caller.is_service():
        identity.require_role(caller, *STAFF)


def _page_token(key: tuple[int, str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _after(token: str) -> tuple[int, str, str] | None:
    if not token:
        return None
    try:
        level, name, agency_id = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(level, int) and isinstance(name, str) and isinstance(agency_id, str):
            return level, name, agency_id
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidArgument("page_token", "is not the next_page_token of an earlier page")


def _sha256(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


class DirectoryService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock):
        self.pool = pool
        self.clock = clock

    def agency(self, *, caller: identity.Caller, agency_id: str) -> AgencyDetail:
        """An agency with the agencies above it (for a page that shows the hierarchy) and its contacts."""
        ensure_reader(caller)
        check_agency_id(agency_id, "agency_id")
        with self.pool.connection() as conn:
            found = repository.get_agency(conn, agency_id)
            if found is None:
                raise NotFound(f"no agency {agency_id!r}")
            return AgencyDetail(found, tuple(directory_repository.ancestors(conn, agency_id)),
                                tuple(directory_repository.liaison_officers(conn, agency_id)))

    def agencies(self, *, caller: identity.Caller, filter: AgencyFilter = AgencyFilter(), page_size: int = 0,
                 page_token: str = "") -> AgencyPage:
        """One page of the agencies that pass the filter, the top of the hierarchy first, then by name."""
        ensure_reader(caller)
        self._check_filter(filter)
        if page_size < 0:
            raise InvalidArgument("page_size", f"0 (the default, {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}")
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _after(page_token)
        with self.pool.connection() as conn:
            if filter.parent_id and repository.get_agency(conn, filter.parent_id) is None:
                raise NotFound(f"no agency {filter.parent_id!r}")
            if filter.region_code and repository.get_region(conn, filter.region_code) is None:
                raise NotFound(f"no region {filter.region_code!r} in the reference list")
            rows = directory_repository.list_agencies(conn, filter, after=after, limit=limit + 1)
            total = directory_repository.count_agencies(conn, filter)
        more = len(rows) > limit
        rows = rows[:limit]
        return AgencyPage(tuple(a for a, _ in rows), _page_token(rows[-1][1]) if more else "", total)

    @staticmethod
    def _check_filter(f: AgencyFilter) -> None:
        if f.parent_id:
            check_agency_id(f.parent_id, "parent_id")
        if f.level and f.level not in LEVELS:
            raise InvalidArgument("level", f"one of {', '.join(LEVELS)}, or empty for every level")
        if f.region_code:
            check_region_code(f.region_code, "region_code")
        if len(f.query) > MAX_QUERY or has_control_characters(f.query):
            raise InvalidArgument("query", f"at most {MAX_QUERY} characters, no control characters")

    def import_directory(self, *, caller: identity.Caller, key: str, agencies_csv: bytes,
                         liaison_officers_csv: bytes | None = None, dry_run: bool = False) -> ImportSummary:
        """A national administrator replaces the directory with a file (see `apply`)."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_idempotency_key(key)
        for field, data in [("agencies_csv", agencies_csv), ("liaison_officers_csv", liaison_officers_csv or b"")]:
            if len(data) > MAX_CSV_BYTES:
                raise InvalidArgument(field, f"at most {MAX_CSV_BYTES // (1024 * 1024)} MiB")
        return self.apply(agencies_csv=agencies_csv, liaison_officers_csv=liaison_officers_csv,
                          imported_by=caller.subject, key=key, dry_run=dry_run)

    def apply(self, *, agencies_csv: bytes | str, liaison_officers_csv: bytes | str | None = None,
              imported_by: str, key: str = "", dry_run: bool = False) -> ImportSummary:
        """Makes the directory what the files say, or refuses them whole (DirectoryRejected names every bad
        line) and changes nothing. Agencies are added or rewritten by id; an agency the file no longer
        lists is deleted, or deactivated when an assignment or a rule names it (or one of its kept
        children). The contacts are replaced by the liaison officers file when one is given. The national
        desk is built in and stays. The same files again change nothing; a repeated key returns the first
        answer."""
        agency_rows, problems = directory_csv.read_agencies(agencies_csv)
        liaison_rows = None
        if liaison_officers_csv is not None:
            liaison_rows, more = directory_csv.read_liaison_officers(liaison_officers_csv)
            problems += more
        with self.pool.connection() as conn, conn.transaction():
            if not dry_run:
                directory_repository.lock_directory(conn)
                if key and (earlier := directory_repository.import_by_key(conn, key)) is not None:
                    return ImportSummary.from_json(*earlier)
            regions = {r.code: r for r in repository.list_regions(conn)}
            directory = check_directory(agency_rows, regions, liaison_rows, problems)
            summary = self._write(conn, directory, dry_run=dry_run)
            if not dry_run and (key or summary.changed_anything):
                import_id = directory_repository.record_import(
                    conn, key=key or None, imported_by=imported_by, imported_at=self.clock.now(),
                    agencies_sha256=_sha256(agencies_csv), liaison_officers_sha256=_sha256(liaison_officers_csv),
                    summary=summary.as_json())
                summary = ImportSummary(**{**asdict(summary), "import_id": str(import_id)})
        if summary.changed_anything and not dry_run:
            log.info("directory imported by %s: %d added, %d changed, %d deactivated, %d deleted", imported_by,
                     len(summary.added), len(summary.changed), len(summary.deactivated), len(summary.deleted))
        return summary

    def _write(self, conn, directory: Directory, *, dry_run: bool) -> ImportSummary:
        """Works out what the checked directory changes, and (unless a dry run) changes it."""
        existing = {a.id: a for a in directory_repository.all_agencies(conn)}
        listed = {a.id for a in directory.agencies}
        added = [a for a in directory.agencies if a.id not in existing]
        changed = [a for a in directory.agencies if a.id in existing and existing[a.id] != a]
        missing = sorted(set(existing) - listed - {NATIONAL_DESK.id})
        if not dry_run:
            directory_repository.lock_agencies(conn, missing)
        kept = directory_repository.referenced(conn, missing) if missing else set()
        for agency_id in list(kept):  # an agency kept keeps its parents: a child cannot outlive them
            parent_id = existing[agency_id].parent_id
            while parent_id in missing and parent_id not in kept:
                kept.add(parent_id)
                parent_id = existing[parent_id].parent_id
        deactivated = sorted(i for i in kept if existing[i].active)
        deleted = sorted(set(missing) - kept)

        current = {(o.agency_id, o.name.lower()): o for o in directory_repository.liaison_officers(conn)}
        if directory.liaison_officers is None:
            wanted = {k: o for k, o in current.items() if o.agency_id not in deleted}
        else:
            wanted = {(o.agency_id, o.name.lower()): o for o in directory.liaison_officers}
        officers_added = [o for k, o in wanted.items() if k not in current]
        officers_changed = [o for k, o in wanted.items() if k in current and current[k] != o]
        officers_removed = [o for k, o in current.items() if k not in wanted]

        if not dry_run:
            directory_repository.put_agencies(conn, added + changed)
            directory_repository.deactivate(conn, deactivated)
            directory_repository.remove_liaison_officers(conn, officers_removed)
            directory_repository.delete_agencies(conn, deleted)
            directory_repository.put_liaison_officers(conn, officers_added + officers_changed)
        return ImportSummary(
            dry_run=dry_run, added=tuple(a.id for a in added), changed=tuple(a.id for a in changed),
            unchanged=len(directory.agencies) - len(added) - len(changed), deactivated=tuple(deactivated),
            deleted=tuple(deleted), liaison_officers_imported=directory.liaison_officers is not None,
            liaison_officers_added=len(officers_added), liaison_officers_changed=len(officers_changed),
            liaison_officers_removed=len(officers_removed))

    def export_directory(self, *, caller: identity.Caller) -> tuple[str, str]:
        """The directory as the two files an import takes (national administrators)."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        return self.export_files()

    def export_files(self) -> tuple[str, str]:
        """(agencies file, liaison officers file): importing them again changes nothing."""
        with self.pool.connection() as conn, conn.transaction():
            agencies = [a for a in directory_repository.all_agencies(conn) if a.id != NATIONAL_DESK.id]
            officers = directory_repository.liaison_officers(conn)
        order = hierarchy_order(agencies)
        position = {a.id: n for n, a in enumerate(order)}
        officers.sort(key=lambda o: (position.get(o.agency_id, -1), o.name.lower(), o.name))
        return directory_csv.write_agencies(order), directory_csv.write_liaison_officers(officers)
