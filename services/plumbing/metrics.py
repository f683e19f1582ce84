"""Prometheus metrics: what every process counts, gauges read from the database at scrape time, and the
HTTP endpoint that serves them at /metrics.

Counters and histograms live in the process-wide registry. A gauge that needs the database is one cheap
query run when Prometheus scrapes (a collector), never a thread polling in between; when the database
does not answer, the scrape still answers, with `sp4n_database_gauges_up` 0 instead of the gauges.
"""

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

GRPC_REQUESTS = Counter("sp4n_grpc_server_requests", "gRPC calls handled, by service, method and status code",
                        ["service", "method", "code"])
GRPC_SECONDS = Histogram("sp4n_grpc_server_handling_seconds", "time to handle a gRPC call, by service and method",
                         ["service", "method"])
# The route is Flask's URL rule (`/lacak/<tracking_id>`), never the path itself: a path holds tracking
# ids and tokens, and one series per report would swamp Prometheus.
HTTP_REQUESTS = Counter("sp4n_http_requests", "HTTP requests the portal answered, by method, route and status",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("sp4n_http_request_seconds", "time to answer an HTTP request, by method and route",
                         ["method", "route"])
# Requests that found every one of the portal's HTTP worker threads busy and waited in waitress's queue.
HTTP_QUEUED = Counter("sp4n_http_requests_queued", "HTTP requests that waited for a free worker thread of the portal")
# How many items a group commit (plumbing/group_commit.py) wrote in one transaction: near 1 on a quiet
# service, larger under load, where it saves a commit for every item but the first.
GROUP_COMMIT_BATCH = Histogram("sp4n_group_commit_batch_size", "items written together in one transaction, by what",
                               ["items"], buckets=(1, 2, 4, 8, 16, 32, 64))

Reading = float | Mapping[str, float]  # one value, or one value per label value


@dataclass(frozen=True)
class DatabaseGauge:
    name: str
    help: str
    read: Callable[[object], Reading]  # takes a connection
    label: str | None = None  # the label of a reading with one value per label value


class DatabaseGauges(Collector):
    """Gauges read from the database when scraped, over one pooled connection."""

    def __init__(self, pool: ConnectionPool, *, timeout_seconds: float = 2.0):
        self.pool = pool
        self.timeout_seconds = timeout_seconds
        self.gauges: list[DatabaseGauge] = []

    def add(self, name: str, help: str, read: Callable[[object], Reading], *, label: str | None = None) -> None:
        self.gauges.append(DatabaseGauge(name, help, read, label))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = []
        try:
            with self.pool.connection(timeout=self.timeout_seconds) as conn, conn.transaction():
                # A scrape must not queue behind the database: better a gap in the graph.
                conn.execute(f"SET LOCAL statement_timeout = {int(self.timeout_seconds * 1000)}")
                for gauge in self.gauges:
                    reading = gauge.read(conn)
                    if gauge.label is None:
                        families.append(GaugeMetricFamily(gauge.name, gauge.help, value=float(reading)))
                    else:
                        family = GaugeMetricFamily(gauge.name, gauge.help, labels=[gauge.label])
                        for value, number in reading.items():
                            family.add_metric([value], float(number))
                        families.append(family)
        except Exception as e:
            log.warning("database gauges could not be read: %s", e)
            yield GaugeMetricFamily("sp4n_database_gauges_up", "1 when the database gauges were read", value=0)
            return
        yield GaugeMetricFamily("sp4n_database_gauges_up", "1 when the database gauges were read", value=1)
        yield from families


class MetricsEndpoint:
    """Serves /metrics over HTTP on host:port once started (port 0: any free port, see `port`): the
    process-wide metrics and `gauges`."""

    def __init__(self, *, host: str, port: int, gauges: DatabaseGauges | None = None):
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(REGISTRY)
        if gauges is not None:
            self.registry.register(gauges)
        self.host = host
        self.port = port
        self._server = None

    def start(self) -> None:
        self._server, _thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = self._server.server_port
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
