"""What the benchmarks share: throwaway databases, and a database with intake's schema made once and kept
between runs."""

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
