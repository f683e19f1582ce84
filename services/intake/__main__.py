"""python -m services.intake: reports, reporters and timelines, with the outbox that starts each
report's process."""

from pathlib import Path

from services.intake import grpc_api
from services.intake.service import IntakeService
from services.plumbing import config, outbox, process
from sp4n.sla.v1 import sla_pb2_grpc


def build(ctx: process.Context):
    service = IntakeService(pool=ctx.pool, clock=ctx.clock)
    relay = outbox.OutboxRelay(pool=ctx.pool, schema=ctx.name,
                               deliver=outbox.to_sla(sla_pb2_grpc.SlaServiceStub(ctx.channel("sla"))),
                               poll_seconds=config.get_float("SP4N_OUTBOX_POLL_SECONDS"))
    return [grpc_api.register(service)], [relay]


if __name__ == "__main__":
    process.run("intake", migrations=Path(__file__).with_name("migrations"), outbox=True, build=build)
