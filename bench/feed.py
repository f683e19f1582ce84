"""Public feed and search latency over gRPC at 1,000,000 published reports.

    .venv/bin/python -m bench.feed [--reports 1000000] [--calls 200]

Uses the database sp4n_feed_plans on the server named by SP4N_BENCH_DATABASE_URL, else DATABASE_URL,
else 127.0.0.1:5432 as postgres, loading it once as bench/feed_plans.py does (the reports published,
a fifth as many more unpublished or confidential; skewed agencies, regions and a Zipf-like vocabulary).
Starts `python -m services.intake` on it and times ListPublishedReports, one call at a time, for each
kind of request a visitor makes: the first page, a page 40 pages deep (following next_page_token),
an agency's reports, a province's, a search for a common word and for a rarer one. Prints p50 and p95
per kind. Drop the database when done (`DROP DATABASE sp4n_feed_plans`).
"""

import argparse
import statistics
import time

import psycopg
from psycopg.rows import dict_row

from bench.feed_plans import NAME, load
from bench.intake import intake_process, server_url
from bench.support import intake_database
from services.plumbing import identity
from sp4n.intake.v1 import intake_pb2

KINDS = [
    ("feed, first page", dict()),
    ("feed, 40 pages deep", dict(deep=40)),
    ("an agency's reports", dict(agency_id="agency-3")),
    ("a province's reports", dict(region_code="63")),
    ("search, common word", dict(query="jalan")),
    ("search, rarer word", dict(query="jembatan lubang")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    url = server_url()
    target = intake_database(url, NAME)
    with psycopg.connect(target, autocommit=True, row_factory=dict_row) as conn:
        published = conn.execute("SELECT count(*) AS n FROM intake.reports WHERE published").fetchone()["n"]
        if not published:
            started = time.perf_counter()
            load(conn, args.reports)
            published = conn.execute("SELECT count(*) AS n FROM intake.reports WHERE published").fetchone()["n"]
            print(f"-- loaded {published} published reports in {time.perf_counter() - started:.0f} s")

    with intake_process(target) as (stub, key):
        visitor = [(identity.METADATA_KEY, identity.sign(identity.Caller("portal", identity.SERVICE), key,
                                                         lifetime=identity.DEFAULT_LIFETIME * 100))]

        def page(fields: dict, token: str = "") -> intake_pb2.ListPublishedReportsResponse:
            return stub.ListPublishedReports(intake_pb2.ListPublishedReportsRequest(
                page_size=20, page_token=token, **fields), metadata=visitor, timeout=30)

        results = []
        for name, fields in KINDS:
            fields = dict(fields)
            deep = fields.pop("deep", 0)
            token = ""
            for _ in range(deep):  # the token of page `deep`, fetched once, untimed
                token = page(fields, token).next_page_token
            for _ in range(5):
                page(fields, token)  # warm: the server's pool and PostgreSQL's cache
            times = []
            for _ in range(args.calls):
                started = time.perf_counter()
                answer = page(fields, token)
                times.append((time.perf_counter() - started) * 1000)
            assert answer.reports, f"{name}: no reports"
            q = statistics.quantiles(times, n=100)
            results.append((name, q[49], q[94], len(answer.reports)))

    print(f"public feed over gRPC at {published} published reports, {args.calls} calls each, one at a time")
    print(f"{'':26} {'p50 ms':>8} {'p95 ms':>8} {'shown':>6}")
    for name, p50, p95, shown in results:
        print(f"{name:26} {p50:8.2f} {p95:8.2f} {shown:6d}")


if __name__ == "__main__":
    main()
