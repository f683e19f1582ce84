"""An intake server on the test database, and the callers its tests act as."""

import pytest

from services.intake import grpc_api
from services.intake.service import IntakeService
from sp4n.intake.v1 import intake_pb2_grpc
from tests.intake.reports import T0


@pytest.fixture
def stub(serve, pool, clock):
    clock.set(T0)
    channel = serve("intake", grpc_api.register(IntakeService(pool=pool, clock=clock)))
    return intake_pb2_grpc.IntakeServiceStub(channel)
