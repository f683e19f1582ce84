"""What the benchmarks share: throwaway databases, a database with intake's schema made once and kept
between runs, and a meter of the CPU time each process spends."""

import os
import resource
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from services.plumbing import db

ROOT = Path(__file__).resolve().parents[1]


def with_database(url: str, name: str) -> str:
    """The same server URI pointing at database `name`."""
    return psycopg.conninfo.make_conninfo(**(psycopg.conninfo.conninfo_to_dict(url) | {"dbname": name}))


@contextmanager
def throwaway_database(server: str) -> Iterator[tuple[str, str]]:
    """A new empty database sp4n_bench_<random> on `server`: its URI and name; dropped at the end,
    however the benchmark ends."""
    name = f"sp4n_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server, name), name
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        print(f"dropped database {name}")


def intake_database(url: str, name: str) -> str:
    """The connection string of database `name` on the server at `url`, created when missing, with
    intake's migrations applied."""
    with psycopg.connect(url, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f"CREATE DATABASE {name}")
    target = with_database(url, name)
    db.migrate(target, schema="intake", folder=ROOT / "services" / "intake" / "migrations", outbox=True)
    return target


TICK = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state first); empty once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return []


class CpuMeter:
    """CPU seconds so far of the benchmark's server processes (`pids`: a name for each group of them), of
    the PostgreSQL server's processes (the backends serving the benchmark's database apart from the rest:
    other databases, WAL writer, checkpointer, backends gone), of this process (client threads, polling),
    and the machine's busy time. A local server: its /proc entries are read. Where the work went,
    whatever else the machine was doing meanwhile."""

    OWN = ("postgres (this database)", "bench process")  # what a call costs besides the servers

    def __init__(self, pids: dict[str, list[int]], conn: psycopg.Connection, database: str):
        self.pids = pids
        self.conn, self.database = conn, database
        self.postmaster = int(stat(conn.info.backend_pid)[1])  # the parent of every backend
        self.backends: set[int] = set()

    @staticmethod
    def used(pid: int) -> float:
        """utime + stime of a process and of its children it has waited for; 0 once it is gone."""
        fields = stat(pid)
        return sum(int(x) for x in fields[11:15]) / TICK if fields else 0.0

    def postgres_pids(self) -> list[int]:
        """The postmaster and its children: the server's every process."""
        children = [int(entry.name) for entry in Path("/proc").iterdir()
                    if entry.name.isdigit() and stat(int(entry.name))[1:2] == [str(self.postmaster)]]
        return [self.postmaster, *children]

    @staticmethod
    def machine_busy() -> float:
        """Seconds of CPU time all cores spent on anything but idle and iowait since boot."""
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(values) - values[3] - values[4]) / TICK

    def snapshot(self) -> dict[str, float]:
        """CPU seconds so far by process, and the machine's."""
        self.backends |= {pid for (pid,) in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))}
        postgres = {pid: self.used(pid) for pid in self.postgres_pids()}
        ours = sum(t for pid, t in postgres.items() if pid in self.backends)
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {**{name: sum(self.used(pid) for pid in pids) for name, pids in self.pids.items()},
                "postgres (this database)": ours, "postgres (other)": sum(postgres.values()) - ours,
                "bench process": own.ru_utime + own.ru_stime, "machine (all cores)": self.machine_busy()}

    def per_call(self, before: dict[str, float], after: dict[str, float], calls: int) -> dict[str, float]:
        """Milliseconds of CPU per call of the servers, their database backends and this process."""
        return {name: (after[name] - before[name]) * 1000 / max(calls, 1) for name in [*self.pids, *self.OWN]}
