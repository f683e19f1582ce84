"""For the hostile-input tests: how many generated cases each fuzzing run sent, reported at the end of
the session (the issue's closing note quotes these counts), and the checks that a database holds no
partial write."""

from collections import Counter

import psycopg
import pytest

# The portal's fixtures: the portal app and its API over a real intake server on the test database.
from tests.portal.api_support import as_sla, clients, keys, root, serve_api  # noqa: F401
from tests.portal.conftest import (app, client, closed_address, demo_routing, fake_notify, fake_sla,  # noqa: F401
                                   grpc_address, intake_address, intake_stub, make_app, others_address, portal_url,
                                   routing_address, serve_app, visitor)
from tests.portal.test_open311_fakes import make_open311_app  # noqa: F401

# Cases sent, by run ("rest-api POST /reports", "grpc intake.SubmitReport", ...), and how they were answered.
CASES: Counter[str] = Counter()
ANSWERS: dict[str, Counter[str]] = {}


def count(run: str, answer: str = "") -> None:
    """One case sent by `run`; `answer`, when known, is the status it got (OK, INVALID_ARGUMENT, 201, ...)."""
    CASES[run] += 1
    if answer:
        ANSWERS.setdefault(run, Counter())[answer] += 1


def pytest_terminal_summary(terminalreporter):
    if not CASES:
        return
    terminalreporter.section("hostile input: generated cases sent")
    by_family = Counter()
    for run, n in sorted(CASES.items()):
        answers = ", ".join(f"{a} {k}" for a, k in sorted(ANSWERS.get(run, {}).items()))
        terminalreporter.write_line(f"{n:6d}  {run}" + (f"  ({answers})" if answers else ""))
        by_family[run.split(" ", 1)[0]] += n
    for family, n in sorted(by_family.items()):
        terminalreporter.write_line(f"{n:6d}  all of {family}")


# Rows that can only exist with others: a report without its reporter row or its first timeline entry,
# an entry or attachment without its report, an API submission whose report is missing.
PARTIAL_WRITES = {
    "report without a reporter row": """
        SELECT r.tracking_id FROM intake.reports r
        WHERE NOT EXISTS (SELECT FROM intake.reporters p WHERE p.tracking_id = r.tracking_id)""",
    "report without its submitted entry": """
        SELECT r.tracking_id FROM intake.reports r
        WHERE NOT EXISTS (SELECT FROM intake.timeline t
                          WHERE t.tracking_id = r.tracking_id AND t.kind = 'submitted')""",
    "report without the outbox event that starts its process": """
        SELECT r.tracking_id FROM intake.reports r
        WHERE NOT EXISTS (SELECT FROM intake.outbox o WHERE o.tracking_id = r.tracking_id)""",
    "API submission without its report": """
        SELECT s.tracking_id FROM portal.api_submissions s
        WHERE NOT EXISTS (SELECT FROM intake.reports r WHERE r.tracking_id = s.tracking_id)""",
}


def partial_writes(database_url: str) -> dict[str, list[str]]:
    """Each kind of partial write found, with the tracking IDs it was found for (empty: none)."""
    found = {}
    with psycopg.connect(database_url) as conn:
        for name, query in PARTIAL_WRITES.items():
            if rows := [tracking_id for (tracking_id,) in conn.execute(query)]:
                found[name] = rows
    return found


@pytest.fixture
def no_partial_writes():
    """Call with the database URL: fails naming every partial write found."""
    def check(database_url: str) -> None:
        assert partial_writes(database_url) == {}
    return check
