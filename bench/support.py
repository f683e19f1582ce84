"""What the benchmarks share: a database with intake's schema made once and kept between runs, and a
meter of the CPU time each process spends."""

import os
import time
from pathlib import Path

import psycopg

from services.plumbing import db

ROOT = Path(__file__).resolve().parents[1]


def intake_database(url: str, name: str) -> str:
    """The connection string of database `name` on the server at `url`, created when missing, with
    intake's migrations applied."""
    with psycopg.connect(url, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f"CREATE DATABASE {name}")
    target = psycopg.conninfo.make_conninfo(**(psycopg.conninfo.conninfo_to_dict(url) | {"dbname": name}))
    db.migrate(target, schema="intake", folder=ROOT / "services" / "intake" / "migrations", outbox=True)
    return target


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime and stime, fields 14 and 15 of stat(5)


class CpuMeter:
    """CPU seconds spent by this process, by the server processes `pids`, and by the PostgreSQL backends
    serving `database` (a local server: their /proc entries are read): where a benchmark's work went,
    whatever else the machine was doing meanwhile."""

    def __init__(self, pids: dict[str, list[int]], admin_url: str, database: str):
        self.pids, self.admin_url, self.database = pids, admin_url, database

    def _backends(self) -> list[int]:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                               (self.database,))]

    def read(self) -> dict[str, float]:
        """Seconds so far: one entry per name of `pids`, "postgres" and "bench" (this process)."""
        spent = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.pids.items()}
        spent["postgres"] = sum(cpu_seconds(p) for p in self._backends())
        spent["bench"] = time.process_time()
        return spent

    @staticmethod
    def per_call(before: dict[str, float], after: dict[str, float], calls: int) -> dict[str, float]:
        """Milliseconds of CPU per call, by whom."""
        return {name: (after[name] - before[name]) * 1000 / max(calls, 1) for name in after}
