"""A routing server on a real gRPC port over PostgreSQL, with the demo directory loaded."""

import pytest

from services.routing import demo, grpc_api
from services.routing.service import RoutingService
from sp4n.routing.v1 import routing_pb2_grpc


@pytest.fixture
def routing(pool, clock):
    service = RoutingService(pool=pool, clock=clock)
    service.ensure_national_desk()  # the suite empties every table between tests
    demo.load(pool)
    return service


@pytest.fixture
def stub(serve, routing):
    return routing_pb2_grpc.RoutingServiceStub(serve("routing", grpc_api.register(routing)))
