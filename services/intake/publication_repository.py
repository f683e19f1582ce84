"""SQL of the public side: the feed, one published report, supports. Every function takes an open
connection.

Every query here reads through PUBLIC, the very predicate of the feed's partial indexes: a report that
is not published, or is confidential, cannot come out of this module whatever else its flags say.
"""

from datetime import datetime

from services.intake.domain import ReportStatus, ReportType
from services.intake.publication import PUBLIC_KINDS, Cursor, FeedFilter, PublishedReport
from services.intake.repository import coordinates

PUBLIC = "r.published AND NOT r.confidential"
_NAMES = ("tracking_id", "type", "public_title", "public_description", "category", "region_code",
          "public_location_text", "latitude", "longitude", "status", "agency_id", "agency_name", "submitted_at",
          "published_at", "support_count", "anonymous")
_COLUMNS = ", ".join(f"r.{name}" for name in _NAMES)
# The time of the report's last public timeline entry.
_UPDATED_AT = ("(SELECT max(t.created_at) FROM intake.timeline t "
               "WHERE t.tracking_id = p.tracking_id AND t.kind = ANY(%(public_kinds)s))")
_PUBLIC_KINDS = sorted(kind.value for kind in PUBLIC_KINDS)
_QUERY = "websearch_to_tsquery('indonesian', %(query)s)"
# Reports submitted before a moment and published at or after it (a report is never published before
# it is submitted: the reports_published_at check): the few that the moment cuts through.
_STRADDLING = "tstzrange(r.submitted_at, r.published_at, '(]') @> %(submitted_before)s::timestamptz"


def _published(row) -> PublishedReport:
    return PublishedReport(
        tracking_id=row["tracking_id"], type=ReportType(row["type"]), title=row["public_title"],
        description=row["public_description"], category=row["category"], region_code=row["region_code"],
        location_text=row["public_location_text"], coordinates=coordinates(row), status=ReportStatus(row["status"]),
        agency_id=row["agency_id"], agency_name=row["agency_name"], submitted_at=row["submitted_at"],
        published_at=row["published_at"], updated_at=row["updated_at"] or row["published_at"],
        support_count=row["support_count"], anonymous=row["anonymous"], rank=row.get("rank"))


def _filters(f: FeedFilter) -> tuple[list[str], dict]:
    where, params = [PUBLIC], {}
    if f.agency_id:
        where.append("r.agency_id = %(agency_id)s")
        params["agency_id"] = f.agency_id
    if f.category:
        where.append("r.category = %(category)s")
        params["category"] = f.category
    if f.region_code:  # a province's code also matches those of its regencies and cities
        where.append("left(r.region_code, 2) = %(region_code)s" if len(f.region_code) == 2
                     else "r.region_code = %(region_code)s")
        params["region_code"] = f.region_code
    if f.statuses:
        where.append("r.status = ANY(%(statuses)s)")
        params["statuses"] = [s.value for s in f.statuses]
    if f.submitted_after:  # published no earlier than submitted: the scan ends where publication does
        where += ["r.submitted_at >= %(submitted_after)s", "r.published_at >= %(submitted_after)s"]
        params["submitted_after"] = f.submitted_after
    if f.submitted_before:
        params["submitted_before"] = f.submitted_before
    if f.query:
        where.append(f"r.search_document @@ {_QUERY}")
        params["query"] = f.query
    return where, params


def _order(alias: str) -> str:
    return f"{alias}.published_at DESC, {alias}.tracking_id DESC"


def _newest(f: FeedFilter, columns: str, where: list[str], limit: str) -> str:
    """SQL of at most `limit` public reports matching `where` and `f.submitted_before`, newest published first.

    An index in publication order finds the newest reports submitted before a moment long ago only after
    going through all those published since. So the reports published before that moment (each one was
    submitted before it too) are read from there on, and the few submitted before it but published since
    come from the index of submission-to-publication spans, sorted apart."""
    if not f.submitted_before:
        return (f"SELECT {columns} FROM intake.reports r WHERE {' AND '.join(where)} "
                f"ORDER BY {_order('r')} LIMIT {limit}")
    before = ["r.published_at < %(submitted_before)s", "r.submitted_at < %(submitted_before)s"]
    # OFFSET 0 keeps the planner from reading the spans in publication order: there are few of them.
    straddling = f"SELECT {columns} FROM intake.reports r WHERE {' AND '.join(where + [_STRADDLING])} OFFSET 0"
    earlier = f"SELECT {columns} FROM intake.reports r WHERE {' AND '.join(where + before)}"
    return (f"SELECT * FROM ((SELECT * FROM ({straddling}) s ORDER BY {_order('s')} LIMIT {limit}) "
            f"UNION ALL ({earlier} ORDER BY {_order('r')} LIMIT {limit})) n ORDER BY {_order('n')} LIMIT {limit}")


def newest(conn) -> tuple[datetime, str] | None:
    """The feed order key of the newest public report."""
    row = conn.execute(f"SELECT r.published_at, r.tracking_id FROM intake.reports r WHERE {PUBLIC} "
                       f"ORDER BY {_order('r')} LIMIT 1").fetchone()
    return (row["published_at"], row["tracking_id"]) if row else None


def _after(cursor: Cursor) -> dict:
    return {"after_rank": cursor.rank, "after_published_at": cursor.published_at,
            "after_tracking_id": cursor.tracking_id}


def feed(conn, f: FeedFilter, cursor: Cursor | None, limit: int, *, as_of: tuple[datetime, str] | None = None,
         window: int = 0) -> list[PublishedReport]:
    """Up to `limit` published reports after `cursor`, newest published first. With a query: of the
    `window` newest matches published up to `as_of`, the most relevant first (then the newest)."""
    where, params = _filters(f)
    params |= {"public_kinds": _PUBLIC_KINDS, "limit": limit} | (_after(cursor) if cursor else {})
    output = ", ".join(f"p.{name}" for name in _NAMES)
    if not f.query:
        if cursor is not None:
            where.append("(r.published_at, r.tracking_id) < (%(after_published_at)s, %(after_tracking_id)s)")
        sql = (f"SELECT {output}, {_UPDATED_AT} AS updated_at "
               f"FROM ({_newest(f, _COLUMNS, where, '%(limit)s')}) p ORDER BY {_order('p')}")
    else:
        if as_of is not None:
            where.append("(r.published_at, r.tracking_id) <= (%(as_of_published_at)s, %(as_of_tracking_id)s)")
            params |= {"as_of_published_at": as_of[0], "as_of_tracking_id": as_of[1]}
        after = ("WHERE (w.rank, w.published_at, w.tracking_id) < "
                 "(%(after_rank)s::real, %(after_published_at)s, %(after_tracking_id)s)") if cursor else ""
        # Ranked once the window is cut: only the window's reports are ranked, however many match.
        candidates = _newest(f, _COLUMNS + ", r.search_document", where, "%(window)s")
        ranked = f"SELECT c.*, ts_rank(c.search_document, {_QUERY}) AS rank FROM ({candidates}) c"
        sql = (f"SELECT {output}, p.rank, {_UPDATED_AT} AS updated_at FROM (SELECT * FROM ({ranked}) w {after} "
               f"ORDER BY w.rank DESC, {_order('w')} LIMIT %(limit)s) p ORDER BY p.rank DESC, {_order('p')}")
        params["window"] = window
    # Planned for these values every time: the best index depends on how rare they are (an agency's
    # handful of reports, or a word in every other one), which a generic prepared plan cannot know.
    return [_published(r) for r in conn.execute(sql, params, prepare=False).fetchall()]


def published_report(conn, tracking_id: str) -> PublishedReport | None:
    row = conn.execute(f"SELECT p.*, {_UPDATED_AT} AS updated_at FROM (SELECT {_COLUMNS} FROM intake.reports r "
                       f"WHERE r.tracking_id = %(tracking_id)s AND {PUBLIC}) p",
                       {"tracking_id": tracking_id, "public_kinds": _PUBLIC_KINDS}).fetchone()
    return _published(row) if row else None


def lock_support_count(conn, tracking_id: str) -> int | None:
    """The support count of a published report, its row locked until the transaction ends; None when
    there is no such published report."""
    row = conn.execute(f"SELECT r.support_count FROM intake.reports r WHERE r.tracking_id = %s AND {PUBLIC} "
                       "FOR UPDATE", (tracking_id,)).fetchone()
    return row["support_count"] if row else None


def support_by_key(conn, tracking_id: str, key: str) -> int | None:
    """The count that the support made with this key, if there was one."""
    row = conn.execute("SELECT support_count FROM intake.supports WHERE tracking_id = %s AND idempotency_key = %s",
                       (tracking_id, key)).fetchone()
    return row["support_count"] if row else None


def has_supported(conn, tracking_id: str, supporter: str) -> bool:
    return conn.execute("SELECT 1 FROM intake.supports WHERE tracking_id = %s AND supporter = %s",
                        (tracking_id, supporter)).fetchone() is not None


def add_support(conn, *, tracking_id: str, supporter: str, key: str, support_count: int, at: datetime) -> None:
    """Records a support and the count it makes (the report's row must be locked)."""
    conn.execute("INSERT INTO intake.supports (tracking_id, supporter, idempotency_key, support_count, created_at) "
                 "VALUES (%s, %s, %s, %s, %s)", (tracking_id, supporter, key, support_count, at))
    conn.execute("UPDATE intake.reports SET support_count = %s WHERE tracking_id = %s", (support_count, tracking_id))
