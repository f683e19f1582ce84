"""Start-up of one service process: configuration, logs, migrations, pool, server, metrics, workers."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import grpc
from psycopg_pool import ConnectionPool

from services.plumbing import clock as clocks
from services.plumbing import config, db, identity, logs, metrics, outbox
from services.plumbing.channels import connect
from services.plumbing.outbox import pending_count as outbox_pending
from services.plumbing.grpc_server import GrpcServer, Worker, run_until_signalled, stop_on_signals
from sp4n.sla.v1 import sla_pb2_grpc

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What a service's wiring gets to build its servicer and workers from."""
    name: str
    pool: ConnectionPool
    clock: clocks.Clock
    identity_key: str
    signer: identity.ServiceSigner
    # Read when /metrics is scraped; a service adds its own. Made over `pool` when not given.
    gauges: metrics.DatabaseGauges | None = None

    def __post_init__(self):
        if self.gauges is None:
            self.gauges = metrics.DatabaseGauges(self.pool)

    def channel(self, service: str) -> grpc.Channel:
        """A channel to another service, at its <SERVICE>_SERVICE_ADDR."""
        return connect(config.get(f"{service.upper()}_SERVICE_ADDR"), self.signer)

    def outbox_relay_to_sla(self) -> outbox.OutboxRelay:
        """The relay that hands this service's outbox events to the processes in sla."""
        return outbox.OutboxRelay(pool=self.pool, schema=self.name,
                                  deliver=outbox.to_sla(sla_pb2_grpc.SlaServiceStub(self.channel("sla"))),
                                  poll_seconds=config.get_float("SP4N_OUTBOX_POLL_SECONDS"),
                                  concurrency=config.get_int("SP4N_OUTBOX_CONCURRENCY"))


Servicers = Iterable[tuple[Callable[[grpc.Server], None], str]]


def run(name: str, *, migrations: Path | None, outbox: bool = False,
        build: Callable[[Context], tuple[Servicers, Iterable[Worker]]]) -> None:
    """Runs service `name` until SIGTERM: `build` returns its servicers (register function,
    full service name) and background workers."""
    stopping = stop_on_signals(name)
    logs.configure(name, config.get("SP4N_LOG_LEVEL"))
    url = config.get("DATABASE_URL")
    key = config.get("SP4N_IDENTITY_KEY")
    if len(key) < 32:
        raise config.ConfigError("SP4N_IDENTITY_KEY must be at least 32 characters")
    if migrations is not None:
        db.migrate(url, schema=name, folder=migrations, outbox=outbox)
    pool = db.open_pool(url, name=name, size=config.get_int("SP4N_DB_POOL_SIZE"))
    context = Context(name=name, pool=pool, clock=clocks.from_setting(config.get("SP4N_CLOCK")),
                      identity_key=key, signer=identity.ServiceSigner(name, key),
                      gauges=metrics.DatabaseGauges(pool))
    if outbox:
        context.gauges.add("sp4n_outbox_pending", "outbox events not yet relayed",
                           lambda conn: outbox_pending(conn, name))
    servicers, workers = build(context)
    server = GrpcServer(name=name, identity_key=key, threads=config.get_int("SP4N_GRPC_THREADS"))
    for register, service_name in servicers:
        server.add(register, service_name)
    server.start(config.get_int(f"{name.upper()}_PORT"))
    endpoint = None
    if metrics_port := config.get_int(f"{name.upper()}_METRICS_PORT"):
        endpoint = metrics.MetricsEndpoint(host=config.get("SP4N_METRICS_HOST"), port=metrics_port,
                                           gauges=context.gauges)
        endpoint.start()
    try:
        run_until_signalled(server, workers, grace=config.get_float("SP4N_GRACE_SECONDS"), stopping=stopping)
    finally:
        if endpoint is not None:
            endpoint.stop()
        pool.close()
