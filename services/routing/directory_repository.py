"""SQL of the agency directory: listing and paging, ancestors, liaison officers, and the writes of an
import. Every function takes an open connection."""

import json
from datetime import datetime

from services.routing.domain import LEVELS, NATIONAL_DESK, Agency, AgencyFilter, LiaisonOfficer
from services.routing.repository import AGENCY_COLUMNS, agency_of

_SORT_KEY = "array_position(%(levels)s::text[], a.level), a.name, a.id"


def _where(f: AgencyFilter) -> tuple[str, dict]:
    clauses, params = ["true"], {"levels": list(LEVELS)}
    if f.parent_id:
        clauses.append("a.parent_id = %(parent_id)s")
        params["parent_id"] = f.parent_id
    if f.level:
        clauses.append("a.level = %(level)s")
        params["level"] = f.level
    if f.region_code:
        clauses.append("a.region_code LIKE %(region)s")
        params["region"] = f.region_code + "%"
    if f.query:
        clauses.append("(a.name ILIKE %(query)s OR a.code ILIKE %(query)s OR a.id ILIKE %(query)s)")
        params["query"] = "%" + f.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if f.active is not None:
        clauses.append("a.active = %(active)s")
        params["active"] = f.active
    return " AND ".join(clauses), params


def list_agencies(conn, f: AgencyFilter, *, after: tuple[int, str, str] | None = None,
                  limit: int = 100) -> list[tuple[Agency, tuple[int, str, str]]]:
    """The agencies that pass the filter, the top of the hierarchy first, then by name; each with its
    sort key (level position, name, id), the page token of the page that follows it."""
    where, params = _where(f)
    if after is not None:
        where += f" AND ({_SORT_KEY}) > (%(after_level)s, %(after_name)s, %(after_id)s)"
        params |= {"after_level": after[0], "after_name": after[1], "after_id": after[2]}
    rows = conn.execute(
        f"SELECT {AGENCY_COLUMNS}, array_position(%(levels)s::text[], a.level) AS level_position "
        f"FROM routing.agencies a WHERE {where} ORDER BY {_SORT_KEY} LIMIT %(limit)s",
        params | {"limit": limit}).fetchall()
    return [(agency_of(r), (r["level_position"], r["name"], r["id"])) for r in rows]


def count_agencies(conn, f: AgencyFilter) -> int:
    where, params = _where(f)
    return conn.execute(f"SELECT count(*) AS n FROM routing.agencies a WHERE {where}", params).fetchone()["n"]


def all_agencies(conn) -> list[Agency]:
    return [agency_of(r) for r in conn.execute(f"SELECT {AGENCY_COLUMNS} FROM routing.agencies a ORDER BY a.id")]


def ancestors(conn, agency_id: str) -> list[Agency]:
    """The agencies above one, from the top (the national desk) down to its parent."""
    rows = conn.execute(
        "WITH RECURSIVE up(id, depth) AS ("
        "  SELECT parent_id, 1 FROM routing.agencies WHERE id = %s AND parent_id IS NOT NULL"
        "  UNION ALL SELECT p.parent_id, up.depth + 1 FROM up JOIN routing.agencies p ON p.id = up.id"
        "  WHERE p.parent_id IS NOT NULL AND up.depth < 100) "
        f"SELECT {AGENCY_COLUMNS} FROM up JOIN routing.agencies a ON a.id = up.id ORDER BY up.depth DESC",
        (agency_id,)).fetchall()
    return [agency_of(r) for r in rows]


def _officer(row) -> LiaisonOfficer:
    return LiaisonOfficer(row["agency_id"], row["name"], row["position"], row["email"], row["phone"])


def liaison_officers(conn, agency_id: str | None = None) -> list[LiaisonOfficer]:
    """The contacts of one agency, or of every agency; by agency, then by name."""
    where, params = ("WHERE agency_id = %s", (agency_id,)) if agency_id else ("", ())
    rows = conn.execute(f"SELECT agency_id, name, position, email, phone FROM routing.liaison_officers {where} "
                        "ORDER BY agency_id, lower(name), id", params).fetchall()
    return [_officer(r) for r in rows]


def lock_directory(conn) -> None:
    """Imports take turns."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('routing:directory'))")


def lock_agencies(conn, ids: list[str]) -> None:
    """Holds agencies about to be removed: an assignment to one of them waits until this transaction ends."""
    conn.execute("SELECT id FROM routing.agencies WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,))


def referenced(conn, ids: list[str]) -> set[str]:
    """The agencies among `ids` that an assignment or a rule names."""
    rows = conn.execute("SELECT agency_id FROM routing.assignments WHERE agency_id = ANY(%(ids)s) "
                        "UNION SELECT agency_id FROM routing.rules WHERE agency_id = ANY(%(ids)s)", {"ids": ids})
    return {r["agency_id"] for r in rows}


def put_agencies(conn, agencies: list[Agency]) -> None:
    """Adds or rewrites agencies in one statement (foreign keys are checked at its end, so a parent
    may come after its child)."""
    if not agencies:
        return
    columns = list(zip(*[(a.id, a.code, a.name, a.parent_id, a.level, a.region_code, a.timezone, a.active)
                         for a in agencies]))
    conn.execute(
        "INSERT INTO routing.agencies AS a (id, code, name, parent_id, level, region_code, timezone, active) "
        "SELECT id, code, name, NULLIF(parent, ''), level, NULLIF(region, ''), tz, active FROM unnest("
        "%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[]) "
        "AS l(id, code, name, parent, level, region, tz, active) "
        "ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name, parent_id = EXCLUDED.parent_id, "
        "level = EXCLUDED.level, region_code = EXCLUDED.region_code, timezone = EXCLUDED.timezone, "
        "active = EXCLUDED.active", [list(c) for c in columns])


def deactivate(conn, ids: list[str]) -> None:
    conn.execute("UPDATE routing.agencies SET active = false WHERE id = ANY(%s) AND active", (ids,))


def delete_agencies(conn, ids: list[str]) -> None:
    """Deletes agencies nothing refers to (their contacts go with them), children and parents at once."""
    if NATIONAL_DESK.id in ids:
        raise ValueError("the national desk is never deleted")
    conn.execute("DELETE FROM routing.agencies WHERE id = ANY(%s)", (ids,))


def remove_liaison_officers(conn, officers: list[LiaisonOfficer]) -> None:
    """Removes contacts, each named by its agency and its name as stored."""
    if officers:
        conn.execute("DELETE FROM routing.liaison_officers o USING unnest(%s::text[], %s::text[]) AS k(agency_id, "
                     "name) WHERE o.agency_id = k.agency_id AND o.name = k.name",
                     ([o.agency_id for o in officers], [o.name for o in officers]))


def put_liaison_officers(conn, officers: list[LiaisonOfficer]) -> None:
    """Adds contacts, or rewrites the one of the same agency and name (in any case)."""
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO routing.liaison_officers (agency_id, name, position, email, phone) "
                           "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (agency_id, lower(name)) DO UPDATE SET "
                           "name = EXCLUDED.name, position = EXCLUDED.position, email = EXCLUDED.email, "
                           "phone = EXCLUDED.phone", [(o.agency_id, o.name, o.position, o.email, o.phone)
                                                      for o in officers])


def import_by_key(conn, key: str) -> tuple[int, dict] | None:
    """The id and summary of the import made with idempotency key `key`."""
    row = conn.execute("SELECT id, summary FROM routing.directory_imports WHERE idempotency_key = %s",
                       (key,)).fetchone()
    return (row["id"], row["summary"]) if row else None


def record_import(conn, *, key: str | None, imported_by: str, imported_at: datetime, agencies_sha256: str,
                  liaison_officers_sha256: str, summary: dict) -> int:
    row = conn.execute(
        "INSERT INTO routing.directory_imports (idempotency_key, imported_by, imported_at, agencies_sha256, "
        "liaison_officers_sha256, summary) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (key, imported_by, imported_at, agencies_sha256, liaison_officers_sha256, json.dumps(summary))).fetchone()
    return row["id"]


def agencies_in_regions_outside(conn, codes: list[str]) -> list[Agency]:
    """Agencies whose region is not among `codes`: what would lose its region if the list became `codes`."""
    rows = conn.execute(f"SELECT {AGENCY_COLUMNS} FROM routing.agencies a WHERE a.region_code IS NOT NULL "
                        "AND NOT (a.region_code = ANY(%s)) ORDER BY a.region_code, a.id", (codes,)).fetchall()
    return [agency_of(r) for r in rows]
