"""The service-task operators a model may use: `<service>/<Rpc>`, each one gRPC method.

Parameters are the request's fields (from expressions over task data); sla adds the
idempotency key. What comes back into task data is a small projection of the answer:
references, not documents.
"""

from dataclasses import dataclass
from typing import Callable

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.notify.v1 import notify_pb2, notify_pb2_grpc
from sp4n.routing.v1 import routing_pb2, routing_pb2_grpc
from sp4n.verification.v1 import verification_pb2, verification_pb2_grpc


@dataclass(frozen=True)
class Operator:
    service: str
    stub: type
    method: str
    request: type
    project: Callable[[Message], dict]


NATIONAL_DESK = "nasional"  # routing's desk of the national administrators: the top of every hierarchy


def _assignment(a: routing_pb2.Assignment) -> dict:
    return {"agency_id": a.agency.id, "agency_name": a.agency.name, "timezone": a.agency.timezone,
            "parent_id": a.agency.parent_id or NATIONAL_DESK,
            "assigned_at": a.assigned_at.ToDatetime().isoformat() + "+00:00"}


def _report(r: intake_pb2.Report) -> dict:
    return {"status": intake_pb2.ReportStatus.Name(r.status)}


OPERATORS: dict[str, Operator] = {
    "intake/ForwardReport": Operator("intake", intake_pb2_grpc.IntakeServiceStub, "ForwardReport",
                                     intake_pb2.ForwardReportRequest, _report),
    "intake/SetReportStatus": Operator("intake", intake_pb2_grpc.IntakeServiceStub, "SetReportStatus",
                                       intake_pb2.SetReportStatusRequest, _report),
    "verification/EnqueueReport": Operator("verification", verification_pb2_grpc.VerificationServiceStub,
                                           "EnqueueReport", verification_pb2.EnqueueReportRequest,
                                           lambda item: {"tracking_id": item.tracking_id}),
    "routing/AssignReport": Operator("routing", routing_pb2_grpc.RoutingServiceStub, "AssignReport",
                                     routing_pb2.AssignReportRequest, _assignment),
    "notify/SendNotification": Operator("notify", notify_pb2_grpc.NotifyServiceStub, "SendNotification",
                                        notify_pb2.SendNotificationRequest, lambda n: {"id": n.id}),
}


class GrpcServiceCaller:
    """Calls operators over gRPC channels to the other services."""

    def __init__(self, channels: dict[str, grpc.Channel], timeout: float = 10.0):
        self.timeout = timeout
        self._stubs = {name: op.stub(channels[op.service]) for name, op in OPERATORS.items()}

    def call(self, operator: str, params: dict, idempotency_key: str) -> dict:
        op = OPERATORS[operator]
        request = json_format.ParseDict({**params, "idempotency_key": idempotency_key}, op.request())
        # Fail fast when the service is down: the task is kept failed and retried with back-off,
        # visible to analysts, instead of holding the instance's lock while the channel reconnects.
        response = getattr(self._stubs[operator], op.method)(request, timeout=self.timeout, wait_for_ready=False)
        return op.project(response)
