"""python -m services.verification: the verification queue and decisions."""

from pathlib import Path

from services.plumbing import process
from services.verification import grpc_api
from services.verification.service import VerificationService


def build(ctx: process.Context):
    service = VerificationService(pool=ctx.pool, clock=ctx.clock)
    return [grpc_api.register(service)], [ctx.outbox_relay_to_sla()]


if __name__ == "__main__":
    process.run("verification", migrations=Path(__file__).with_name("migrations"), outbox=True, build=build)
