"""What the benchmarks share: a database with intake's schema, made once and kept between runs."""

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
