"""python -m services.portal: the web pages for reporters and staff, served over HTTP, with a gRPC server
that has no services of its own so that its health is checked like every other service's. With
SP4N_DEMO_DATA=1 it makes the demo staff accounts and logs how to sign in to them."""

from pathlib import Path

from services.plumbing import config, process
from services.portal import api, regions, staff_demo, web, webhooks
from services.portal.http_server import HttpServer
from services.portal.staff_service import StaffService
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2_grpc
from sp4n.sla.v1 import sla_pb2_grpc
from sp4n.verification.v1 import verification_pb2_grpc


# The portal does not serve without the region list its forms offer: at start it waits this long for
# routing to give it, then stops (and is restarted) rather than serve forms that refuse every region.
REGIONS_WAIT_SECONDS = 120


def build(ctx: process.Context):
    routing = routing_pb2_grpc.RoutingServiceStub(ctx.channel("routing"))
    region_list = regions.fetch(routing, timeout=REGIONS_WAIT_SECONDS)
    app = web.create_app(intake=intake_pb2_grpc.IntakeServiceStub(ctx.channel("intake")),
                         sla=sla_pb2_grpc.SlaServiceStub(ctx.channel("sla")),
                         notify=notify_pb2_grpc.NotifyServiceStub(ctx.channel("notify")), routing=routing,
                         verification=verification_pb2_grpc.VerificationServiceStub(ctx.channel("verification")),
                         identity_key=ctx.identity_key, pool=ctx.pool, clock=ctx.clock,
                         open311_api_keys=tuple(config.get("PORTAL_OPEN311_API_KEYS").split(",")),
                         extra_blueprints=[api.from_context(ctx), webhooks.from_context(ctx)], regions=region_list)
    if config.get("SP4N_DEMO_DATA") == "1":
        staff_demo.ensure(StaffService(pool=ctx.pool, clock=ctx.clock), ctx.identity_key)
    http = HttpServer(app, host=config.get("PORTAL_HTTP_HOST"), port=config.get_int("PORTAL_HTTP_PORT"))
    return [], [http]


if __name__ == "__main__":
    process.run("portal", migrations=Path(__file__).with_name("migrations"), build=build)
