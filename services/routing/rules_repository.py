"""SQL of the routing rules as national administrators manage them: listing and paging, the writes, and
the record of every change. Every function takes an open connection. (Routing itself reads the rules
of a category with repository.rules_for.)"""

from datetime import datetime

from services.routing.domain import Rule, RuleDraft, RuleFilter

_RULE = ("SELECT r.id, r.category, r.region_prefix, r.agency_id, r.priority, r.changed_by, r.changed_at, "
         "a.name AS agency_name, a.active AS agency_active "
         "FROM routing.rules r JOIN routing.agencies a ON a.id = r.agency_id")


def _rule(row) -> Rule:
    return Rule(row["id"], row["category"], row["region_prefix"], row["agency_id"], row["priority"],
                row["agency_name"], row["agency_active"], row["changed_by"], row["changed_at"])


def _where(f: RuleFilter) -> tuple[str, dict]:
    clauses, params = ["true"], {}
    if f.category:
        clauses.append("r.category = %(category)s")
        params["category"] = f.category
    if f.region_code:
        clauses.append("r.region_prefix LIKE %(region)s")
        params["region"] = f.region_code + "%"
    if f.agency_id:
        clauses.append("r.agency_id = %(agency_id)s")
        params["agency_id"] = f.agency_id
    return " AND ".join(clauses), params


def list_rules(conn, f: RuleFilter, *, after: tuple[str, str] | None = None, limit: int = 100) -> list[Rule]:
    """The rules that pass the filter, by category then region (any region first)."""
    where, params = _where(f)
    if after is not None:
        where += " AND (r.category, r.region_prefix) > (%(after_category)s, %(after_region)s)"
        params |= {"after_category": after[0], "after_region": after[1]}
    rows = conn.execute(f"{_RULE} WHERE {where} ORDER BY r.category, r.region_prefix LIMIT %(limit)s",
                        params | {"limit": limit}).fetchall()
    return [_rule(r) for r in rows]


def count_rules(conn, f: RuleFilter) -> int:
    where, params = _where(f)
    return conn.execute(f"SELECT count(*) AS n FROM routing.rules r WHERE {where}", params).fetchone()["n"]


def get_rule(conn, rule_id: int) -> Rule | None:
    row = conn.execute(f"{_RULE} WHERE r.id = %s", (rule_id,)).fetchone()
    return _rule(row) if row else None


def rule_of(conn, category: str, region_prefix: str) -> Rule | None:
    """The rule of a category and region, if there is one."""
    row = conn.execute(f"{_RULE} WHERE r.category = %s AND r.region_prefix = %s", (category, region_prefix)).fetchone()
    return _rule(row) if row else None


def lock_rules(conn) -> None:
    """Rule changes take turns, so that the one-rule-per-category-and-region check holds."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('routing:rules'))")


def add_rule(conn, draft: RuleDraft, *, changed_by: str, changed_at: datetime) -> Rule | None:
    """Adds a rule; None when the category and region already have one (it is left as it is)."""
    row = conn.execute(
        "INSERT INTO routing.rules (category, region_prefix, agency_id, changed_by, changed_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (category, region_prefix) DO NOTHING RETURNING id",
        (draft.category, draft.region_prefix, draft.agency_id, changed_by, changed_at)).fetchone()
    return get_rule(conn, row["id"]) if row else None


def update_rule(conn, rule_id: int, draft: RuleDraft, *, changed_by: str, changed_at: datetime) -> Rule:
    conn.execute("UPDATE routing.rules SET category = %s, region_prefix = %s, agency_id = %s, changed_by = %s, "
                 "changed_at = %s WHERE id = %s",
                 (draft.category, draft.region_prefix, draft.agency_id, changed_by, changed_at, rule_id))
    return get_rule(conn, rule_id)


def delete_rule(conn, rule_id: int) -> None:
    conn.execute("DELETE FROM routing.rules WHERE id = %s", (rule_id,))


def record_change(conn, *, key: str | None, action: str, rule: Rule, changed_by: str, changed_at: datetime) -> None:
    """Keeps a change in the rule's history: what the rule became (create, update) or was (delete)."""
    conn.execute(
        "INSERT INTO routing.rule_changes (idempotency_key, rule_id, action, category, region_prefix, agency_id, "
        "changed_by, changed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (key, rule.id, action, rule.category, rule.region_prefix, rule.agency_id, changed_by, changed_at))


def change_by_key(conn, key: str) -> tuple[str, Rule] | None:
    """The change made with idempotency key `key`: its action and the rule it answered with."""
    row = conn.execute(
        "SELECT c.action, c.rule_id AS id, c.category, c.region_prefix, c.agency_id, 0 AS priority, c.changed_by, "
        "c.changed_at, coalesce(a.name, '') AS agency_name, coalesce(a.active, false) AS agency_active "
        "FROM routing.rule_changes c LEFT JOIN routing.agencies a ON a.id = c.agency_id "
        "WHERE c.idempotency_key = %s", (key,)).fetchone()
    return (row["action"], _rule(row)) if row else None

