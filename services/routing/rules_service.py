"""Use cases of the routing rules: any staff member or service reads them, national administrators
change them, the demo data adds its own. Each owns its transaction, and every change is recorded in
routing.rule_changes with who made it and when.

A rule is checked against what routing will do with it: its category is one reports carry, its region
is on the reference list (or it covers any region), its agency is in the directory and active (routing
passes over an inactive one), and no other rule has the same category and region (the longest
matching region decides, so two would leave the choice to chance)."""

import base64
import binascii
import json
import logging
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from services.plumbing import identity
from services.plumbing.clock import Clock
from services.plumbing.errors import FailedPrecondition, InvalidArgument, NotFound
from services.plumbing.identifiers import check_idempotency_key
from services.routing import repository, rules_repository
from services.routing.directory_service import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ensure_reader
from services.routing.domain import Rule, RuleDraft, RuleFilter, check_agency_id, check_category, check_rule_draft
from services.routing.regions import check_region_code

log = logging.getLogger(__name__)

CREATE, UPDATE, DELETE = "create", "update", "delete"


@dataclass(frozen=True)
class RulePage:
    rules: tuple[Rule, ...]
    next_page_token: str  # '' on the last page
    total_size: int  # rules that pass the filter, on every page


def _page_token(rule: Rule) -> str:
    return base64.urlsafe_b64encode(json.dumps([rule.category, rule.region_prefix]).encode()).decode().rstrip("=")


def _after(token: str) -> tuple[str, str] | None:
    if not token:
        return None
    try:
        category, region = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(category, str) and isinstance(region, str):
            return category, region
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidArgument("page_token", "is not the next_page_token of an earlier page")


def rule_id_of(value: str) -> int:
    """A rule's id as the API carries it (digits)."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidArgument("rule_id", "is required: the id of a rule, such as 12")
    return int(value)


class RuleService:
    def __init__(self, *, pool: ConnectionPool, clock: Clock):
        self.pool = pool
        self.clock = clock

    def rules(self, *, caller: identity.Caller, filter: RuleFilter = RuleFilter(), page_size: int = 0,
              page_token: str = "") -> RulePage:
        """One page of the rules that pass the filter, by category then region (any region first)."""
        ensure_reader(caller)
        if filter.category:
            check_category(filter.category)
        if filter.region_code:
            check_region_code(filter.region_code, "region_code")
        if filter.agency_id:
            check_agency_id(filter.agency_id, "agency_id")
        if page_size < 0:
            raise InvalidArgument("page_size", f"0 (the default, {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}")
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _after(page_token)
        with self.pool.connection() as conn:
            found = rules_repository.list_rules(conn, filter, after=after, limit=limit + 1)
            total = rules_repository.count_rules(conn, filter)
        more = len(found) > limit
        found = found[:limit]
        return RulePage(tuple(found), _page_token(found[-1]) if more else "", total)

    def rule(self, *, caller: identity.Caller, rule_id: str) -> Rule:
        ensure_reader(caller)
        number = rule_id_of(rule_id)
        with self.pool.connection() as conn:
            found = rules_repository.get_rule(conn, number)
        if found is None:
            raise NotFound(f"no rule {rule_id}")
        return found

    def create(self, *, caller: identity.Caller, key: str, draft: RuleDraft) -> Rule:
        """A national administrator adds a rule."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_idempotency_key(key)
        check_rule_draft(draft)
        with self.pool.connection() as conn, conn.transaction():
            rules_repository.lock_rules(conn)
            if (earlier := _earlier(conn, key, CREATE)) is not None:
                return earlier
            _check_against_the_directory(conn, draft)
            now = self.clock.now()
            added = rules_repository.add_rule(conn, draft, changed_by=caller.subject, changed_at=now)
            if added is None:
                raise _taken(rules_repository.rule_of(conn, draft.category, draft.region_prefix))
            rules_repository.record_change(conn, key=key, action=CREATE, rule=added, changed_by=caller.subject,
                                           changed_at=now)
        log.info("rule %s added by %s: %s from %r to %s", added.id, caller.subject, added.category,
                 added.region_prefix, added.agency_id)
        return added

    def update(self, *, caller: identity.Caller, key: str, rule_id: str, draft: RuleDraft) -> Rule:
        """A national administrator rewrites a rule's category, region and agency."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_idempotency_key(key)
        number = rule_id_of(rule_id)
        check_rule_draft(draft)
        with self.pool.connection() as conn, conn.transaction():
            rules_repository.lock_rules(conn)
            if (earlier := _earlier(conn, key, UPDATE)) is not None:
                return earlier
            if rules_repository.get_rule(conn, number) is None:
                raise NotFound(f"no rule {rule_id}")
            _check_against_the_directory(conn, draft)
            other = rules_repository.rule_of(conn, draft.category, draft.region_prefix)
            if other is not None and other.id != number:
                raise _taken(other)
            now = self.clock.now()
            updated = rules_repository.update_rule(conn, number, draft, changed_by=caller.subject, changed_at=now)
            rules_repository.record_change(conn, key=key, action=UPDATE, rule=updated, changed_by=caller.subject,
                                           changed_at=now)
        log.info("rule %s changed by %s: %s from %r to %s", updated.id, caller.subject, updated.category,
                 updated.region_prefix, updated.agency_id)
        return updated

    def delete(self, *, caller: identity.Caller, key: str, rule_id: str) -> Rule:
        """A national administrator removes a rule; the answer is the rule as it was."""
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        check_idempotency_key(key)
        number = rule_id_of(rule_id)
        with self.pool.connection() as conn, conn.transaction():
            rules_repository.lock_rules(conn)
            if (earlier := _earlier(conn, key, DELETE)) is not None:
                return earlier
            gone = rules_repository.get_rule(conn, number)
            if gone is None:
                raise NotFound(f"no rule {rule_id}")
            rules_repository.delete_rule(conn, number)
            rules_repository.record_change(conn, key=key, action=DELETE, rule=gone, changed_by=caller.subject,
                                           changed_at=self.clock.now())
        log.info("rule %s deleted by %s: %s from %r to %s", gone.id, caller.subject, gone.category,
                 gone.region_prefix, gone.agency_id)
        return gone

    def add_missing(self, drafts: list[RuleDraft], *, changed_by: str) -> int:
        """Adds the rules whose category and region have none yet (the demo data, at every start): a rule
        a national administrator changed stays as they left it, and adding again changes nothing.
        Returns how many were added."""
        added = 0
        with self.pool.connection() as conn, conn.transaction():
            rules_repository.lock_rules(conn)
            now = self.clock.now()
            for draft in map(check_rule_draft, drafts):
                _check_against_the_directory(conn, draft)
                rule = rules_repository.add_rule(conn, draft, changed_by=changed_by, changed_at=now)
                if rule is not None:
                    rules_repository.record_change(conn, key=None, action=CREATE, rule=rule, changed_by=changed_by,
                                                   changed_at=now)
                    added += 1
        return added


def _earlier(conn, key: str, action: str) -> Rule | None:
    """The answer to an earlier change with the same key; a key is one change's, of one kind."""
    earlier = rules_repository.change_by_key(conn, key)
    if earlier is None:
        return None
    if earlier[0] != action:
        raise InvalidArgument("idempotency_key", f"was used for another change (a {earlier[0]} of rule "
                                                 f"{earlier[1].id}); send a new key")
    return earlier[1]


def _check_against_the_directory(conn, draft: RuleDraft) -> None:
    if draft.region_prefix and repository.get_region(conn, draft.region_prefix) is None:
        raise InvalidArgument("region_code", f"{draft.region_prefix!r} is not on the reference list of regions")
    agency = repository.get_agency(conn, draft.agency_id)
    if agency is None:
        raise InvalidArgument("agency_id", f"no agency {draft.agency_id!r} in the directory")
    if not agency.active:
        raise FailedPrecondition(f"agency_id: {agency.id} is inactive, and routing never chooses an inactive "
                                 "agency; name an active one", field="agency_id")


def _taken(other: Rule) -> FailedPrecondition:
    where = f"region {other.region_prefix}" if other.region_prefix else "any region"
    return FailedPrecondition(f"region_code: rule {other.id} already sends {other.category} reports from {where} to "
                              f"{other.agency_id}; change or delete that rule instead", field="region_code")
