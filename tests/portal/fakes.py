"""Stand-ins for sla and notify, served over real gRPC, that answer for the reports they are given."""

from services.plumbing import identity
from services.plumbing.errors import NotFound, PermissionDenied
from services.sla.domain import may_read_case
from sp4n.notify.v1 import notify_pb2, notify_pb2_grpc
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc


class FakeSla(sla_pb2_grpc.SlaServiceServicer):
    """GetCase of the cases it is given, refusing whom sla refuses (sla's own rule) by the agency each
    case is assigned to in `agencies`."""

    def __init__(self):
        self.cases: dict[str, sla_pb2.Case] = {}
        self.agencies: dict[str, str] = {}

    def GetCase(self, request, context):
        caller = identity.current()
        if not may_read_case(caller, request.tracking_id, self.agencies.get(request.tracking_id, "")):
            raise PermissionDenied(f"{caller.role} may not see the case of {request.tracking_id}")
        if request.tracking_id not in self.cases:
            raise NotFound(f"no case for {request.tracking_id}")
        return self.cases[request.tracking_id]


class FakeNotify(notify_pb2_grpc.NotifyServiceServicer):
    def __init__(self):
        self.notifications: dict[str, list[notify_pb2.Notification]] = {}

    def ListNotifications(self, request, context):
        identity.require_service(identity.current(), "portal")
        return notify_pb2.ListNotificationsResponse(notifications=self.notifications.get(request.tracking_id, []))


def registrations(sla: FakeSla, notify: FakeNotify):
    return [
        (lambda server: sla_pb2_grpc.add_SlaServiceServicer_to_server(sla, server),
         sla_pb2.DESCRIPTOR.services_by_name["SlaService"].full_name),
        (lambda server: notify_pb2_grpc.add_NotifyServiceServicer_to_server(notify, server),
         notify_pb2.DESCRIPTOR.services_by_name["NotifyService"].full_name),
    ]

