"""PostgreSQL: connection pools and each service's SQL migrations.

Every service keeps its tables in a schema of its own and applies the numbered SQL
files of its `migrations/` folder at start, under an advisory lock so that replicas
starting together apply each file once.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)


def open_pool(url: str, *, name: str, size: int = 8) -> ConnectionPool:
    """A pool of connections that hand out rows as dicts. Open it after any fork."""
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=size,
        kwargs={"row_factory": dict_row, "application_name": f"sp4n-{name}"},
        name=f"sp4n-{name}",
        open=False,
    )
    pool.open(wait=True, timeout=30)
    return pool


@contextmanager
def autocommit(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """A connection of `pool` on which every statement commits by itself: for a use case whose
    changes are one statement, it saves the round trips of BEGIN and COMMIT."""
    with pool.connection() as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.autocommit = False


_OUTBOX_SQL = Path(__file__).with_name("sql") / "outbox.sql"


def migrate(url: str, *, schema: str, folder: Path, outbox: bool = False) -> list[str]:
    """Applies the SQL files in `folder` not yet applied to `schema`; returns their names.

    With `outbox`, the shared outbox table (plumbing/sql/outbox.sql) comes first.
    """
    scripts = [(p.name, p.read_text()) for p in sorted(folder.glob("*.sql"))]
    if outbox:
        scripts.insert(0, ("000_outbox.sql", _OUTBOX_SQL.read_text().replace("{schema}", schema)))
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"sp4n-migrate:{schema}",))
        try:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations '
                "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute(f'SELECT version FROM "{schema}".schema_migrations')}
            for version, sql in scripts:
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(f'INSERT INTO "{schema}".schema_migrations (version) VALUES (%s)', (version,))
                applied.append(version)
                log.info("applied migration %s/%s", schema, version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"sp4n-migrate:{schema}",))
    return applied
