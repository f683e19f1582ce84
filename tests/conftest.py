"""Fixtures shared by the whole suite: a real PostgreSQL, real gRPC servers, signed callers, and headless
Chromium for the browser tests of the portal and of the whole system."""

import os
import secrets
import shutil

import grpc
import psycopg
import pytest
from playwright import sync_api
from psycopg import sql

from services.plumbing import db
from services.plumbing.clock import FileClock
from services.plumbing.grpc_server import GrpcServer
from tests.portal import axe_core
from tests.support import IDENTITY_KEY, ROOT

SERVICES = ("intake", "verification", "routing", "sla", "notify", "portal")
OUTBOX_SERVICES = ("intake", "verification", "routing")

# make test installs Debian's chromium (make system-deps): its absence is a failure, not a skip.
CHROMIUM = shutil.which("chromium")
# Chromium on a machine without network or display, as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def with_database(url: str, name: str) -> str:
    """The same server URI pointing at database `name`."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def pytest_configure(config):
    """Without a server named, an embedded one starts here, once: in the process that runs the tests, or
    under pytest-xdist (make test) in the controller before its workers start, which inherit its URL.
    It stops when this process ends."""
    if os.environ.get("SP4N_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"):
        return
    from services.plumbing import embedded_postgres
    os.environ["SP4N_TEST_DATABASE_URL"] = embedded_postgres.start(ROOT / ".run" / "pg-test")


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server to create test databases on (each pytest-xdist worker makes its own):
    SP4N_TEST_DATABASE_URL, else DATABASE_URL, else the embedded server pytest_configure started."""
    return os.environ.get("SP4N_TEST_DATABASE_URL") or os.environ["DATABASE_URL"]


@pytest.fixture(scope="session")
def make_database(postgres_url):
    """Creates fresh, empty databases, dropped at the end of the session."""
    created = []

    def make() -> str:
        name = f"sp4n_test_{secrets.token_hex(4)}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return with_database(postgres_url, name)

    yield make
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for name in created:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def migrated_url(make_database):
    """A database with every service's migrations applied, shared by the unit tests."""
    url = make_database()
    for service in SERVICES:
        folder = ROOT / "services" / service / "migrations"
        if folder.is_dir():
            db.migrate(url, schema=service, folder=folder, outbox=service in OUTBOX_SERVICES)
    return url


# Tables whose serial or identity sequence has handed out a value since it was last reset.
MOVED_SEQUENCES = """
    SELECT DISTINCT format('%%I.%%I', tn.nspname, t.relname)
    FROM pg_sequences s
    JOIN pg_namespace sn ON sn.nspname = s.schemaname
    JOIN pg_class sc ON sc.relname = s.sequencename AND sc.relnamespace = sn.oid
    JOIN pg_depend d ON d.objid = sc.oid AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    WHERE s.schemaname = ANY(%s) AND s.last_value IS NOT NULL AND t.relname <> 'schema_migrations'"""


@pytest.fixture
def database_url(migrated_url):
    """The shared test database, emptied after each test."""
    yield migrated_url
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname = ANY(%s) AND tablename <> 'schema_migrations'", (list(SERVICES),))]
        # TRUNCATE costs as much for an empty table as for a full one, so only the tables the test
        # wrote to are emptied: those with rows, and those whose sequence moved (rows added, then deleted).
        with_rows = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT FROM {t})" for t in tables)
        moved = conn.execute(MOVED_SEQUENCES, (list(SERVICES),)).fetchall()
        touched = sorted({t for (t,) in conn.execute(with_rows)} | {t for (t,) in moved}) if tables else []
        if touched:
            conn.execute(f"TRUNCATE {', '.join(touched)} RESTART IDENTITY CASCADE")


@pytest.fixture
def pool(database_url):
    p = db.open_pool(database_url, name="test", size=4)
    yield p
    p.close()


@pytest.fixture
def clock(tmp_path):
    """A controllable clock, starting at real time."""
    return FileClock(tmp_path / "clock.json")


@pytest.fixture
def serve():
    """Starts a real gRPC server on a free port with the given servicers; returns a channel to it.
    `serve.addresses[name]` is where the server listens, for code that makes its own channel."""
    servers, channels = [], []

    def start(name: str, *registrations) -> grpc.Channel:
        server = GrpcServer(name=name, identity_key=IDENTITY_KEY, threads=8)
        for register, service_name in registrations:
            server.add(register, service_name)
        port = server.start(0, host="127.0.0.1")
        servers.append(server)
        start.addresses[name] = f"127.0.0.1:{port}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        channels.append(channel)
        return channel

    start.addresses = {}
    yield start
    for channel in channels:
        channel.close()
    for server in servers:
        server.stop(0)


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium, driven by Playwright, for the tests of one module."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_page(chromium):
    """Opens a page in a browser of its own (cookies and all), with axe-core at hand when asked;
    at the end, fails on what a person would not see but should not happen (a script error, a
    refused resource, something the Content Security Policy blocked)."""
    contexts, problems = [], []

    def open_(locale: str = "id-ID", axe: bool = False) -> sync_api.Page:
        context = chromium.new_context(locale=locale, accept_downloads=True)
        if axe:  # an init script, so the page's Content Security Policy leaves it alone
            context.add_init_script(axe_core.script())
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type != "document" else None)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert problems == []
