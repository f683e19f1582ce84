"""Accepted submissions per second over gRPC and over the REST API, against two baselines measured in
the same run, with the CPU each process spent on a call.

    .venv/bin/python -m bench.intake [--seconds 10] [--clients 16] [--replicas 2]

Starts --replicas processes of `python -m services.intake` sharing one port, and the portal (with
routing, which it needs at start; no sla: the start events wait in the outbox) on a throwaway
database (sp4n_bench_<random> on the server named by SP4N_BENCH_DATABASE_URL, else DATABASE_URL, else
127.0.0.1:5432 as postgres), then runs, each for --seconds after a second of warm-up, with --clients
concurrent client threads in this process, each with a gRPC channel and an HTTP connection of its own:

  no-op gRPC      grpc.health.v1 Check on intake: the cost of a call and nothing else
  bare insert     one INSERT of a row as wide as a report, in its own transaction, straight to PostgreSQL
  gRPC            intake.SubmitReport, a web report signed as the portal: validation, redaction, the
                  report with its reporter, timeline entry and start event in one statement, and the
                  answer with its tracking ID and access code
  REST            POST /api/v1/reports on the portal with an app key (Bearer; --clients threads use
                  REST_KEYS keys in turn, so no key's budget is spent) and an Idempotency-Key: the key
                  and its budgets checked, the request recorded, intake.SubmitReport, 201 with the receipt

and prints for each: calls per second, p50 and p99 latency, and CPU milliseconds per call of intake,
the portal and routing, PostgreSQL's backends of the database and this process (from /proc: the
figures hold on a busy machine, where the rates do not); then the ratios of the rates. Every answer
is checked (a tracking ID, 201), and the reports are counted in the database at the end. The database
is dropped at the end.
"""

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg.rows import dict_row

from bench.support import CpuMeter, throwaway_database
from services.plumbing import identity
from services.plumbing.local_system import free_port, health
from services.portal import api_keys as api_key_store
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
KEY = secrets.token_urlsafe(32)


def server_url() -> str:
    return (os.environ.get("SP4N_BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
            or "postgresql://postgres@127.0.0.1:5432/postgres")


def run(name: str, clients: int, seconds: float, call: Callable[[int, int], None],
        meter: CpuMeter | None = None) -> dict:
    """Calls `call(client, n)` from `clients` threads for `seconds`; the rate and latency percentiles,
    and with `meter` the CPU milliseconds per call of each process it meters."""
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
    cpu_before = meter.snapshot() if meter else {}
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu_after = meter.snapshot() if meter else {}
    if errors:
        raise RuntimeError(f"{name}: {errors[0]!r}")
    every = sorted(x for c in latencies for x in c)
    q = statistics.quantiles(every, n=100)
    return {"name": name, "calls": len(every), "rate": len(every) / elapsed, "p50": q[49] * 1000, "p99": q[98] * 1000,
            "cpu_ms": meter.per_call(cpu_before, cpu_after, len(every)) if meter else {}}


@contextmanager
def service_processes(service: str, env: dict[str, str], replicas: int = 1) -> Iterator[list[int]]:
    """`replicas` processes of `python -m services.<service>` with `env` on top of this one's, each
    healthy before the next starts; their pids. They share the service's port (SO_REUSEPORT, as gRPC
    sets it): the kernel spreads connections over them as a load balancer spreads them over pods."""
    port = env[f"{service.upper()}_PORT"]
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    logs, servers = [], []
    try:
        for _ in range(replicas):
            # Each replica's /metrics answers once its gRPC server has started: the one port cannot
            # tell the replicas apart, its own metrics port can.
            metrics_port = free_port()
            logs.append(tempfile.TemporaryFile())
            servers.append(subprocess.Popen(
                [sys.executable, *profile, "-m", f"services.{service}"], cwd=ROOT, stdout=logs[-1],
                stderr=subprocess.STDOUT, env={**os.environ, "SP4N_LOG_LEVEL": "WARNING",
                                               "SP4N_METRICS_HOST": "127.0.0.1", **env,
                                               f"{service.upper()}_METRICS_PORT": str(metrics_port)}))
            deadline = time.monotonic() + 120
            while not answers(f"http://127.0.0.1:{metrics_port}/metrics") or health(f"127.0.0.1:{port}") != "SERVING":
                if servers[-1].poll() is not None or time.monotonic() > deadline:
                    logs[-1].seek(0)
                    raise RuntimeError(f"{service} did not start:\n" + logs[-1].read().decode()[-3000:])
                time.sleep(0.1)
        yield [server.pid for server in servers]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)


@contextmanager
def intake_process(database_url: str, replicas: int = 1) -> Iterator[tuple[intake_pb2_grpc.IntakeServiceStub, str]]:
    """`python -m services.intake` on `database_url` (`replicas` processes on one port, see
    service_processes), healthy; a stub to it (`stub.channel`: its channel, `stub.address`: where it
    listens, `stub.pids`: its processes) and the identity key it checks callers with."""
    port = free_port()
    env = {"DATABASE_URL": database_url, "SP4N_IDENTITY_KEY": KEY, "INTAKE_PORT": str(port),
           "SLA_SERVICE_ADDR": f"127.0.0.1:{free_port()}"}  # no sla: the start events wait in the outbox
    with service_processes("intake", env, replicas) as pids:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = intake_pb2_grpc.IntakeServiceStub(channel)
        stub.channel, stub.address, stub.pids = channel, f"127.0.0.1:{port}", pids
        yield stub, KEY
        channel.close()


@contextmanager
def portal_process(database_url: str, intake_address: str) -> Iterator[tuple[str, list[int]]]:
    """The portal (and routing, whose region list it waits for at start) on `database_url`, calling
    intake at `intake_address`; the portal's base URL and the pids of portal and routing."""
    ports = {name: free_port() for name in ("routing", "portal", "http")}
    env = {"DATABASE_URL": database_url, "SP4N_IDENTITY_KEY": KEY, "INTAKE_SERVICE_ADDR": intake_address,
           "ROUTING_PORT": str(ports["routing"]), "ROUTING_SERVICE_ADDR": f"127.0.0.1:{ports['routing']}",
           "PORTAL_PORT": str(ports["portal"]), "PORTAL_HTTP_PORT": str(ports["http"]),
           **{f"{name.upper()}_SERVICE_ADDR": f"127.0.0.1:{free_port()}" for name in ("sla", "notify", "verification")}}
    with service_processes("routing", env) as routing, service_processes("portal", env) as portal:
        yield f"http://127.0.0.1:{ports['http']}", portal + routing


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


# Every report has a reporter of its own, as in life: redaction hides the reporter's name and address
# wherever the text repeats them, with patterns made for each reporter, which one name for all would
# let a cache serve.
FIRST_NAMES = ("Siti", "Ahmad", "Nur", "Muhammad", "Dewi", "Rizky", "Putri", "Agus", "Rina", "Budi", "Wahyu",
               "Fitri", "Hendra", "Yuliana", "Slamet", "Ratna")
LAST_NAMES = ("Rahmah", "Hidayat", "Lestari", "Saputra", "Wulandari", "Pratama", "Kurniawan", "Susanti",
              "Nugroho", "Maulana", "Syahputra", "Anggraini", "Gunawan", "Permata")


def reporter_of(key: str) -> dict[str, str]:
    """An invented reporter for the report with idempotency key `key`, a different one for most keys."""
    n = zlib.crc32(key.encode())
    first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n // 16 % len(LAST_NAMES)]
    return {"name": f"{first} {last} {n % 997}", "phone": "081234567890",
            "email": f"{first.lower()}.{last.lower()}{n % 9973}@contoh.id"}


def submission(key: str) -> intake_pb2.SubmitReportRequest:
    return intake_pb2.SubmitReportRequest(
        idempotency_key=key, channel="web", type=intake_pb2.REPORT_TYPE_COMPLAINT,
        title="Lampu jalan mati di Jl. Raya Batulicin",
        description="Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan, gelap di malam hari.",
        category="infrastruktur", region_code="6310", location_text="Jl. Raya Batulicin km 3",
        reporter=intake_pb2.Reporter(**reporter_of(key)))


def rest_body(key: str) -> bytes:
    return json.dumps({
        "type": "complaint", "title": "Lampu jalan mati di Jl. Raya Batulicin",
        "description": "Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan, gelap di malam hari.",
        "category": "infrastruktur", "region_code": "6310", "location_text": "Jl. Raya Batulicin km 3",
        "reporter": reporter_of(key)}).encode()


TARGET = 2000  # accepted reports a second over gRPC (issue 8)

# Enough app keys that their budgets (api.SUBMISSIONS_PER_KEY reports a minute each) never slow the run.
REST_KEYS = 400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replicas", type=int, default=2, help="intake processes on the one port (default 2)")
    args = parser.parse_args()

    with throwaway_database(server_url()) as (target, name), psycopg.connect(target, autocommit=True) as conn:
        with intake_process(target, replicas=args.replicas) as (first, key), \
                portal_process(target, first.address) as (portal_url, portal_pids):
            meter = CpuMeter({"intake": first.pids, "portal": portal_pids}, conn, name)
            results, stored = measure(args, target, first, key, portal_url, meter)
    report(args, results, stored)


def measure(args, target: str, first, key: str, portal_url: str, meter: CpuMeter) -> tuple[list[dict], int]:
    """The four runs, each after a warm-up of its own (connections, prepared statements, pools)."""
    # A channel of its own for every client, as every portal replica has: each is a connection of
    # its own, which the kernel gives to one of the replicas.
    channels = [grpc.insecure_channel(first.address, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(args.clients)]
    stubs = [intake_pb2_grpc.IntakeServiceStub(c) for c in channels]
    checkers = [health_pb2_grpc.HealthStub(c) for c in channels]
    signed = [(identity.METADATA_KEY, identity.sign(identity.Caller("portal", identity.SERVICE), key,
                                                    lifetime=identity.DEFAULT_LIFETIME * 100))]
    with psycopg.connect(target, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("CREATE TABLE bench_rows (id bigserial PRIMARY KEY, key text UNIQUE, title text, "
                     "description text, category text, region_code text, created_at timestamptz DEFAULT now())")
        api_keys = [api_key_store.create(conn, name=f"bench-{n}", kind=api_key_store.APP)[1] for n in range(REST_KEYS)]
    inserters = [psycopg.connect(target, autocommit=True) for _ in range(args.clients)]
    host, port = urllib.parse.urlsplit(portal_url).netloc.split(":")
    web = [http.client.HTTPConnection(host, int(port), timeout=30) for _ in range(args.clients)]  # kept alive
    label = {"now": ""}  # every call of every run has a key of its own: no call is a repeat

    def noop(client, n):
        checkers[client].Check(health_pb2.HealthCheckRequest(), timeout=10)

    def insert(client, n):
        inserters[client].execute(
            "INSERT INTO bench_rows (key, title, description, category, region_code) VALUES (%s, %s, %s, %s, %s)",
            (f"{label['now']}-{client}-{n}", "Lampu jalan mati di Jl. Raya Batulicin",
             "Lampu penerangan jalan di Jl. Raya Batulicin sudah mati selama satu bulan.", "infrastruktur", "6310"))

    def submit(client, n):
        answer = stubs[client].SubmitReport(submission(f"{label['now']}-{client}-{n}"), metadata=signed, timeout=30)
        assert answer.tracking_id.startswith("LAP-") and answer.access_code, answer

    def post(client, n):
        key = f"{label['now']}-{client}-{n}"
        web[client].request("POST", "/api/v1/reports", rest_body(key), headers={
            "Content-Type": "application/json", "Idempotency-Key": key,
            "Authorization": f"Bearer {api_keys[(client + n * args.clients) % REST_KEYS]}"})
        response = web[client].getresponse()
        body = response.read()
        assert response.status == 201 and json.loads(body)["tracking_id"].startswith("LAP-"), (response.status, body)

    runs = [("no-op gRPC (health Check)", noop), ("bare PostgreSQL insert", insert),
            ("intake.SubmitReport (gRPC)", submit), ("POST /api/v1/reports (REST)", post)]
    results = []
    try:
        for n, (title, call) in enumerate(runs):
            label["now"] = f"warm{n}"
            run("warm-up", args.clients, 1.0, call)
            label["now"] = f"run{n}"
            results.append(run(title, args.clients, args.seconds, call, meter))
        with psycopg.connect(target) as conn:
            stored = conn.execute("SELECT count(*) FROM intake.reports").fetchone()[0]
    finally:
        for closable in [*inserters, *channels, *web]:
            closable.close()
    return results, stored


def report(args, results: list[dict], stored: int) -> None:
    print(f"intake: {args.replicas} intake processes, 1 portal; {args.clients} client threads, each with a gRPC "
          f"channel and an HTTP connection of its own; {args.seconds:.0f} s a run; {os.cpu_count()} cores")
    names = ("intake", "portal", "postgres (this database)", "bench process")
    print(f"{'':28} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'calls':>7} | CPU ms a call: "
          + " ".join(f"{n.split()[0]:>8}" for n in names) + f" {'all':>6}")
    for r in results:
        cpu = r["cpu_ms"]
        print(f"{r['name']:28} {r['rate']:8.0f} {r['p50']:7.2f} {r['p99']:7.2f} {r['calls']:7d} | {'':14} "
              + " ".join(f"{cpu[n]:8.3f}" for n in names) + f" {sum(cpu.values()):6.3f}")
    noop, insert, grpc_submit, rest_submit = results
    print(f"SubmitReport / no-op gRPC: {grpc_submit['rate'] / noop['rate']:.2f}; SubmitReport / bare insert: "
          f"{grpc_submit['rate'] / insert['rate']:.2f}; REST / gRPC: {rest_submit['rate'] / grpc_submit['rate']:.2f}; "
          f"reports stored: {stored} (warm-ups included)")
    # The ceilings the CPU sets, whatever the scheduling: a target above the no-op's cannot be met by any
    # submission, and one above a fraction of it leaves that fraction of the no-op's CPU for the report.
    for r, what in ((noop, "call"), (grpc_submit, "report"), (rest_submit, "report")):
        spent = sum(r["cpu_ms"].values())
        print(f"{r['name']}: {spent:.3f} CPU ms a {what} in all, so {os.cpu_count()} cores doing nothing else "
              f"would carry {os.cpu_count() * 1000 / spent:.0f} a second")
    budget, call = os.cpu_count() * 1000 / TARGET, sum(noop["cpu_ms"].values())
    print(f"the target of {TARGET} reports a second on {os.cpu_count()} cores leaves {budget:.3f} CPU ms a report in "
          f"all: {budget - call:.3f} ms beyond a no-op call, against "
          f"{sum(grpc_submit['cpu_ms'].values()) - call:.3f} ms measured")


if __name__ == "__main__":
    main()
