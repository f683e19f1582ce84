"""SQL of the routing schema. Every function takes an open connection."""

from datetime import datetime

from services.routing.domain import NATIONAL_DESK, Agency, Assignment, MatchedBy, Rule
from services.routing.regions import Region

# The agency's `active` is renamed: an assignment, selected beside it, has an `active` of its own.
AGENCY_COLUMNS = ("a.id, a.code, a.name, a.parent_id, a.level, a.region_code, a.timezone, "
                  "a.active AS agency_active")


def agency_of(row) -> Agency:
    """An agency from a row of AGENCY_COLUMNS (NULL parent and region read as '')."""
    return Agency(row["id"], row["code"], row["name"], row["parent_id"] or "", row["level"], row["region_code"] or "",
                  row["timezone"], row["agency_active"])


def _rule(row) -> Rule:
    return Rule(row["id"], row["category"], row["region_prefix"], row["agency_id"], row["priority"])


def _assignment(row) -> Assignment:
    return Assignment(str(row["assignment_id"]), row["tracking_id"], agency_of(row), MatchedBy(row["matched_by"]),
                      row["assigned_at"], row["active"], row["declined_reason"] or "", row["declined_at"],
                      row["declined_by"] or "", row["dispatched_by"] or "", row["dispatch_note"] or "")


def get_agency(conn, agency_id: str) -> Agency | None:
    row = conn.execute(f"SELECT {AGENCY_COLUMNS} FROM routing.agencies a WHERE a.id = %s", (agency_id,)).fetchone()
    return agency_of(row) if row else None


def put_agency(conn, agency: Agency) -> None:
    """Adds an agency, or updates the one with its id (unchecked: the directory import checks a whole file)."""
    conn.execute(
        "INSERT INTO routing.agencies (id, code, name, parent_id, level, region_code, timezone, active) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, "
        "name = EXCLUDED.name, parent_id = EXCLUDED.parent_id, level = EXCLUDED.level, "
        "region_code = EXCLUDED.region_code, timezone = EXCLUDED.timezone, active = EXCLUDED.active",
        (agency.id, agency.code, agency.name, agency.parent_id or None, agency.level, agency.region_code or None,
         agency.timezone, agency.active),
    )


def ensure_national_desk(conn) -> bool:
    """Puts the national desk back if it is missing; True when it had to."""
    desk = NATIONAL_DESK
    row = conn.execute(
        "INSERT INTO routing.agencies (id, code, name, parent_id, level, region_code, timezone) "
        "VALUES (%s, %s, %s, NULL, %s, NULL, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
        (desk.id, desk.code, desk.name, desk.level, desk.timezone),
    ).fetchone()
    return row is not None


def rules_for(conn, category: str) -> list[Rule]:
    """The rules of a category that name an active agency: a rule naming an inactive one is passed over."""
    rows = conn.execute("SELECT r.* FROM routing.rules r JOIN routing.agencies a ON a.id = r.agency_id "
                        "WHERE r.category = %s AND a.active ORDER BY r.id", (category,)).fetchall()
    return [_rule(r) for r in rows]


def government_of(conn, region_code: str, levels: tuple[str, ...], excluded: frozenset[str]) -> Agency | None:
    """The active agency of one of `levels` that governs exactly `region_code`, not excluded."""
    row = conn.execute(
        f"SELECT {AGENCY_COLUMNS} FROM routing.agencies a WHERE a.region_code = %s AND a.level = ANY(%s) "
        "AND a.active AND NOT (a.id = ANY(%s)) ORDER BY a.id LIMIT 1",
        (region_code, list(levels), list(excluded)),
    ).fetchone()
    return agency_of(row) if row else None


_ASSIGNMENT = ("SELECT s.id AS assignment_id, s.tracking_id, s.matched_by, s.assigned_at, s.active, "
               f"s.declined_reason, s.declined_at, s.declined_by, s.dispatched_by, s.dispatch_note, {AGENCY_COLUMNS} "
               "FROM routing.assignments s JOIN routing.agencies a ON a.id = s.agency_id")


def assignment_by_key(conn, key: str) -> Assignment | None:
    row = conn.execute(f"{_ASSIGNMENT} WHERE s.idempotency_key = %s", (key,)).fetchone()
    return _assignment(row) if row else None


def active_assignment(conn, tracking_id: str) -> Assignment | None:
    row = conn.execute(f"{_ASSIGNMENT} WHERE s.tracking_id = %s AND s.active", (tracking_id,)).fetchone()
    return _assignment(row) if row else None


def add_assignment(conn, *, key: str, tracking_id: str, agency_id: str, matched_by: MatchedBy,
                   assigned_at: datetime, dispatched_by: str | None = None, dispatch_note: str = "") -> Assignment:
    """Records the report's new assignment; the one before it stops being active."""
    conn.execute("UPDATE routing.assignments SET active = false WHERE tracking_id = %s AND active", (tracking_id,))
    row = conn.execute(
        "INSERT INTO routing.assignments (idempotency_key, tracking_id, agency_id, matched_by, assigned_at, active, "
        "dispatched_by, dispatch_note) VALUES (%s, %s, %s, %s, %s, true, %s, %s) RETURNING id",
        (key, tracking_id, agency_id, matched_by.value, assigned_at, dispatched_by, dispatch_note or None),
    ).fetchone()
    return assignment_by_id(conn, row["id"])


def assignment_by_id(conn, assignment_id: int | str) -> Assignment:
    return _assignment(conn.execute(f"{_ASSIGNMENT} WHERE s.id = %s", (int(assignment_id),)).fetchone())


def latest_assignment(conn, tracking_id: str, agency_id: str | None = None) -> Assignment | None:
    """The report's newest assignment, or its newest one to `agency_id`, active or not."""
    where, params = ("AND s.agency_id = %s", [agency_id]) if agency_id else ("", [])
    row = conn.execute(f"{_ASSIGNMENT} WHERE s.tracking_id = %s {where} ORDER BY s.id DESC LIMIT 1",
                       (tracking_id, *params)).fetchone()
    return _assignment(row) if row else None


def declining_agencies(conn, tracking_id: str) -> set[str]:
    """The agencies that declined the report."""
    rows = conn.execute("SELECT DISTINCT agency_id FROM routing.assignments WHERE tracking_id = %s "
                        "AND declined_at IS NOT NULL", (tracking_id,)).fetchall()
    return {r["agency_id"] for r in rows}


def declined_by_key(conn, tracking_id: str, key: str) -> Assignment | None:
    """The assignment of the report that a decline with idempotency key `key` declined."""
    row = conn.execute(f"{_ASSIGNMENT} WHERE s.tracking_id = %s AND s.declined_key = %s",
                       (tracking_id, key)).fetchone()
    return _assignment(row) if row else None


def decline(conn, assignment_id: str, *, key: str, reason: str, declined_at: datetime,
            declined_by: str) -> Assignment:
    """Marks an active assignment declined: it stops being active and keeps why, when and by whom."""
    row = conn.execute(
        "UPDATE routing.assignments SET active = false, declined_key = %s, declined_reason = %s, "
        "declined_at = %s, declined_by = %s WHERE id = %s AND active RETURNING id",
        (key, reason, declined_at, declined_by, int(assignment_id)),
    ).fetchone()
    if row is None:
        raise RuntimeError(f"assignment {assignment_id} is no longer active: the caller must hold the report's lock")
    return assignment_by_id(conn, row["id"])


_REGION = "r.code, r.name, r.kind, r.parent_code, r.timezone"


def _region(row) -> Region:
    return Region(row["code"], row["name"], row["kind"], row["parent_code"] or "", row["timezone"])


def sync_regions(conn, regions: list[Region]) -> tuple[int, int]:
    """Makes routing.regions hold exactly `regions`: adds the new ones, rewrites only the ones that
    changed, removes the ones no longer listed. Returns (added or changed, removed); a second sync
    of the same list returns (0, 0) and touches no row. Concurrent syncs (replicas starting
    together) take turns."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('routing:regions'))")
    columns = list(zip(*[(r.code, r.name, r.kind, r.parent_code, r.timezone) for r in regions])) or [[]] * 5
    written = conn.execute(
        "INSERT INTO routing.regions AS r (code, name, kind, parent_code, timezone) "
        "SELECT code, name, kind, NULLIF(parent, ''), tz "
        "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[]) AS l(code, name, kind, parent, tz) "
        "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, "
        "parent_code = EXCLUDED.parent_code, timezone = EXCLUDED.timezone "
        "WHERE (r.name, r.kind, r.parent_code, r.timezone) IS DISTINCT FROM "
        "(EXCLUDED.name, EXCLUDED.kind, EXCLUDED.parent_code, EXCLUDED.timezone)",
        [list(c) for c in columns]).rowcount
    removed = conn.execute("DELETE FROM routing.regions WHERE NOT (code = ANY(%s))",
                           ([r.code for r in regions],)).rowcount
    return written, removed


def get_region(conn, code: str) -> Region | None:
    row = conn.execute(f"SELECT {_REGION} FROM routing.regions r WHERE r.code = %s", (code,)).fetchone()
    return _region(row) if row else None


def list_regions(conn, *, parent_code: str = "", kind: str = "") -> list[Region]:
    """Every region, or those under a province, or of one kind; ordered by code."""
    where, params = [], []
    if parent_code:
        where.append("r.parent_code = %s")
        params.append(parent_code)
    if kind:
        where.append("r.kind = %s")
        params.append(kind)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(f"SELECT {_REGION} FROM routing.regions r {clause} ORDER BY r.code", params).fetchall()
    return [_region(r) for r in rows]
