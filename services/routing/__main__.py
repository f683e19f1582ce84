"""python -m services.routing: the agency directory, the reference list of regions, routing rules and
assignments, with the outbox that tells a report's process when an agency declines it."""

from pathlib import Path

from services.plumbing import config, process
from services.routing import demo, grpc_api
from services.routing.service import RoutingService


def build(ctx: process.Context):
    service = RoutingService(pool=ctx.pool, clock=ctx.clock)
    service.ensure_national_desk()
    service.load_regions()  # reference data: always, demo data or not
    if config.get("SP4N_DEMO_DATA") == "1":
        demo.load(ctx.pool, ctx.clock)  # through the directory import, as any directory file
    return [grpc_api.register(service)], [ctx.outbox_relay_to_sla()]


if __name__ == "__main__":
    process.run("routing", migrations=Path(__file__).with_name("migrations"), outbox=True, build=build)
