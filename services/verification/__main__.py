"""python -m services.verification: the verification queue and decisions."""

from pathlib import Path

from services.plumbing import config, outbox, process
from services.verification import grpc_api
from services.verification.service import VerificationService
from sp4n.sla.v1 import sla_pb2_grpc


def build(ctx: process.Context):
    service = VerificationService(pool=ctx.pool, clock=ctx.clock)
    relay = outbox.OutboxRelay(pool=ctx.pool, schema=ctx.name,
                               deliver=outbox.to_sla(sla_pb2_grpc.SlaServiceStub(ctx.channel("sla"))),
                               poll_seconds=config.get_float("SP4N_OUTBOX_POLL_SECONDS"))
    return [grpc_api.register(service)], [relay]


if __name__ == "__main__":
    process.run("verification", migrations=Path(__file__).with_name("migrations"), outbox=True, build=build)
