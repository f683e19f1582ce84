"""Routing use cases. Each owns its transaction."""

import logging

from psycopg_pool import ConnectionPool

from services.plumbing import identity
from services.plumbing.clock import Clock
from services.plumbing.identifiers import check_idempotency_key
from services.plumbing.errors import FailedPrecondition, InvalidArgument, NotFound
from services.routing import repository
from services.routing.domain import (NATIONAL_DESK, Agency, Assignment, MatchedBy, RoutingRequest, best_rule,
                                     check_agency_id, check_request, check_tracking_id,
                                     regional_governments)

log = logging.getLogger(__name__)


class RoutingService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock):
        self.pool = pool
        self.clock = clock

    def ensure_national_desk(self) -> None:
        """Makes sure the last resort of routing exists (the migration creates it; this restores it)."""
        with self.pool.connection() as conn, conn.transaction():
            if repository.ensure_national_desk(conn):
                log.warning("the national desk %r was missing from the directory and was restored",
                            NATIONAL_DESK.id)

    def assign(self, *, caller: identity.Caller, key: str, request: RoutingRequest) -> Assignment:
        """Assigns a report to the competent agency, never leaving it unrouted (the lifecycle process does this)."""
        identity.require_service(caller, "sla")
        check_idempotency_key(key)
        check_request(request)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"routing:{request.tracking_id}",))
            if (earlier := repository.assignment_by_key(conn, key)) is not None:
                return earlier
            agency, matched_by = self._choose(conn, request)
            return repository.add_assignment(conn, key=key, tracking_id=request.tracking_id, agency_id=agency.id,
                                             matched_by=matched_by, assigned_at=self.clock.now())

    def _choose(self, conn, request: RoutingRequest) -> tuple[Agency, MatchedBy]:
        """The fallback chain: the preferred agency, the best rule, the government of the report's
        region, the national desk. Excluded agencies (those that declined) are skipped at every step
        but the last: the national desk takes whatever no one else can."""
        excluded = request.excluded_agency_ids
        if request.preferred_agency_id:
            preferred = repository.get_agency(conn, request.preferred_agency_id)
            if preferred is None:
                raise InvalidArgument("preferred_agency_id", f"no agency {request.preferred_agency_id!r}")
            if preferred.id not in excluded:
                return preferred, MatchedBy.PREFERRED
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

    def assignment(self, *, caller: identity.Caller, tracking_id: str) -> Assignment:
        """The report's current assignment."""
        check_tracking_id(tracking_id)
        with self.pool.connection() as conn:
            found = repository.active_assignment(conn, tracking_id)
        if found is None:
            raise NotFound(f"report {tracking_id} has not been assigned to an agency")
        return found

    def agency(self, *, caller: identity.Caller, agency_id: str) -> Agency:
        check_agency_id(agency_id, "agency_id")
        with self.pool.connection() as conn:
            found = repository.get_agency(conn, agency_id)
        if found is None:
            raise NotFound(f"no agency {agency_id!r}")
        return found

    def agencies(self, *, caller: identity.Caller, parent_id: str = "") -> list[Agency]:
        """The whole directory, or the agencies directly under `parent_id`."""
        with self.pool.connection() as conn:
            if parent_id:
                check_agency_id(parent_id, "parent_id")
                if repository.get_agency(conn, parent_id) is None:
                    raise NotFound(f"no agency {parent_id!r}")
            return repository.list_agencies(conn, parent_id)
