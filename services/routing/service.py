"""Routing use cases. Each owns its transaction."""

import logging
from pathlib import Path

from psycopg_pool import ConnectionPool

from services.plumbing import identity, outbox
from services.plumbing.clock import Clock
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.routing import directory_repository, repository
from services.routing.directory_service import DirectoryService
from services.routing.domain import (AGENCY_DECLINED, AGENCY_DISPATCHED, NATIONAL_DESK, Agency, Assignment, MatchedBy,
                                     RoutingRequest, best_rule, check_agency_id, check_decline_reason,
                                     check_dispatch_note, check_request, check_tracking_id, decline_payload,
                                     dispatch_payload, ensure_declinable, ensure_dispatchable, regional_governments)
from services.routing.rules_service import RuleService
from services.routing.regions import (REGIONS_CSV, Region, RegionListError, check_kind, check_parent_code,
                                      check_region_code, read_regions)

log = logging.getLogger(__name__)

SCHEMA = "routing"


def _lock_report(conn, tracking_id: str) -> None:
    """Serialises every change to one report's assignments (assigning and declining alike)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"routing:{tracking_id}",))


class RoutingService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock):
        self.pool = pool
        self.clock = clock
        self.directory = DirectoryService(pool=pool, clock=clock)
        self.rules = RuleService(pool=pool, clock=clock)

    def ensure_national_desk(self) -> None:
        """Makes sure the last resort of routing exists (the migration creates it; this restores it)."""
        with self.pool.connection() as conn, conn.transaction():
            if repository.ensure_national_desk(conn):
                log.warning("the national desk %r was missing from the directory and was restored",
                            NATIONAL_DESK.id)

    def load_regions(self, path: Path = REGIONS_CSV) -> tuple[int, int]:
        """Syncs the reference list of regions from its CSV (at every start): returns (added or
        changed, removed). The file is checked whole before anything is written; loading the same
        file again changes nothing; a list without the region of an agency is refused."""
        listed = read_regions(path)
        with self.pool.connection() as conn, conn.transaction():
            orphans = directory_repository.agencies_in_regions_outside(conn, [r.code for r in listed])
            if orphans:
                raise RegionListError("the list leaves out regions that agencies are in: " + ", ".join(
                    f"{a.region_code} ({a.id})" for a in orphans[:20]) + "; move or remove those agencies first")
            written, removed = repository.sync_regions(conn, listed)
        if written or removed:
            log.info("region list %s: %d regions added or changed, %d removed, %d in all", path.name, written,
                     removed, len(listed))
        return written, removed

    def region(self, *, caller: identity.Caller, code: str) -> Region:
        """A region of the reference list, for any signed-in caller."""
        check_region_code(code, "code")
        with self.pool.connection() as conn:
            found = repository.get_region(conn, code)
        if found is None:
            raise NotFound(f"no region {code!r} in the reference list")
        return found

    def regions(self, *, caller: identity.Caller, parent_code: str = "", kind: str = "") -> list[Region]:
        """The reference list of regions, or the regencies and cities of one province, or one kind."""
        check_parent_code(parent_code)
        check_kind(kind)
        with self.pool.connection() as conn:
            if parent_code and repository.get_region(conn, parent_code) is None:
                raise NotFound(f"no province {parent_code!r} in the reference list")
            return repository.list_regions(conn, parent_code=parent_code, kind=kind)

    def assign(self, *, caller: identity.Caller, key: str, request: RoutingRequest) -> Assignment:
        """Assigns a report to the competent agency, never leaving it unrouted (the lifecycle process does this)."""
        identity.require_service(caller, "sla")
        check_idempotency_key(key)
        check_request(request)
        with self.pool.connection() as conn, conn.transaction():
            _lock_report(conn, request.tracking_id)
            if (earlier := repository.assignment_by_key(conn, key)) is not None:
                return earlier
            agency, matched_by = self._choose(conn, request)
            return repository.add_assignment(conn, key=key, tracking_id=request.tracking_id, agency_id=agency.id,
                                             matched_by=matched_by, assigned_at=self.clock.now())

    def _choose(self, conn, request: RoutingRequest) -> tuple[Agency, MatchedBy]:
        """The fallback chain: the preferred agency, the reporter's suggestion, the best rule, the
        government of the report's region, the national desk. Excluded agencies (those that declined)
        and inactive ones are skipped at every step but the last: the national desk takes whatever no
        one else can."""
        excluded = request.excluded_agency_ids
        if request.preferred_agency_id:
            preferred = repository.get_agency(conn, request.preferred_agency_id)
            if preferred is None:
                raise InvalidArgument("preferred_agency_id", f"no agency {request.preferred_agency_id!r}")
            if preferred.id not in excluded and preferred.active:
                return preferred, MatchedBy.PREFERRED
            if not preferred.active:
                log.warning("report %s: the preferred agency %s is inactive; routing on", request.tracking_id,
                            preferred.id)
        if request.suggested_agency_id and request.suggested_agency_id not in excluded:
            suggested = repository.get_agency(conn, request.suggested_agency_id)
            if suggested is not None and suggested.active:
                return suggested, MatchedBy.SUGGESTED
        if request.category:
            rule = best_rule(repository.rules_for(conn, request.category), request.region_code, excluded)
            if rule is not None:
                return repository.get_agency(conn, rule.agency_id), MatchedBy.RULE
        for region_code, levels in regional_governments(request.region_code):
            if (government := repository.government_of(conn, region_code, levels, excluded)) is not None:
                return government, MatchedBy.REGION
        national = repository.get_agency(conn, NATIONAL_DESK.id)
        if national is None:
            raise FailedPrecondition(f"the national desk {NATIONAL_DESK.id!r} is missing from the agency directory")
        return national, MatchedBy.NATIONAL

    def decline(self, *, caller: identity.Caller, key: str, tracking_id: str, reason: str) -> Assignment:
        """The assigned agency declines the report as not within its authority ("bukan wewenang"); the
        report's process hears of it through the outbox and re-routes it. A repeated key returns the
        declined assignment and changes nothing."""
        identity.require_role(caller, identity.LIAISON_OFFICER, identity.AGENCY_ADMIN)
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        reason = check_decline_reason(reason)
        with self.pool.connection() as conn, conn.transaction():
            _lock_report(conn, tracking_id)
            if (earlier := repository.declined_by_key(conn, tracking_id, key)) is not None:
                _ensure_own(caller, earlier, tracking_id)
                return earlier
            # The active assignment is always the report's newest, so the agency's newest tells
            # whether it holds the report now, held it once (declined or replaced), or never did.
            mine = repository.latest_assignment(conn, tracking_id, caller.agency_id) if caller.agency_id else None
            _ensure_own(caller, mine, tracking_id)
            ensure_declinable(mine)
            declined = repository.decline(conn, mine.id, key=key, reason=reason, declined_at=self.clock.now(),
                                          declined_by=caller.subject)
            outbox.add(conn, SCHEMA, kind=AGENCY_DECLINED, tracking_id=tracking_id, payload=decline_payload(declined))
            log.info("agency %s declined report %s", declined.agency.id, tracking_id)
            return declined

    def dispatch(self, *, caller: identity.Caller, key: str, tracking_id: str, agency_id: str,
                 note: str = "") -> Assignment:
        """An agency administrator hands a report their agency holds to an agency directly under it (its
        unit: disposisi), with an optional instruction. The unit's assignment replaces the agency's; the
        report's process hears of it through the outbox and forwards the report to the unit, whose
        deadline is the one the agency had. A repeated key returns the dispatch and changes nothing."""
        identity.require_role(caller, identity.AGENCY_ADMIN)
        check_idempotency_key(key)
        check_tracking_id(tracking_id)
        check_agency_id(agency_id, "agency_id")
        note = check_dispatch_note(note)
        with self.pool.connection() as conn, conn.transaction():
            _lock_report(conn, tracking_id)
            if (earlier := repository.assignment_by_key(conn, key)) is not None:
                if earlier.tracking_id != tracking_id or earlier.matched_by is not MatchedBy.DISPATCH:
                    raise InvalidArgument("idempotency_key", "was already used for another request")
                if earlier.dispatched_by != caller.subject:
                    raise PermissionDenied(f"report {tracking_id} was dispatched by someone else with this key")
                return earlier
            held = repository.latest_assignment(conn, tracking_id, caller.agency_id) if caller.agency_id else None
            _ensure_own(caller, held, tracking_id)
            unit = ensure_dispatchable(held, repository.get_agency(conn, agency_id), agency_id,
                                       repository.declining_agencies(conn, tracking_id))
            dispatched = repository.add_assignment(conn, key=key, tracking_id=tracking_id, agency_id=unit.id,
                                                   matched_by=MatchedBy.DISPATCH, assigned_at=self.clock.now(),
                                                   dispatched_by=caller.subject, dispatch_note=note)
            outbox.add(conn, SCHEMA, kind=AGENCY_DISPATCHED, tracking_id=tracking_id,
                       payload=dispatch_payload(dispatched, held.agency.id))
            log.info("agency %s dispatched report %s to %s", held.agency.id, tracking_id, unit.id)
            return dispatched

    def assignment(self, *, caller: identity.Caller, tracking_id: str) -> Assignment:
        """The report's current (active) assignment: for services, national administrators and process
        analysts, the reporter who proved access to it, and the staff of the agency that holds it (refused
        alike when it holds none, so that other agencies learn nothing of the report)."""
        check_tracking_id(tracking_id)
        if not may_read_assignments(caller, tracking_id):
            raise PermissionDenied(f"you may not see the assignment of report {tracking_id}")
        with self.pool.connection() as conn:
            found = repository.active_assignment(conn, tracking_id)
            latest = repository.latest_assignment(conn, tracking_id) if found is None else None
        if caller.role in AGENCY_STAFF:
            _ensure_own(caller, found, tracking_id)
        if found is not None:
            return found
        if latest is not None and latest.declined:
            raise NotFound(f"report {tracking_id} has no active assignment: {latest.agency.id} declined it and it "
                           "awaits re-routing")
        raise NotFound(f"report {tracking_id} has not been assigned to an agency")


AGENCY_STAFF = frozenset({identity.AGENCY_ADMIN, identity.LIAISON_OFFICER})
SEES_EVERY_ASSIGNMENT = frozenset({identity.SERVICE, identity.NATIONAL_ADMIN, identity.PROCESS_ANALYST})


def may_read_assignments(caller: identity.Caller, tracking_id: str) -> bool:
    """Whether `caller` may ask for report `tracking_id`'s assignment at all; agency staff then only
    see it while their agency holds it (`_ensure_own`)."""
    return (caller.role in SEES_EVERY_ASSIGNMENT or caller.role in AGENCY_STAFF
            or (caller.role == identity.REPORTER and caller.subject == tracking_id))


def _ensure_own(caller: identity.Caller, assignment: Assignment | None, tracking_id: str) -> None:
    """Agency staff act only on their own agency's assignments."""
    if assignment is None or not caller.agency_id or assignment.agency.id != caller.agency_id:
        raise PermissionDenied(f"report {tracking_id} is not assigned to your agency")
