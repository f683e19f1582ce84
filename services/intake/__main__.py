"""python -m services.intake: reports, reporters and timelines, with the outbox that starts each
report's process."""

import hashlib
import hmac
from pathlib import Path

from services.intake import grpc_api
from services.intake.publication_service import PublicTextRefresh
from services.intake.service import IntakeService
from services.plumbing import process


def build(ctx: process.Context):
    # Page tokens are signed with a key of their own, derived from the shared identity key so that
    # every replica accepts the others' tokens.
    page_key = hmac.new(ctx.identity_key.encode(), b"sp4n-intake-page-tokens", hashlib.sha256).digest()
    service = IntakeService(pool=ctx.pool, clock=ctx.clock, page_key=page_key)
    return [grpc_api.register(service)], [ctx.outbox_relay_to_sla(), PublicTextRefresh(service.publication)]


if __name__ == "__main__":
    process.run("intake", migrations=Path(__file__).with_name("migrations"), outbox=True, build=build)
