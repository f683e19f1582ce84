"""SQL of candidate duplicates. Every function takes an open connection.

Candidates come four ways, each a bounded index scan of reports submitted in a window, newest first,
at most `per_way` each: the same region (reports_by_region_newest), a box around the report's place
(reports_by_place), all of its title's words and any of them (reports_by_words, or reports_newest when
the words are common). Only those few are compared word by word, so the cost does not grow with the
number of reports.
"""

from dataclasses import dataclass
from datetime import datetime

from services.intake import similarity
from services.intake.domain import Coordinates
from services.intake.repository import coordinates
from services.intake.similarity import Candidate, Overlap, Words

_TITLE, _BODY, _PLACE = "'A' = ANY(u.weights)", "u.weights && '{A,B}'", "'C' = ANY(u.weights)"


@dataclass(frozen=True)
class Source:
    """The report whose duplicates are looked for."""
    tracking_id: str
    region_code: str
    coordinates: Coordinates | None
    submitted_at: datetime
    words: Words


def stopwords(conn) -> list[str]:
    """similarity.STOPWORDS as lexemes, stemmed as the documents are."""
    row = conn.execute("SELECT tsvector_to_array(to_tsvector('indonesian', %s)) AS words",
                       (similarity.STOPWORDS,)).fetchone()
    return sorted(row["words"])


def source(conn, tracking_id: str, stop: list[str]) -> Source | None:
    """The report with its words, without `stop` words."""
    row = conn.execute(
        f"SELECT r.tracking_id, r.region_code, r.latitude, r.longitude, r.submitted_at, "
        f"coalesce(array_agg(u.lexeme) FILTER (WHERE {_TITLE}), '{{}}') AS title, "
        f"coalesce(array_agg(u.lexeme) FILTER (WHERE {_BODY}), '{{}}') AS body, "
        f"coalesce(array_agg(u.lexeme) FILTER (WHERE {_PLACE}), '{{}}') AS place "
        f"FROM intake.reports r LEFT JOIN LATERAL unnest(r.search_document) u "
        f"ON u.lexeme <> ALL(%(stop)s::text[]) WHERE r.tracking_id = %(tracking_id)s GROUP BY r.tracking_id",
        {"tracking_id": tracking_id, "stop": stop}).fetchone()
    if row is None:
        return None
    return Source(row["tracking_id"], row["region_code"], coordinates(row), row["submitted_at"],
                  Words(frozenset(row["title"]), frozenset(row["body"]), frozenset(row["place"])))


def _ways(report: Source) -> list[str]:
    """The conditions of each way to find candidates that applies to `report`."""
    ways = []
    if report.region_code:
        ways.append("r.region_code = %(region_code)s")
    if report.coordinates:
        ways.append("point(r.longitude, r.latitude) <@ box(point(%(west)s, %(south)s), point(%(east)s, %(north)s)) "
                    "AND r.latitude IS NOT NULL")
    if report.words.title:
        ways.append("r.search_document @@ %(all_title_words)s::tsquery")
        if len(report.words.title) > 1:
            ways.append("r.search_document @@ %(any_title_words)s::tsquery")
    return ways


def candidates(conn, report: Source, stop: list[str], *, since: datetime, until: datetime,
               per_way: int) -> list[tuple[Candidate, str]]:
    """Reports submitted from `since` to `until` found any of the ways, with how many words (but `stop` words) they have
    and share with `report`, and their location text."""
    ways = _ways(report)
    if not ways:
        return []
    west, south, east, north = (similarity.bounding_box(report.coordinates, similarity.NEARBY_METERS)
                                if report.coordinates else (0.0, 0.0, 0.0, 0.0))
    found = " UNION ".join(
        f"(SELECT r.tracking_id FROM intake.reports r WHERE {way} AND r.submitted_at BETWEEN %(since)s AND %(until)s "
        f"AND r.tracking_id <> %(tracking_id)s ORDER BY r.submitted_at DESC LIMIT %(per_way)s)" for way in ways)
    rows = conn.execute(
        f"WITH found AS ({found}) "
        f"SELECT r.tracking_id, r.region_code, r.latitude, r.longitude, r.location_text, w.* "
        f"FROM found JOIN intake.reports r USING (tracking_id) CROSS JOIN LATERAL ("
        f"  SELECT count(*) FILTER (WHERE {_TITLE}) AS title_size, "
        f"         count(*) FILTER (WHERE {_TITLE} AND u.lexeme = ANY(%(title)s::text[])) AS title_shared, "
        f"         count(*) FILTER (WHERE {_BODY}) AS body_size, "
        f"         count(*) FILTER (WHERE {_BODY} AND u.lexeme = ANY(%(body)s::text[])) AS body_shared, "
        f"         count(*) FILTER (WHERE {_PLACE}) AS place_size, "
        f"         count(*) FILTER (WHERE {_PLACE} AND u.lexeme = ANY(%(place)s::text[])) AS place_shared "
        f"  FROM unnest(r.search_document) u WHERE u.lexeme <> ALL(%(stop)s::text[])) w",
        {"stop": stop, "tracking_id": report.tracking_id, "since": since, "until": until, "per_way": per_way,
         "region_code": report.region_code, "west": west, "south": south, "east": east, "north": north,
         "all_title_words": similarity.tsquery(report.words.title, "&"),
         "any_title_words": similarity.tsquery(report.words.title, "|"),
         "title": sorted(report.words.title), "body": sorted(report.words.body),
         "place": sorted(report.words.place)},
        # Planned for each report's own values: a plan cached for other values reads the wrong index (at a
        # million reports, 1.3 s instead of 40 ms).
        prepare=False).fetchall()
    return [(Candidate(r["tracking_id"], r["region_code"], coordinates(r), Overlap(r["title_size"], r["title_shared"]),
                       Overlap(r["body_size"], r["body_shared"]), Overlap(r["place_size"], r["place_shared"])),
             r["location_text"]) for r in rows]
