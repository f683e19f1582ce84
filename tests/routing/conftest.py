"""A routing server on a real gRPC port over PostgreSQL, with the reference list of regions and the demo
directory loaded, as `python -m services.routing` starts with SP4N_DEMO_DATA=1."""

import pytest

from services.routing import demo, grpc_api
from services.routing.service import RoutingService
from sp4n.routing.v1 import routing_pb2_grpc


@pytest.fixture
def routing(pool, clock):
    service = RoutingService(pool=pool, clock=clock)
    service.ensure_national_desk()  # the suite empties every table between tests
    service.load_regions()
    demo.load(pool)
    return service


@pytest.fixture
def stub(serve, routing):
    return routing_pb2_grpc.RoutingServiceStub(serve("routing", grpc_api.register(routing)))
