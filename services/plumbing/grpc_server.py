"""gRPC server start-up shared by every service.

Each server speaks the standard health protocol and server reflection, verifies the
signed caller identity on every other call, maps domain errors to status codes with
details, counts every call and its time by method and status code (services.plumbing.metrics),
binds the caller's request id while it handles a call, and stops gracefully on SIGTERM:
health turns NOT_SERVING, background workers stop, calls in flight get the grace period to finish.
"""

import logging
import signal
import threading
import time
from concurrent import futures
from typing import Callable, Iterable, Protocol

import grpc
import psycopg
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from services.plumbing import config, identity, metrics, request_ids
from services.plumbing.logs import fields
from services.plumbing.errors import (DomainError, FailedPrecondition, InvalidArgument, NotFound,
                                      PermissionDenied, ResourceExhausted, Unauthenticated,
                                      Unavailable)

log = logging.getLogger(__name__)

_OPEN_METHODS = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                 "/grpc.reflection.v1.ServerReflection/")

_CODES = [
    (InvalidArgument, code_pb2.INVALID_ARGUMENT),
    (NotFound, code_pb2.NOT_FOUND),
    (PermissionDenied, code_pb2.PERMISSION_DENIED),
    (FailedPrecondition, code_pb2.FAILED_PRECONDITION),
    (Unauthenticated, code_pb2.UNAUTHENTICATED),
    (ResourceExhausted, code_pb2.RESOURCE_EXHAUSTED),
    (Unavailable, code_pb2.UNAVAILABLE),
]


class Worker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def status_for(error: DomainError) -> status_pb2.Status:
    """The rich gRPC status for a domain error (google.rpc.BadRequest names the field of a bad argument,
    google.rpc.PreconditionFailure the field of a failed precondition)."""
    code = next((c for cls, c in _CODES if isinstance(error, cls)), code_pb2.FAILED_PRECONDITION)
    status = status_pb2.Status(code=code, message=str(error))
    if isinstance(error, InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.reason)]))
        status.details.append(detail)
    if isinstance(error, FailedPrecondition) and error.field:
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(type="FIELD", subject=error.field,
                                                           description=str(error))]))
        status.details.append(detail)
    return status


class _ObservingInterceptor(grpc.ServerInterceptor):
    """Binds the call's request id (the caller's when it has a valid one, else a new one) and counts
    the call by method and status code, with its time. Outermost, so that it sees the code the edge
    interceptor aborted with."""

    def __init__(self, service: str):
        self.service = service

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        method = handler_call_details.method
        metadata = dict(handler_call_details.invocation_metadata or ())
        requests = metrics.GRPC_REQUESTS
        quiet = method.startswith(_OPEN_METHODS)  # health checks every few seconds would drown the log
        seconds = metrics.GRPC_SECONDS.labels(self.service, method)

        def call(request, context):
            token = request_ids.bind(request_ids.taken_or_new(metadata.get(request_ids.METADATA_KEY)))
            started = time.perf_counter()
            unset = grpc.StatusCode.OK  # what the client sees when the handler set no code
            try:
                return inner(request, context)
            except Exception:
                unset = grpc.StatusCode.UNKNOWN  # an abort sets its code; anything else arrives as UNKNOWN
                raise
            finally:
                elapsed = time.perf_counter() - started
                seconds.observe(elapsed)
                code = context.code() or unset
                requests.labels(self.service, method, code.name).inc()
                if not quiet:  # the access log: method and outcome only, never the request's fields
                    log.info("handled %s", method, extra=fields(code=code.name, ms=round(elapsed * 1000, 1)))
                request_ids.unbind(token)

        return grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


def _refused_stream(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same kind as `handler` that refuses every call."""
    def refuse(_request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "only unary calls are served")

    kind = (grpc.unary_stream_rpc_method_handler if handler.unary_stream else
            grpc.stream_unary_rpc_method_handler if handler.stream_unary else grpc.stream_stream_rpc_method_handler)
    return kind(refuse, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)


class _EdgeInterceptor(grpc.ServerInterceptor):
    """Verifies the caller identity and turns domain errors into status codes."""

    def __init__(self, identity_key: str):
        self.identity_key = identity_key

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_OPEN_METHODS):
            return handler
        if handler.unary_unary is None:  # only unary calls get their identity checked: refuse, never serve unchecked
            return _refused_stream(handler)
        inner = handler.unary_unary
        metadata = dict(handler_call_details.invocation_metadata or ())
        deserialize = handler.request_deserializer

        def call(raw: bytes, context):
            try:
                caller = identity.verify(metadata.get(identity.METADATA_KEY, ""), self.identity_key)
            except Unauthenticated as e:
                context.abort_with_status(rpc_status.to_status(status_for(e)))
            # Read here rather than by gRPC, which answers INTERNAL to bytes that are no such message
            # (a string field that is not UTF-8, say: no protobuf library sends one, a hostile client may).
            try:
                request = deserialize(raw) if deserialize else raw
            except DecodeError:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the request is not a valid message of this method")
            token = identity.bind(caller)
            try:
                return inner(request, context)
            except DomainError as e:
                context.abort_with_status(rpc_status.to_status(status_for(e)))
            except psycopg.OperationalError as e:  # the database restarting, unreachable, or the pool exhausted
                log.warning("%s: the database could not serve it: %s", method, type(e).__name__)
                context.abort(grpc.StatusCode.UNAVAILABLE, "the database could not be reached; try again (with "
                                                           "the same idempotency key, where the call takes one)")
            except Exception:
                log.exception("%s failed", method)
                context.abort(grpc.StatusCode.INTERNAL, "internal error; the request was not applied")
            finally:
                identity.unbind(token)

        return grpc.unary_unary_rpc_method_handler(call, response_serializer=handler.response_serializer)


class GrpcServer:
    """A started gRPC server with health and reflection; `stop()` is graceful."""

    def __init__(self, *, name: str, identity_key: str, threads: int = 16):
        self.name = name
        self.health = health.HealthServicer(experimental_non_blocking=True)
        limit = config.get_int("SP4N_GRPC_MAX_MESSAGE_BYTES")
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"{name}-grpc"),
            interceptors=[_ObservingInterceptor(name), _EdgeInterceptor(identity_key)],
            options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.service_names: list[str] = []
        self.port = 0

    def add(self, register: Callable[[grpc.Server], None], service_name: str) -> None:
        """Adds a servicer: `register(server)` is the generated add_..._to_server bound to it."""
        register(self.server)
        self.service_names.append(service_name)

    def start(self, port: int, host: str = "[::]") -> int:
        names = [*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
        reflection.enable_server_reflection(names, self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise RuntimeError(f"{self.name} could not bind port {port}")
        self.server.start()
        for name in ["", *self.service_names]:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s serving gRPC on port %d", self.name, self.port)
        return self.port

    def stop(self, grace: float = 10.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def stop_on_signals(name: str) -> threading.Event:
    """An event set by SIGTERM or SIGINT. Install it first thing, so that a signal during start-up
    also ends in a graceful stop."""
    stopping = threading.Event()

    def on_signal(signum, _frame):
        log.info("%s received %s; stopping", name, signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stopping


def run_until_signalled(server: GrpcServer, workers: Iterable[Worker] = (), grace: float = 10.0,
                        stopping: threading.Event | None = None) -> None:
    """Runs the started server and workers until `stopping` is set (by default on SIGTERM or
    SIGINT), then stops them in order."""
    stopping = stopping or stop_on_signals(server.name)
    workers = list(workers)
    for worker in workers:
        worker.start()
    # Wake up now and then: a signal may land on one of gRPC's threads, and Python runs its handler
    # only when the main thread next runs bytecode. An unbounded wait could sleep through SIGTERM.
    while not stopping.wait(0.5):
        pass
    server.health.enter_graceful_shutdown()
    for worker in workers:
        worker.stop()
    server.stop(grace)
    log.info("%s stopped", server.name)
