"""The sla gRPC API: protobuf in and out, domain in between."""

from google.protobuf import json_format

from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.identifiers import check_tracking_id
from services.plumbing.wire import required_time, timestamp
from services.sla.domain import MESSAGES, Case
from services.sla.service import SlaService
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc


def case_pb(case: Case) -> pb.Case:
    return pb.Case(
        tracking_id=case.tracking_id, process_version=case.process_version, status=case.state.status,
        waiting_for=case.state.waiting_for, failed_tasks=case.state.failed_tasks,
        deadlines=[pb.Deadline(name=d.name, due_at=timestamp(d.due_at)) for d in case.state.deadlines],
        next_due_at=timestamp(case.state.next_due_at))


def _event_id(value: str) -> str:
    if not value or len(value) > 200:
        raise InvalidArgument("event_id", "is required, at most 200 characters")
    return value


class SlaApi(sla_pb2_grpc.SlaServiceServicer):
    def __init__(self, service: SlaService):
        self.service = service

    def StartCase(self, request: pb.StartCaseRequest, context) -> pb.CaseResponse:
        case, repeated = self.service.start_case(
            caller=identity.current(), event_id=_event_id(request.event_id),
            tracking_id=check_tracking_id(request.tracking_id), submitted_at=required_time(request, "submitted_at"),
            category=request.category[:100], region_code=request.region_code[:10])
        return pb.CaseResponse(case=case_pb(case), repeated_event=repeated)

    def SignalCase(self, request: pb.SignalCaseRequest, context) -> pb.CaseResponse:
        if request.message_name not in MESSAGES:
            raise InvalidArgument("message_name", f"must be one of {', '.join(sorted(MESSAGES))}")
        if request.payload.ByteSize() > 16_384:
            raise InvalidArgument("payload", "at most 16 KiB: events carry references, not documents")
        case, repeated = self.service.signal_case(
            caller=identity.current(), event_id=_event_id(request.event_id),
            tracking_id=check_tracking_id(request.tracking_id), message=request.message_name,
            payload=json_format.MessageToDict(request.payload))
        return pb.CaseResponse(case=case_pb(case), repeated_event=repeated)

    def GetCase(self, request: pb.GetCaseRequest, context) -> pb.Case:
        return case_pb(self.service.get_case(caller=identity.current(),
                                             tracking_id=check_tracking_id(request.tracking_id)))


def register(service: SlaService):
    api = SlaApi(service)
    return (lambda server: sla_pb2_grpc.add_SlaServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["SlaService"].full_name)
