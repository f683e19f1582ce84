"""Not a test: candidate duplicates (intake.FindSimilarReports) at a million reports, timed and explained.

    python -m bench.similar_reports postgresql://postgres@127.0.0.1:5432/postgres [reports]

Creates (once) the database sp4n_similar_plans with intake's migrations and `reports` reports (default
1,000,000) submitted over one year (so a 90-day window holds about a quarter of them), in any status,
over 514 regencies with a skewed share each, 60 % of them with coordinates clustered around their
regency's centre, and text drawn from a Zipf-like vocabulary (bench/feed_plans.py's). Then, for reports
of each kind (common words, a busy regency, a dense spot, no region or place), prints the plan of the
candidate query and the time of the whole lookup (median of 5). Drop the database when done.
"""

import statistics
import sys
import time

import psycopg
from psycopg.rows import dict_row

from bench.feed_plans import COMMON
from bench.support import intake_database
from services.intake import similarity, similarity_repository
from services.intake.similarity_service import SimilarityService
from services.plumbing import db, identity

NAME = "sp4n_similar_plans"
ADMIN = identity.Caller("bench", identity.NATIONAL_ADMIN)


def load(conn, reports: int) -> None:
    conn.execute("SET maintenance_work_mem = '512MB'")
    indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'intake' "
                           "AND tablename = 'reports' AND indexname NOT IN (SELECT conname FROM pg_constraint)"
                           ).fetchall()
    for index in indexes:
        conn.execute(f'DROP INDEX intake."{index["indexname"]}"')
    conn.execute("CREATE TEMP TABLE vocab (i int PRIMARY KEY, w text NOT NULL)")
    conn.execute("INSERT INTO vocab SELECT i, w FROM unnest(%s::text[]) WITH ORDINALITY AS c(w, i)", (list(COMMON),))
    conn.execute("INSERT INTO vocab SELECT %s + g, substr(md5(g::text), 1, 3 + g %% 6) FROM generate_series(1, 5000) g",
                 (len(COMMON),))
    for pool, words in (("titles", 5), ("descriptions", 40), ("places", 3)):
        conn.execute(f"CREATE TEMP TABLE {pool} AS SELECT d AS id, string_agg(v.w, ' ' ORDER BY k) AS text "
                     f"FROM (SELECT d, k, 1 + floor(power(random(), 3) * (SELECT count(*) FROM vocab))::int AS i "
                     f"      FROM generate_series(1, 20000) d, generate_series(1, {words} + d % 3) k) x "
                     f"JOIN vocab v USING (i) GROUP BY d")
    # 514 regencies: a skewed share of reports each, a centre somewhere in Indonesia.
    conn.execute("CREATE TEMP TABLE regencies AS SELECT r, "
                 "lpad((11 + r / 20)::text, 2, '0') || lpad((r % 20 + 1)::text, 2, '0') AS code, "
                 "-10 + random() * 15 AS lat, 96 + random() * 44 AS lon FROM generate_series(0, 513) r")
    conn.execute("""
        INSERT INTO intake.reports (tracking_id, channel, idempotency_key, type, title, description, category,
            region_code, location_text, anonymous, confidential, language, status, submitted_at, agency_id,
            agency_name, published, published_at, latitude, longitude, public_title, public_description,
            public_location_text, redaction_version, search_document)
        SELECT 'LAP-' || lpad(upper(to_hex((g::bigint * 2654435761) %% 4294967296)), 8, '0'), 'web', 'k' || g,
               'complaint', t.text, d.text, 'kategori-' || floor(power(random(), 2) * 30)::int,
               CASE WHEN random() < 0.1 THEN '' ELSE rg.code END, p.text, random() < 0.3, random() < 0.05, 'id',
               CASE WHEN random() < 0.2 THEN 'in_verification' ELSE 'forwarded' END, s, '', '', false, NULL,
               CASE WHEN located THEN rg.lat + (random() - 0.5) * 0.2 END,
               CASE WHEN located THEN rg.lon + (random() - 0.5) * 0.2 END,
               t.text, d.text, p.text, 1,
               setweight(to_tsvector('indonesian', t.text), 'A') || setweight(to_tsvector('indonesian', d.text), 'B')
               || setweight(to_tsvector('indonesian', p.text), 'C')
        FROM (SELECT g, timestamptz '2026-01-01' + random() * interval '365 days' AS s, random() < 0.6 AS located,
                     floor(power(random(), 2) * 514)::int AS r
              FROM generate_series(1, %(total)s) g) x
        JOIN regencies rg USING (r)
        JOIN titles t ON t.id = 1 + (g::bigint * 7919) %% 20000
        JOIN descriptions d ON d.id = 1 + (g::bigint * 104729 / 7) %% 20000
        JOIN places p ON p.id = 1 + (g::bigint * 31) %% 20000
    """, {"total": reports})
    for index in indexes:
        conn.execute(index["indexdef"])
    conn.execute("VACUUM ANALYZE intake.reports")


class Explaining:
    """A connection stand-in that prints the plan of what the repository would run."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, params=None, prepare=None):
        if "WITH found" in sql:
            plan = self.conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params, prepare=False).fetchall()
            print("\n".join(r["QUERY PLAN"] for r in plan))
        return self.conn.execute(sql, params, prepare=prepare)


SOURCES = {
    "common words, busy regency": "WHERE r.region_code = '1101' AND r.latitude IS NOT NULL "
                                  "AND r.submitted_at > '2026-12-01' ORDER BY r.submitted_at DESC LIMIT 1",
    "quiet regency": "WHERE r.region_code = (SELECT region_code FROM intake.reports WHERE region_code <> '' "
                     "GROUP BY 1 ORDER BY count(*) LIMIT 1) ORDER BY r.submitted_at DESC LIMIT 1",
    "no region, no place (SMS)": "WHERE r.region_code = '' AND r.latitude IS NULL ORDER BY r.submitted_at DESC LIMIT 1",
    "early in the year": "WHERE r.submitted_at < '2026-01-15' AND r.latitude IS NOT NULL LIMIT 1",
}


def main(url: str, reports: int) -> None:
    target = intake_database(url, NAME)
    with psycopg.connect(target, autocommit=True, row_factory=dict_row) as conn:
        if not conn.execute("SELECT 1 FROM intake.reports LIMIT 1").fetchone():
            start = time.perf_counter()
            load(conn, reports)
            print(f"-- loaded {reports} reports in {time.perf_counter() - start:.0f} s\n")
        pool = db.open_pool(target, name="bench", size=2)
        service = SimilarityService(pool=pool)
        for name, where in SOURCES.items():
            tracking_id = conn.execute(f"SELECT r.tracking_id FROM intake.reports r {where}").fetchone()["tracking_id"]
            print(f"==== {name}: {tracking_id}")
            stop = similarity_repository.stopwords(conn)
            report = similarity_repository.source(conn, tracking_id, stop)
            similarity_repository.candidates(Explaining(conn), report, stop,
                                             since=report.submitted_at - similarity.WINDOW,
                                             until=report.submitted_at + similarity.WINDOW,
                                             per_way=similarity.CANDIDATES_PER_WAY)
            times, found = [], []
            for _ in range(5):
                start = time.perf_counter()
                found = service.similar(caller=ADMIN, tracking_id=tracking_id, limit=10)
                times.append(1000 * (time.perf_counter() - start))
            print(f"-- FindSimilarReports: {statistics.median(times):.1f} ms median of 5 "
                  f"(min {min(times):.1f}, max {max(times):.1f}); {len(found)} found, best "
                  f"{[(r.match.score, [x.value for x in r.match.reasons]) for r in found[:3]]}\n")
        pool.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
