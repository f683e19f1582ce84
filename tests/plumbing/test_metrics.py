"""Each service's /metrics, scraped over HTTP: its gRPC calls by method and status code with their time,
and backlogs read from the database at the moment of the scrape."""

import urllib.request
from datetime import timedelta

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.notify import __main__ as notify_main
from services.plumbing import metrics
from services.plumbing.errors import NotFound
from services.sla import __main__ as sla_main
from tests.support import service_caller

ECHO = "/test.Echo/Echo"


def echo_service(server: grpc.Server) -> None:
    def echo(request: bytes, context) -> bytes:
        if request == b"missing":
            raise NotFound("nothing by that name")
        return request

    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}),))


@pytest.fixture
def endpoint():
    """Where one started endpoint serves; `endpoint(gauges)` starts it."""
    started = []

    def start(gauges: metrics.DatabaseGauges | None = None) -> metrics.MetricsEndpoint:
        served = metrics.MetricsEndpoint(host="127.0.0.1", port=0, gauges=gauges)
        served.start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def scrape(served: metrics.MetricsEndpoint) -> dict[tuple[str, frozenset], float]:
    """Every sample at /metrics, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_grpc_calls_are_counted_by_service_method_and_code_with_their_time(serve, endpoint):
    channel = serve("metered", (echo_service, "test.Echo"))
    echo = channel.unary_unary(ECHO)
    assert echo(b"hello", metadata=service_caller("portal"), timeout=5) == b"hello"
    assert echo(b"again", metadata=service_caller("portal"), timeout=5) == b"again"
    with pytest.raises(grpc.RpcError) as missing:
        echo(b"missing", metadata=service_caller("portal"), timeout=5)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as unsigned:
        echo(b"hello", timeout=5)
    assert unsigned.value.code() == grpc.StatusCode.UNAUTHENTICATED

    samples = scrape(endpoint())
    calls = "sp4n_grpc_server_requests_total"
    assert value(samples, calls, service="metered", method=ECHO, code="OK") == 2
    assert value(samples, calls, service="metered", method=ECHO, code="NOT_FOUND") == 1
    assert value(samples, calls, service="metered", method=ECHO, code="UNAUTHENTICATED") == 1
    assert value(samples, "sp4n_grpc_server_handling_seconds_count", service="metered", method=ECHO) == 4
    assert value(samples, "sp4n_grpc_server_handling_seconds_bucket", service="metered", method=ECHO,
                 le="+Inf") == 4


def test_sla_gauges_count_due_timers_and_breached_deadlines_when_scraped(pool, clock, endpoint):
    now = clock.now()
    with pool.connection() as conn, conn.transaction():
        version = conn.execute(
            "INSERT INTO sla.process_versions (process_id, content_hash, bpmn, spec_json, version) "
            "VALUES ('report_lifecycle', 'h', '', '', 1) RETURNING id").fetchone()["id"]
        for tracking_id, due in [("LAP-DUE1", now - timedelta(minutes=5)), ("LAP-DUE2", now),
                                 ("LAP-LATER", now + timedelta(hours=1)), ("LAP-IDLE", None)]:
            conn.execute("INSERT INTO sla.instances (tracking_id, version_id, serializer_version, state, status, "
                         "next_due_at, started_at, updated_at) VALUES (%s, %s, '1', '', 'running', %s, %s, %s)",
                         (tracking_id, version, due, now, now))
        for breached in [now - timedelta(days=1), now - timedelta(days=2), None]:
            conn.execute("INSERT INTO sla.deadlines (task_id, tracking_id, name, owner, due_at, started_at, "
                         "breached_at) VALUES (gen_random_uuid(), 'LAP-DUE1', 'verify', 'national', %s, %s, %s)",
                         (now, now - timedelta(days=3), breached))
    gauges = metrics.DatabaseGauges(pool)
    sla_main.add_gauges(gauges, clock)
    served = endpoint(gauges)

    samples = scrape(served)
    assert value(samples, "sp4n_database_gauges_up") == 1
    assert value(samples, "sp4n_sla_timers_due") == 2
    assert value(samples, "sp4n_sla_deadlines_breached") == 2

    clock.advance(timedelta(hours=2))  # read at each scrape, on the service's clock
    assert value(scrape(served), "sp4n_sla_timers_due") == 3


def test_notify_gauge_counts_pending_sending_and_dead_letters(pool, endpoint):
    with pool.connection() as conn, conn.transaction():
        for n, status in enumerate(["pending", "pending", "sending", "sent", "sent", "failed"]):
            conn.execute("INSERT INTO notify.notifications (tracking_id, event, recipient, channel, language, "
                         "subject, body, status, created_at) VALUES (%s, 'report_received', 'reporter', 'email', "
                         "'id', 's', 'b', %s, now())", (f"LAP-N{n}", status))
    gauges = metrics.DatabaseGauges(pool)
    notify_main.add_gauges(gauges)

    samples = scrape(endpoint(gauges))
    assert value(samples, "sp4n_notify_notifications", status="pending") == 2
    assert value(samples, "sp4n_notify_notifications", status="sending") == 1
    assert value(samples, "sp4n_notify_notifications", status="failed") == 1
    assert value(samples, "sp4n_notify_notifications", status="sent") is None


def test_a_scrape_answers_when_the_database_gauges_cannot_be_read(pool, endpoint):
    gauges = metrics.DatabaseGauges(pool)
    gauges.add("sp4n_test_broken", "a query that fails", lambda conn: conn.execute("SELECT * FROM nowhere"))

    samples = scrape(endpoint(gauges))
    assert value(samples, "sp4n_database_gauges_up") == 0
    assert value(samples, "sp4n_test_broken") is None
