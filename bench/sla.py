"""The sla timer worker at scale: a tick with nothing due, the rate of firing due timers, memory.

    .venv/bin/python -m bench.sla [--instances 1000000] [--due 10000] [--ticks 200] [--profile]

Builds a throwaway database (sp4n_bench_<random>, every sla migration applied) on the server named by
SP4N_BENCH_DATABASE_URL, else DATABASE_URL, else an embedded PostgreSQL, and drops it at the end.

Every open instance holds real state. Two cases are started with SlaService.start_case on a
controllable clock (FileClock) and brought to where the benchmark needs them through fire_due;
their rows, in every sla table keyed by tracking_id, are then cloned in SQL (INSERT ... SELECT
over generate_series, two connections). Each clone gets its own tracking ID and its own task ids
(the last 8 hex digits of every UUID replaced by the clone's number), written into the stored
state and into the deadline ledger alike, so a clone is what start_case would have stored for it.
sla.events is not cloned: it is read only when an event arrives.

    case          started (WIB)      then                            next due (WIB), with today's model
    LAP-D0000000  Mon 2026-11-02     fire_due() on Thu 12:00         verification deadline Thu 23:59:59
                                     (its reminder fires)
    LAP-B0000000  Wed 2026-11-04     -                               reminder Mon 2026-11-09 00:00

Idle ticks run on Thu 2026-11-05 from 12:00 (nothing due). The firing rounds run on Fri 2026-11-06
10:00: the --due LAP-D instances have passed their verification deadline, so each fire runs the
escalation (notify/SendNotification, answered in-process as in bench/engine.py), records the breach
and stores the instance. Round 1 uses one worker thread; the LAP-D rows are then put back as they
were, and round 2 uses two worker processes (forked, each its own pool and SlaService). The
service calls are counted per instance and checked: every due instance made exactly the calls of
one fire of its state (found by running the engine on it in memory), no other instance made any.
"""

import argparse
import cProfile
import inspect
import json
import multiprocessing
import os
import pstats
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from functools import wraps
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bench.support import throwaway_database
from services.plumbing import db, identity
from services.plumbing.clock import FileClock
from services.sla import repository
from services.sla.calendar import WorkingCalendar
from services.sla.engine import Engine
from services.sla.service import SlaService

ROOT = Path(__file__).resolve().parents[1]
WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=WIB)
TICKS_AT = datetime(2026, 11, 5, 12, 0, tzinfo=WIB)   # Thu: reminders of Monday's cases fired, deadline tonight
FIRE_AT = datetime(2026, 11, 6, 10, 0, tzinfo=WIB)    # Fri: Monday's cases are past their verification deadline
PROCESS_ID = "report_lifecycle"
INTAKE = identity.Caller("intake", identity.SERVICE, "")
BATCH = 20_000  # clones per INSERT ... SELECT
TARGET_TICK_MS, TARGET_RATE = 10.0, 500.0
UUID_HEAD = re.compile(r"(?<=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})[0-9a-f]{8}")


class Family:
    """A case started with start_case (number 0) and its clones: LAP-<prefix><number>."""

    def __init__(self, prefix: str, submitted_at: datetime):
        self.prefix = prefix
        self.width = 8 - len(prefix)
        self.submitted_at = submitted_at
        self.size = 1  # instances in sla.instances, the started case included

    def tracking_id(self, n: int) -> str:
        return f"LAP-{self.prefix}{n:0{self.width}d}"

    @property
    def seed(self) -> str:
        return self.tracking_id(0)

    def members(self) -> list[str]:
        return [self.tracking_id(n) for n in range(self.size)]


DUE = Family("D", MONDAY)
NOT_DUE = Family("B", MONDAY + timedelta(days=2))


class CountingCaller:
    """Answers service tasks in-process (no gRPC), like bench/engine.py, and counts calls per instance."""

    def __init__(self, clock):
        self.clock = clock
        self.calls: dict[str, Counter] = defaultdict(Counter)  # tracking_id -> (operator, event) -> calls

    def call(self, operator, params, idempotency_key):
        self.calls[params.get("tracking_id", "")][f"{operator}:{params.get('event', '')}"] += 1
        if operator == "routing/AssignReport":
            return {"agency_id": "a", "agency_name": "A", "timezone": "Asia/Makassar", "parent_id": "nasional",
                    "assigned_at": self.clock.now().isoformat()}
        return {}


# -- where a fire's time goes: wall time of each top-level call into the engine and the repository ----
SPENT: dict[str, float] = defaultdict(float)
CALLS: Counter = Counter()
_nesting = threading.local()


def _timed(label: str, fn):
    @wraps(fn)
    def timed(*args, **kwargs):
        depth = getattr(_nesting, "depth", 0)
        _nesting.depth = depth + 1
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _nesting.depth = depth
            if depth == 0:
                SPENT[label] += time.perf_counter() - t0
                CALLS[label] += 1
    return timed


def instrument_repository() -> None:
    for name, fn in list(vars(repository).items()):
        if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == repository.__name__:
            setattr(repository, name, _timed(f"sql {name}", fn))


def _untimed(fn):
    return getattr(fn, "__wrapped__", fn)


def make_service(pool, clock, caller) -> SlaService:
    engine = Engine(calendar=WorkingCalendar(), caller=caller, clock=clock)
    for name, fn in inspect.getmembers(engine, lambda f: inspect.ismethod(f) or inspect.isfunction(f)):
        if not name.startswith("_"):
            setattr(engine, name, _timed(f"engine {name}", fn))
    return SlaService(pool=pool, engine=engine, clock=clock, process_id=PROCESS_ID)


def drain(service: SlaService, memory: list | None = None) -> int:
    """What a worker thread does when woken: fire until nothing is due (noting VmRSS as it goes)."""
    fired = 0
    while n := service.fire_due():
        fired += n
        if memory is not None:
            memory.append((fired, rss_mib()[0]))
    return fired


def cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine since boot, CPU seconds of this process)."""
    ticks = os.sysconf("SC_CLK_TCK")
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (sum(values) - values[3] - values[4]) / ticks, usage.ru_utime + usage.ru_stime  # minus idle, iowait


def postgres_cpu(url: str) -> float | None:
    """CPU seconds so far of this database's backends and the server's WAL writer, checkpointer and
    background writer, when the server runs on this machine (None otherwise)."""
    with psycopg.connect(url) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() AND pid <> pg_backend_pid()) "
            "OR backend_type IN ('walwriter', 'checkpointer', 'background writer')")]
    total = 0
    for pid in pids:
        try:
            if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                return None
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def print_cpu(machine: float, workers: float, postgres: float | None, fired: int, elapsed: float) -> None:
    split = f"{workers / fired * 1000:.2f} ms in the worker process(es), "
    if postgres is None:
        split += f"{(machine - workers) / fired * 1000:.2f} ms elsewhere (PostgreSQL and anything else running)"
    else:
        split += (f"{postgres / fired * 1000:.2f} ms in PostgreSQL (this database's backends, WAL writer, "
                  f"checkpointer), {max(0.0, machine - workers - postgres) / fired * 1000:.2f} ms in anything else")
    print(f"  CPU per timer: {split}; the machine was {machine / elapsed / os.cpu_count() * 100:.0f} % busy "
          f"on {os.cpu_count()} CPUs")
    others = machine - workers - (postgres or 0.0)
    if postgres is not None and others > 0.1 * machine:
        print(f"  WARNING: other processes took {others:.1f} CPU-s ({others / machine * 100:.0f} % of the busy CPU) "
              "during this round: the rate above is understated; run again on a quiet machine")


def rss_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB."""
    try:
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return float("nan"), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the database ------------------------------------------------------------------------------------
def server_url() -> str:
    url = os.environ.get("SP4N_BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    from services.plumbing import embedded_postgres
    print("no SP4N_BENCH_DATABASE_URL or DATABASE_URL: starting an embedded PostgreSQL")
    return embedded_postgres.start(ROOT / ".run" / "pg-bench")


def keyed_tables(conn) -> dict[str, list[tuple[str, str]]]:
    """sla tables with a tracking_id column, sla.instances first and sla.events left out, with the
    columns (name, type) an INSERT gives: serial, identity and generated columns left to their default."""
    rows = conn.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attidentity, a.attgenerated, "
        "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = 'sla' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY c.relname, a.attnum").fetchall()
    tables: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for table, column, data_type, is_identity, is_generated, default in rows:
        if is_identity or is_generated or (default or "").startswith("nextval("):
            continue
        tables[table].append((column, data_type))
    keyed = {t: cols for t, cols in tables.items() if t != "events" and any(c == "tracking_id" for c, _ in cols)}
    return dict(sorted(keyed.items(), key=lambda item: (item[0] != "instances", item[0])))


def snapshot(conn, tables: dict, family: Family) -> dict[str, list[dict]]:
    """The family's started case, row by row and column by column, as text split where each UUID's
    last 8 hex digits stand: a clone is array_to_string(pieces, its number in hex)."""
    rows = {}
    for table, columns in tables.items():
        select = sql.SQL("SELECT {} FROM sla.{} WHERE tracking_id = %s").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c, _ in columns),
            sql.Identifier(table))
        rows[table] = [{c: None if v is None else UUID_HEAD.split(v) for (c, _), v in zip(columns, row)}
                       for row in conn.execute(select, (family.seed,))]
    return rows


def clone_statement(table: str, columns: list[tuple[str, str]]) -> sql.Composed:
    number = sql.SQL("lpad(to_hex(g), 8, '0')")
    new_id = sql.SQL("('LAP-' || %(prefix)s || lpad(g::text, %(width)s, '0'))")
    values = [sql.SQL("replace(array_to_string({}::text[], {}), %(seed)s, {})::{}").format(
        sql.Placeholder(f"c{i}"), number, new_id, sql.SQL(data_type)) for i, (_, data_type) in enumerate(columns)]
    return sql.SQL("INSERT INTO sla.{} ({}) SELECT {} FROM generate_series(%(first)s::int, %(last)s::int) AS g").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns), sql.SQL(", ").join(values))


def grow(url: str, tables: dict, rows: dict, family: Family, first: int, size: int) -> None:
    """Clones numbers first..size-1 of the family from its snapshot, in batches on two connections."""
    statements = {t: clone_statement(t, cols) for t, cols in tables.items()}

    def load(batch):
        with psycopg.connect(url) as conn, conn.transaction():
            for table, columns in tables.items():
                for row in rows[table]:
                    params = {f"c{i}": row[c] for i, (c, _) in enumerate(columns)}
                    params.update(prefix=family.prefix, width=family.width, seed=family.seed,
                                  first=batch[0], last=batch[1])
                    conn.execute(statements[table], params)

    with ThreadPoolExecutor(2) as workers:
        list(workers.map(load, [(n, min(n + BATCH, size) - 1) for n in range(first, size, BATCH)]))
    family.size = max(family.size, size)


def put_back(url: str, tables: dict, rows: dict, family: Family) -> None:
    """The family's rows as they were before firing: deleted and cloned again from the snapshot."""
    with psycopg.connect(url) as conn, conn.transaction():
        for table in reversed(list(tables)):
            conn.execute(sql.SQL("DELETE FROM sla.{} WHERE tracking_id = ANY(%s)").format(sql.Identifier(table)),
                         (family.members(),))
    grow(url, tables, rows, family, 0, family.size)


def vacuum(url: str, tables) -> float:
    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("VACUUM (ANALYZE) sla.{}").format(sql.Identifier(table)))
    return time.perf_counter() - t0


def query(url: str, statement: str, params=None):
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchall()


def sizes(url: str, tables) -> str:
    (table, index), = query(url, "SELECT pg_total_relation_size('sla.instances'), "
                            "(SELECT sum(pg_relation_size(format('%I.%I', schemaname, indexname)::regclass)) "
                            " FROM pg_indexes WHERE schemaname = 'sla' AND tablename = 'instances' "
                            " AND indexdef LIKE '%next_due_at%')")
    rows = ", ".join(f"sla.{t} {query(url, sql.SQL('SELECT count(*) FROM sla.{}').format(sql.Identifier(t)))[0][0]:,}"
                     for t in tables)
    return (f"sla.instances {table / 2**30:.2f} GiB with TOAST and indexes, next_due_at index "
            f"{(index or 0) / 2**20:.2f} MiB; rows: {rows}")


class _CapturingConnection:
    """Stands in for a connection to read the SQL that repository.claim_due sends."""

    def execute(self, statement, params=None):
        self.statement, self.params = statement, params
        return self

    def fetchall(self):
        return []


def explain_claim(url: str, at: datetime) -> list[str]:
    capture = _CapturingConnection()
    _untimed(repository.claim_due)(capture, at)
    with psycopg.connect(url) as conn:
        plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {capture.statement}", capture.params).fetchall()
        conn.rollback()
    return [r[0] for r in plan]


def commit_ms(url: str, n: int = 200) -> float:
    """Median of a one-row INSERT committed on its own: the floor under each fire's transaction."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.bench_commit (n int)")
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            conn.execute("INSERT INTO public.bench_commit VALUES (%s)", (i,))
            times.append(time.perf_counter() - t0)
        conn.execute("DROP TABLE public.bench_commit")
    return statistics.median(times) * 1000


# -- measurements ------------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def idle_ticks(service: SlaService, n: int) -> list[float]:
    times = []
    for i in range(n + 5):  # the first 5 warm the connection and the plan
        t0 = time.perf_counter()
        fired = service.fire_due()
        if i >= 5:
            times.append((time.perf_counter() - t0) * 1000)
        if fired:
            raise AssertionError(f"{fired} instances were due during the idle ticks")
    return times


def print_ticks(label: str, times: list[float]) -> None:
    print(f"  {label}: median {statistics.median(times):.3f} ms, p95 {percentile(times, 95):.3f} ms, "
          f"max {max(times):.3f} ms over {len(times)} ticks (target < {TARGET_TICK_MS:.0f} ms)")


def print_memory(label: str, rss=None) -> None:
    now, peak = rss or rss_mib()
    print(f"  {label}: VmRSS {now:.1f} MiB (peak VmHWM {peak:.1f} MiB)")


def print_breakdown(spent: dict, calls: Counter, fired: int, busy: float) -> None:
    accounted = sum(spent.values())
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"    {label:<30} {seconds / fired * 1000:6.3f} ms per timer ({calls[label] / fired:.2f} calls)")
    print(f"    {'rest: pool, BEGIN/COMMIT, clock':<30} {(busy - accounted) / fired * 1000:6.3f} ms per timer")
    print(f"    {'total':<30} {busy / fired * 1000:6.3f} ms per timer")


def one_fire(url: str, rows: dict, clock: FileClock) -> tuple[Counter, dict, str]:
    """The service calls of one fire of the due family's state, run in memory; also the model and state."""
    caller = CountingCaller(clock)
    engine = Engine(calendar=WorkingCalendar(), caller=caller, clock=clock)
    instance = {c: None if v is None else "00000000".join(v) for c, v in rows["instances"][0].items()}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        model = _untimed(repository.load_version)(conn, int(instance["version_id"]))
    engine.run(engine.restore(model, instance["state"], instance["serializer_version"]))
    calls = caller.calls.pop(DUE.seed, Counter())
    return calls, model, instance


def check_once(label: str, expected: set[str], calls: dict[str, Counter], one: Counter, fired: int, url: str) -> bool:
    """Every due instance made exactly the calls of one fire; no other instance made any; none still due."""
    wrong = [t for t in expected if calls.get(t) != one]
    stray = set(calls) - expected
    (still_due,), = query(url, "SELECT count(*) FROM sla.instances WHERE next_due_at <= %s", (FIRE_AT,))
    ok = not wrong and not stray and fired == len(expected) and still_due == 0
    print(f"  check ({label}): {len(expected):,} due, {fired:,} fired, {len(calls):,} instances called; "
          f"one fire calls {dict(one)}; {len(wrong)} due instances with other calls (twice, or none), "
          f"{len(stray)} other instances called, {still_due} still due -> "
          f"{'each fired exactly once' if ok else 'FAILED'}")
    return ok


def fire_with_a_thread(service: SlaService, caller: CountingCaller, url: str):
    caller.calls.clear()
    SPENT.clear()
    CALLS.clear()
    result, memory = [], []
    worker = threading.Thread(target=lambda: result.append(drain(service, memory)), name="sla-timers")
    postgres = postgres_cpu(url)
    machine, own = cpu_seconds()
    t0 = time.perf_counter()
    worker.start()
    worker.join()
    elapsed = time.perf_counter() - t0
    machine_after, own_after = cpu_seconds()
    postgres_after = postgres_cpu(url)
    postgres = None if postgres is None or postgres_after is None else postgres_after - postgres
    return result[0], elapsed, machine_after - machine, own_after - own, postgres, memory


def _worker_process(url: str, clock_path: str, index: int, go, out, leave) -> None:
    """A worker process as sla runs one: its own pool and SlaService, opened after the fork."""
    pool = db.open_pool(url, name=f"bench-timers-{index}", size=2)
    clock = FileClock(clock_path)
    caller = CountingCaller(clock)
    service = make_service(pool, clock, caller)
    SPENT.clear()
    CALLS.clear()
    out.put(("ready", index))
    go.wait()
    _, cpu = cpu_seconds()
    t0 = time.perf_counter()
    fired = drain(service)
    busy = time.perf_counter() - t0
    cpu = cpu_seconds()[1] - cpu
    out.put(("done", index, fired, busy, {t: dict(c) for t, c in caller.calls.items()}, rss_mib(),
             dict(SPENT), dict(CALLS), cpu))
    leave.wait()  # keep the connections until the parent has read their backends' CPU time
    pool.close()


def fire_with_processes(url: str, clock_path: str, n: int):
    fork = multiprocessing.get_context("fork")
    go, leave, out = fork.Event(), fork.Event(), fork.Queue()
    sys.stdout.flush()
    workers = [fork.Process(target=_worker_process, args=(url, clock_path, i, go, out, leave)) for i in range(n)]
    for w in workers:
        w.start()
    for _ in workers:
        assert out.get(timeout=120)[0] == "ready"
    postgres = postgres_cpu(url)
    machine = cpu_seconds()[0]
    t0 = time.perf_counter()
    go.set()
    done = [out.get(timeout=3600) for _ in workers]
    elapsed = time.perf_counter() - t0
    machine = cpu_seconds()[0] - machine
    postgres_after = postgres_cpu(url)
    leave.set()
    for w in workers:
        w.join()
    postgres = None if postgres is None or postgres_after is None else postgres_after - postgres
    return sorted(done, key=lambda d: d[1]), elapsed, machine, postgres


def profile_engine(model, instance: dict, clock: FileClock, n: int = 300) -> None:
    """The engine's part of a fire, on the due family's stored state: each step timed, then
    shares of engine time from cProfile (JSON, the serializer, the engine's task walks)."""
    engine = Engine(calendar=WorkingCalendar(), caller=CountingCaller(clock), clock=clock)
    state, version = instance["state"], instance["serializer_version"]
    steps = defaultdict(list)
    stored = ""
    for _ in range(n):
        t0 = time.perf_counter()
        json.loads(state)
        t1 = time.perf_counter()
        wf = engine.restore(model, state, version)
        t2 = time.perf_counter()
        engine.run(wf)
        t3 = time.perf_counter()
        engine.describe(wf)
        t4 = time.perf_counter()
        stored, _ = engine.dump(wf)
        t5 = time.perf_counter()
        for step, seconds in [("json.loads", t1 - t0), ("restore", t2 - t1), ("run", t3 - t2),
                              ("describe", t4 - t3), ("dump", t5 - t4)]:
            steps[step].append(seconds * 1000)
    print(f"  the engine alone on a due instance's state ({len(state) / 1024:.1f} KiB JSON in, "
          f"{len(stored) / 1024:.1f} KiB out), medians of {n}:")
    for step in ("restore", "run", "describe", "dump"):
        print(f"    {step:<10} {statistics.median(steps[step]):6.3f} ms")
    print(f"    {'sum':<10} {sum(statistics.median(steps[s]) for s in ('restore', 'run', 'describe', 'dump')):6.3f} ms"
          f"   (json.loads of the state by itself: {statistics.median(steps['json.loads']):.3f} ms)")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        wf = engine.restore(model, state, version)
        engine.run(wf)
        engine.describe(wf)
        engine.dump(wf)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(tt for _, _, tt, _, _ in stats.values())

    def share(match) -> float:
        return sum(ct for (path, _, name), (_, _, _, ct, _) in stats.items() if match(path, name)) / total * 100

    print("    shares of engine time under cProfile (which inflates Python code against C code such as json):")
    for label, match in [
        ("json.loads, any caller", lambda p, f: p.endswith("json/__init__.py") and f == "loads"),
        ("tasks from dict (restore)", lambda p, f: p.endswith("sla/engine.py") and f == "_restore_tasks"),
        ("refresh_timers (run)", lambda p, f: f == "refresh_timers"),
        ("do_engine_steps (run)", lambda p, f: f == "do_engine_steps"),
        ("describe", lambda p, f: p.endswith("sla/engine.py") and f == "describe"),
        ("dump", lambda p, f: p.endswith("sla/engine.py") and f == "dump"),
        ("json.dumps, any caller", lambda p, f: p.endswith("json/__init__.py") and f == "dumps"),
        ("process spec to dict, any caller", lambda p, f: p.endswith("default/process_spec.py") and f == "to_dict"),
        ("get_tasks, any caller", lambda p, f: f == "get_tasks"),
    ]:
        print(f"      {label:<32} {share(match):5.1f} %")


# -- the run -----------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1_000_000, help="open instances at full size")
    parser.add_argument("--due", type=int, default=10_000, help="due timers fired in each round")
    parser.add_argument("--small", type=int, default=1_000, help="open instances at the small size")
    parser.add_argument("--ticks", type=int, default=200, help="idle ticks measured at each size")
    parser.add_argument("--profile", action="store_true", help="profile the engine even when the rate is on target")
    args = parser.parse_args()
    if not 2 <= args.small <= args.instances - args.due:
        parser.error("need 2 <= --small <= --instances - --due")
    if not 1 <= args.due < 10 ** DUE.width:
        parser.error(f"--due must be between 1 and {10 ** DUE.width - 1}")

    started = time.perf_counter()
    ok = True
    with throwaway_database(server_url()) as (url, name), tempfile.TemporaryDirectory() as tmp:
        applied = db.migrate(url, schema="sla", folder=ROOT / "services" / "sla" / "migrations")
        (server,), = query(url, "SELECT version()")
        settings = {k: v for k, v in zip(("shared_buffers", "synchronous_commit", "max_wal_size"), query(
            url, "SELECT current_setting('shared_buffers'), current_setting('synchronous_commit'), "
                 "current_setting('max_wal_size')")[0])}
        print(f"sla timer worker: {args.instances:,} open instances, {args.due:,} due timers per round; "
              f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        print(f"{server.split(' on ')[0]} ({', '.join(f'{k} {v}' for k, v in sorted(settings.items()))}); "
              f"database {name}, sla migrations {', '.join(applied)}")
        instrument_repository()
        clock = FileClock(Path(tmp) / "clock.json")
        caller = CountingCaller(clock)
        pool = db.open_pool(url, name="bench-sla", size=2)
        service = make_service(pool, clock, caller)
        service.deploy_folder(ROOT / "bpmn")
        for family in (DUE, NOT_DUE):
            clock.set(family.submitted_at)
            service.start_case(caller=INTAKE, event_id=f"bench:{family.seed}", tracking_id=family.seed,
                               submitted_at=family.submitted_at, category="infrastruktur", region_code="6310")
        clock.set(TICKS_AT)
        before = drain(service)  # what fell due between the starts and the ticks: the Monday case's reminder
        with psycopg.connect(url) as conn:
            tables = keyed_tables(conn)
            rows = {family.prefix: snapshot(conn, tables, family) for family in (DUE, NOT_DUE)}
            seeds = conn.execute("SELECT tracking_id, started_at, next_due_at, length(state), stage "
                                 "FROM sla.instances ORDER BY tracking_id DESC").fetchall()
        for tracking_id, at, due_at, size, stage in seeds:
            print(f"  started {tracking_id} {at.astimezone(WIB):%a %Y-%m-%d %H:%M} WIB; stage {stage or '-'}, next due "
                  f"{due_at.astimezone(WIB):%a %Y-%m-%d %H:%M:%S} WIB, state {size / 1024:.1f} KiB JSON")
        print(f"  fired by fire_due() at {TICKS_AT:%a %H:%M} WIB, before the snapshot: {before} (what fell due in "
              f"{DUE.seed} since its start); cloned per case: "
              f"{', '.join(f'sla.{t} {len(rows[DUE.prefix][t])} row(s)' for t in tables)}")

        # 1,000 open instances
        t0 = time.perf_counter()
        grow(url, tables, rows["B"], NOT_DUE, 1, args.small - DUE.size)
        seconds = time.perf_counter() - t0
        seconds_vacuum = vacuum(url, tables)
        (n,), = query(url, "SELECT count(*) FROM sla.instances WHERE status <> 'completed'")
        print(f"\n{n:,} open instances (cloned in {seconds:.1f} s, VACUUM ANALYZE {seconds_vacuum:.1f} s), "
              f"clock {clock.now().astimezone(WIB):%a %Y-%m-%d %H:%M} WIB")
        print_ticks("idle tick, fire_due() -> 0", idle_ticks(service, args.ticks))
        print_memory("worker process memory after the ticks")

        # full size
        t0 = time.perf_counter()
        grow(url, tables, rows["D"], DUE, 1, args.due)
        grow(url, tables, rows["B"], NOT_DUE, NOT_DUE.size, args.instances - args.due)
        seconds = time.perf_counter() - t0
        seconds_vacuum = vacuum(url, tables)
        (n,), = query(url, "SELECT count(*) FROM sla.instances WHERE status <> 'completed'")
        cloned = args.instances - args.small
        print(f"\n{n:,} open instances (cloned {cloned:,} more in {seconds:.1f} s = {cloned / seconds:,.0f} "
              f"instances/s on 2 connections, VACUUM ANALYZE {seconds_vacuum:.1f} s; load and vacuum "
              f"{seconds + seconds_vacuum:.0f} s)")
        print(f"  {sizes(url, tables)}")
        print("  every clone holds real state (its own tracking ID and task ids); an idle tick reads no state")
        print_ticks("idle tick, fire_due() -> 0", idle_ticks(service, args.ticks))
        print_memory("worker process memory after the ticks")
        print("  the claim query, EXPLAIN ANALYZE:")
        for line in explain_claim(url, clock.now()):
            print(f"    | {line}")

        # round 1: one worker thread
        clock.set(FIRE_AT)
        one, model, instance = one_fire(url, rows["D"], clock)
        expected = set(DUE.members())
        due = {t for t, in query(url, "SELECT tracking_id FROM sla.instances WHERE next_due_at <= %s", (clock.now(),))}
        assert due == expected, f"due: {len(due)} instances, {len(due - expected)} of them not LAP-D"
        print(f"\nfiring {len(due):,} due timers (verification deadline passed: escalate, record the breach, "
              f"store) among {n:,} open instances, clock {clock.now().astimezone(WIB):%a %Y-%m-%d %H:%M} WIB")
        fired, elapsed, machine, own, postgres, memory = fire_with_a_thread(service, caller, url)
        rate_thread = fired / elapsed
        print(f"  1 worker thread: {fired:,} timers in {elapsed:.2f} s = {rate_thread:,.0f} timers/s "
              f"(target >= {TARGET_RATE:.0f})")
        print_cpu(machine, own, postgres, fired, elapsed)
        ok &= check_once("1 thread", expected, caller.calls, one, fired, url)
        print_memory("worker process memory after firing")
        marks = [memory[min(len(memory) - 1, round(f * (len(memory) - 1)))] for f in (0, 0.1, 0.5, 1)]
        print("    VmRSS while firing: " + ", ".join(f"{rss:.1f} MiB after {n:,}" for n, rss in marks)
              + " (it includes the benchmark's own call counts, one entry per instance called: ~0.3 KiB each)")
        print("  where a timer's time goes (wall time of top-level calls, 1 thread):")
        print_breakdown(SPENT, CALLS, fired, elapsed)
        print(f"    (for scale: a one-row INSERT + COMMIT on this server takes {commit_ms(url):.3f} ms, median)")
        print_ticks("idle tick right after firing, before VACUUM", idle_ticks(service, args.ticks))
        pool.close()  # no connection crosses the fork below

        # round 2: two worker processes
        t0 = time.perf_counter()
        put_back(url, tables, rows["D"], DUE)
        seconds_vacuum = vacuum(url, tables)
        print(f"\nthe {DUE.size:,} LAP-D instances put back as before firing ({time.perf_counter() - t0:.1f} s "
              f"with VACUUM ANALYZE); firing them again")
        done, elapsed, machine, postgres = fire_with_processes(url, str(clock.path), 2)
        fired = sum(d[2] for d in done)
        rate_processes = fired / elapsed
        print(f"  2 worker processes: {fired:,} timers in {elapsed:.2f} s = {rate_processes:,.0f} timers/s "
              f"(target >= {TARGET_RATE:.0f}); " + ", ".join(f"process {d[1]}: {d[2]:,} in {d[3]:.2f} s" for d in done))
        print_cpu(machine, sum(d[8] for d in done), postgres, fired, elapsed)
        calls: dict[str, Counter] = defaultdict(Counter)
        for d in done:
            for tracking_id, made in d[4].items():
                calls[tracking_id].update(made)
        ok &= check_once("2 processes", expected, calls, one, fired, url)
        for d in done:
            print_memory(f"worker process {d[1]} memory after firing", d[5])
        spent, counted = Counter(), Counter()
        for d in done:
            spent.update(d[6])
            counted.update(d[7])
        print("  where a timer's time goes (2 processes, per timer in its own process):")
        print_breakdown(spent, counted, fired, sum(d[3] for d in done))

        if args.profile or min(rate_thread, rate_processes) < TARGET_RATE:
            print()
            profile_engine(model, instance, clock)
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
