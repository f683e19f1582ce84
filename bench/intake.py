"""Accepted submissions per second over gRPC, against two baselines measured in the same run.

    .venv/bin/python -m bench.intake [--seconds 10] [--clients 16]

Starts `python -m services.intake` as its own process on a throwaway database (sp4n_bench_<random> on
the server named by SP4N_BENCH_DATABASE_URL, else DATABASE_URL, else 127.0.0.1:5432 as postgres),
then runs, each for --seconds with --clients concurrent client threads in this process:

  no-op gRPC      grpc.health.v1 Check on the same intake server: the cost of a call and nothing else
  bare insert     one INSERT of a row as wide as a report, in its own transaction, straight to PostgreSQL
  SubmitReport    a web report signed as the portal: validation, the report, its timeline entry and the
                  outbox event in one transaction, and the answer with its tracking ID and access code

and prints for each: calls per second, p50 and p99 latency; then SubmitReport's rate as a share of the
no-op rate. Every SubmitReport answer is checked (a tracking ID), and the reports are counted in the
database at the end. The database is dropped at the end.
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.support import throwaway_database
from services.plumbing import identity
from services.plumbing.local_system import free_port, health
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
KEY = secrets.token_urlsafe(32)


def server_url() -> str:
    return (os.environ.get("SP4N_BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
            or "postgresql://postgres@127.0.0.1:5432/postgres")


def run(name: str, clients: int, seconds: float, call: Callable[[int, int], None]) -> dict:
    """Calls `call(client, n)` from `clients` threads for `seconds`; the rate and latency percentiles."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def client(c: int) -> None:
        n = 0
        try:
            while not stop.is_set():
                started = time.perf_counter()
                call(c, n)
                latencies[c].append(time.perf_counter() - started)
                n += 1
        except BaseException as e:  # noqa: BLE001 (reported below, the run is void)
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{name}: {errors[0]!r}")
    every = sorted(x for c in latencies for x in c)
    q = statistics.quantiles(every, n=100)
    return {"name": name, "calls": len(every), "rate": len(every) / elapsed, "p50": q[49] * 1000, "p99": q[98] * 1000}


@contextmanager
def intake_process(database_url: str) -> Iterator[tuple[intake_pb2_grpc.IntakeServiceStub, str]]:
    """`python -m services.intake` on `database_url`, healthy; a stub to it (`stub.channel`: its channel)
    and the identity key it checks callers with."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SP4N_IDENTITY_KEY": KEY, "INTAKE_PORT": str(port),
           "SP4N_LOG_LEVEL": "WARNING", "INTAKE_METRICS_PORT": "0",
           "SLA_SERVICE_ADDR": f"127.0.0.1:{free_port()}"}  # no sla: the start events wait in the outbox
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([sys.executable, *profile, "-m", "services.intake"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while health(f"127.0.0.1:{port}") != "SERVING":
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError("intake did not start:\n" + log.read().decode()[-3000:])
            time.sleep(0.1)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        stub.channel = channel
        yield stub, KEY
        channel.close()
    finally:
        server.terminate()
        server.wait(30)


def submission(key: str) -> intake_pb2.SubmitReportRequest:
    return intake_pb2.SubmitReportRequest(
        idempotency_key=key, channel="web", type=intake_pb2.REPORT_TYPE_COMPLAINT,
        title="Lampu jalan mati di Jl. Raya Batulicin",
        description="Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan, gelap di malam hari.",
        category="infrastruktur", region_code="6310", location_text="Jl. Raya Batulicin km 3",
        reporter=intake_pb2.Reporter(name="Warga Batulicin", phone="081234567890", email="warga@contoh.id"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()

    with throwaway_database(server_url()) as (target, _name):
        with intake_process(target) as (intake, key):
            channel = intake.channel
            portal = [(identity.METADATA_KEY, identity.sign(identity.Caller("portal", identity.SERVICE), key,
                                                            lifetime=identity.DEFAULT_LIFETIME * 100))]
            checker = health_pb2_grpc.HealthStub(channel)
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, key text UNIQUE, title text, "
                             "description text, category text, region_code text, created_at timestamptz DEFAULT now())")
            inserters = [psycopg.connect(target, autocommit=True) for _ in range(args.clients)]

            def noop(client, n):
                checker.Check(health_pb2.HealthCheckRequest(), timeout=10)

            def insert(client, n):
                inserters[client].execute(
                    "INSERT INTO bench_rows (key, title, description, category, region_code) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (f"{client}-{n}", "Lampu jalan mati di Jl. Raya Batulicin",
                     "Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan.", "infrastruktur",
                     "6310"))

            phase = iter(range(1_000_000))
            prefix = {"now": ""}

            def submit(client, n):  # a key of its own for every call of every run: no call is a repeat
                answer = intake.SubmitReport(submission(f"{prefix['now']}-{client}-{n}"), metadata=portal, timeout=30)
                assert answer.tracking_id.startswith("LAP-") and answer.access_code, answer

            for warm in (noop, submit):  # connections, prepared statements, the pool
                prefix["now"] = f"warm{next(phase)}"
                run("warm-up", args.clients, 1.0, warm)
            prefix["now"] = "measured"
            results = [run("no-op gRPC (health Check)", args.clients, args.seconds, noop),
                       run("bare PostgreSQL insert", args.clients, args.seconds, insert),
                       run("intake.SubmitReport", args.clients, args.seconds, submit)]
            for conn in inserters:
                conn.close()
            with psycopg.connect(target) as conn:
                stored = conn.execute("SELECT count(*) FROM intake.reports").fetchone()[0]

    print(f"intake over gRPC: {args.clients} client threads, {args.seconds:.0f} s each, {os.cpu_count()} cores")
    print(f"{'':28} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'calls':>8}")
    for r in results:
        print(f"{r['name']:28} {r['rate']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['calls']:8d}")
    noop_rate, insert_rate, submit_rate = (r["rate"] for r in results)
    print(f"SubmitReport / no-op gRPC: {submit_rate / noop_rate:.2f}; SubmitReport / bare insert: "
          f"{submit_rate / insert_rate:.2f}; reports stored: {stored} (warm-up included)")


if __name__ == "__main__":
    main()
