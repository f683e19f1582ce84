"""What a caller sees when a handler fails: a database that cannot serve is UNAVAILABLE (worth a retry),
anything unforeseen is INTERNAL, and neither tells the caller more than that."""

import grpc
import psycopg
import psycopg_pool
import pytest

from tests.support import service_caller


class Failing(grpc.GenericRpcHandler):
    """/probe.Probe/<Name> raises the exception FAILURES[name]."""

    FAILURES = {
        "Restarting": psycopg.OperationalError("server closed the connection unexpectedly"),
        "PoolExhausted": psycopg_pool.PoolTimeout("couldn't get a connection after 30.00 sec"),
        "Bug": KeyError("tracking_id"),
    }

    def service(self, handler_call_details):
        name = handler_call_details.method.rsplit("/", 1)[-1]

        def fail(request, context):
            raise self.FAILURES[name]

        return grpc.unary_unary_rpc_method_handler(fail)


@pytest.fixture
def probe(serve):
    channel = serve("probe", (lambda server: server.add_generic_rpc_handlers((Failing(),)), "probe.Probe"))
    return lambda name: channel.unary_unary(f"/probe.Probe/{name}")(b"", metadata=service_caller("portal"), timeout=10)


@pytest.mark.parametrize("name", ["Restarting", "PoolExhausted"])
def test_a_database_that_cannot_serve_is_unavailable_so_the_caller_retries(probe, name):
    with pytest.raises(grpc.RpcError) as raised:
        probe(name)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "try again" in raised.value.details() and "closed" not in raised.value.details()


def test_anything_else_is_internal_and_tells_nothing_of_the_code(probe):
    with pytest.raises(grpc.RpcError) as raised:
        probe("Bug")
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert "tracking_id" not in raised.value.details()
