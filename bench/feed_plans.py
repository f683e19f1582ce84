"""Not a test: the feed's query plans at a million published reports, checked by hand.

    python -m bench.feed_plans postgresql://postgres@127.0.0.1:5432/postgres [reports]

Creates (once) the database sp4n_feed_plans with intake's migrations and `reports` published reports
(default 1,000,000) plus a fifth as many unpublished or confidential ones, with skewed agencies,
categories, regions and a Zipf-like vocabulary; then prints EXPLAIN (ANALYZE, BUFFERS) of the exact
SQL the feed runs for each kind of request, first page and 40 pages deep. Drop the database when done.
"""

import sys
import time
from datetime import datetime, timezone

import psycopg
from psycopg.rows import dict_row

from bench.support import intake_database
from services.intake import publication_repository
from services.intake.domain import ReportStatus
from services.intake.publication import SEARCH_WINDOW, Cursor, FeedFilter

NAME = "sp4n_feed_plans"
COMMON = ("jalan rusak warga mohon segera yang di dan tidak sudah sejak desa kantor pelayanan lampu banjir sampah "
          "air sekolah biaya pungutan puskesmas pasien perbaikan jembatan lubang kendaraan petugas dinas bantuan "
          "sosial listrik padam izin usaha kartu tanda penduduk antrean lambat").split()


def load(conn, reports: int) -> None:
    conn.execute("SET maintenance_work_mem = '512MB'")
    # Loading is faster without the indexes; they are made again as the migration made them.
    indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'intake' "
                           "AND tablename = 'reports' AND indexname NOT IN (SELECT conname FROM pg_constraint)"
                           ).fetchall()
    for index in indexes:
        conn.execute(f'DROP INDEX intake."{index["indexname"]}"')
    # A vocabulary of the common words above and 5,000 made-up ones, drawn with a Zipf-like skew into
    # pools of titles and descriptions that the reports combine.
    conn.execute("CREATE TEMP TABLE vocab (i int PRIMARY KEY, w text NOT NULL)")
    conn.execute("INSERT INTO vocab SELECT i, w FROM unnest(%s::text[]) WITH ORDINALITY AS c(w, i)", (list(COMMON),))
    conn.execute("INSERT INTO vocab SELECT %s + g, substr(md5(g::text), 1, 3 + g %% 6) FROM generate_series(1, 5000) g",
                 (len(COMMON),))
    for pool, words in (("titles", 5), ("descriptions", 40)):
        conn.execute(f"CREATE TEMP TABLE {pool} AS SELECT d AS id, string_agg(v.w, ' ' ORDER BY k) AS text "
                     f"FROM (SELECT d, k, 1 + floor(power(random(), 3) * (SELECT count(*) FROM vocab))::int AS i "
                     f"      FROM generate_series(1, 20000) d, generate_series(1, {words} + d % 3) k) x "
                     f"JOIN vocab v USING (i) GROUP BY d")
    conn.execute("""
        INSERT INTO intake.reports (tracking_id, channel, idempotency_key, type, title, description, category,
            region_code, location_text, anonymous, confidential, language, status, submitted_at, agency_id,
            agency_name, published, published_at, public_title, public_description, public_location_text,
            redaction_version, support_count, search_document)
        SELECT 'LAP-' || lpad(upper(to_hex((g::bigint * 2654435761) %% 4294967296)), 8, '0'), 'web', 'k' || g,
               'complaint', t.text, d.text,
               'kategori-' || floor(power(random(), 2) * 30)::int,
               p || CASE WHEN random() < 0.1 THEN '' ELSE lpad(floor(random() * 30 + 1)::text, 2, '0') END,
               'lokasi ' || g, random() < 0.3, g > %(reports)s AND random() < 0.5, 'id',
               CASE WHEN g > %(reports)s THEN 'in_verification' WHEN random() < 0.6 THEN 'closed'
                    WHEN random() < 0.6 THEN 'followed_up' WHEN random() < 0.97 THEN 'forwarded' ELSE 'archived' END,
               s, 'agency-' || floor(power(random(), 3) * 500)::int, 'Instansi', g <= %(reports)s,
               CASE WHEN g <= %(reports)s THEN s + random() * interval '5 days' END, t.text, d.text, 'lokasi ' || g,
               1, floor(power(random(), 8) * 1000)::int,
               setweight(to_tsvector('indonesian', t.text), 'A') || setweight(to_tsvector('indonesian', d.text), 'B')
               || setweight(to_tsvector('indonesian', 'lokasi ' || g), 'C')
        FROM (SELECT g, timestamptz '2021-01-01' + random() * interval '5 years' AS s,
                     (ARRAY['11','12','13','14','15','16','17','18','19','21','31','32','33','34','35','36','51',
                            '52','53','61','62','63','64','65','71','72','73','74','75','76','81','82','91','94'])
                         [1 + floor(power(random(), 2) * 34)::int] AS p
              FROM generate_series(1, %(total)s) g) x
        JOIN titles t ON t.id = 1 + (g::bigint * 7919) %% 20000
        JOIN descriptions d ON d.id = 1 + (g::bigint * 104729 / 7) %% 20000
    """, {"reports": reports, "total": reports + reports // 5})
    for index in indexes:
        conn.execute(index["indexdef"])
    conn.execute("VACUUM ANALYZE intake.reports")


class Explaining:
    """A connection stand-in that prints the plan of what the repository would run."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, params=None, prepare=None):
        start = time.perf_counter()
        plan = self.conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        print("\n".join(r["QUERY PLAN"] for r in plan))
        print(f"-- {1000 * (time.perf_counter() - start):.1f} ms with EXPLAIN ANALYZE\n")
        return self

    def fetchall(self):
        return []


def last_of_page(conn, f: FeedFilter, pages: int, as_of) -> Cursor:
    """The cursor after `pages` pages of 20, as a client paging that deep would hold."""
    last = publication_repository.feed(conn, f, None, pages * 20, as_of=as_of, window=SEARCH_WINDOW)[-1]
    return Cursor(last.published_at, last.tracking_id, last.rank, as_of)


UTC = timezone.utc
REQUESTS = [
    ("newest", FeedFilter()),
    ("one agency (large)", FeedFilter(agency_id="agency-0")),
    ("one agency (small)", FeedFilter(agency_id="agency-480")),
    ("category", FeedFilter(category="kategori-25")),
    ("province", FeedFilter(region_code="94")),
    ("regency", FeedFilter(region_code="6310")),
    ("rare status", FeedFilter(statuses=(ReportStatus.ARCHIVED,))),
    ("common statuses", FeedFilter(statuses=(ReportStatus.CLOSED, ReportStatus.FOLLOWED_UP))),
    ("submitted long ago", FeedFilter(submitted_before=datetime(2021, 2, 1, tzinfo=UTC))),
    ("submitted before mid-way", FeedFilter(submitted_before=datetime(2023, 7, 1, tzinfo=UTC))),
    ("submitted lately", FeedFilter(submitted_after=datetime(2025, 12, 1, tzinfo=UTC))),
    ("submitted in a month", FeedFilter(submitted_after=datetime(2022, 3, 1, tzinfo=UTC),
                                        submitted_before=datetime(2022, 4, 1, tzinfo=UTC))),
    ("search, rare words", FeedFilter(query="puskesmas pasien")),
    ("search, common word", FeedFilter(query="jalan")),
    ("search + agency", FeedFilter(query="jalan", agency_id="agency-3")),
    ("search + month", FeedFilter(query="jalan", submitted_after=datetime(2022, 3, 1, tzinfo=UTC),
                                  submitted_before=datetime(2022, 4, 1, tzinfo=UTC))),
]


def main(url: str, reports: int) -> None:
    target = intake_database(url, NAME)
    with psycopg.connect(target, autocommit=True, row_factory=dict_row) as conn:
        if not conn.execute("SELECT 1 FROM intake.reports LIMIT 1").fetchone():
            start = time.perf_counter()
            load(conn, reports)
            print(f"-- loaded {reports} published reports in {time.perf_counter() - start:.0f} s\n")
        for name, f in REQUESTS:
            as_of = publication_repository.newest(conn) if f.query else None
            for pages in (0, 40):
                print(f"==== {name}, {'first page' if not pages else f'after {pages} pages'}")
                cursor = last_of_page(conn, f, pages, as_of) if pages else None
                publication_repository.feed(Explaining(conn), f, cursor, 21, as_of=as_of, window=SEARCH_WINDOW)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
