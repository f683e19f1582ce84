"""python -m services.intake: reports, reporters and timelines, with the outbox that starts each
report's process."""

from pathlib import Path

from services.intake import grpc_api
from services.intake.service import IntakeService
from services.plumbing import process


def build(ctx: process.Context):
    service = IntakeService(pool=ctx.pool, clock=ctx.clock)
    return [grpc_api.register(service)], [ctx.outbox_relay_to_sla()]


if __name__ == "__main__":
    process.run("intake", migrations=Path(__file__).with_name("migrations"), outbox=True, build=build)
