"""The sla gRPC API: protobuf in and out, domain in between."""

from datetime import datetime

from google.protobuf import json_format

from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.identifiers import check_idempotency_key, check_tracking_id
from services.plumbing.wire import required_time, timestamp
from services.sla.calendar import WorkingCalendar, deadline_zone
from services.sla.calendar_api import CalendarApi
from services.sla.calendar_service import CalendarService
from services.sla.domain import EXPIRY, MESSAGES, Case
from services.sla.service import ProcessVersion, SlaService
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc


def due_soon_from(calendar: WorkingCalendar, owner: str, due_at: datetime):
    """The start of the deadline's last working day in its owner's zone, as a Timestamp."""
    return timestamp(calendar.start_of_last_working_days(due_at, 1, deadline_zone(owner, due_at)))


def case_pb(case: Case, now: datetime, calendar: WorkingCalendar) -> pb.Case:
    """Every recorded deadline (met, breached, open), then the open expiries (closure, completion), each
    with the moment it is due soon by `calendar` as it stands now."""
    deadlines = [pb.Deadline(name=d.name, owner=d.owner, due_at=timestamp(d.due_at), state=d.state,
                             started_at=timestamp(d.started_at), met_at=timestamp(d.met_at),
                             breached_at=timestamp(d.breached_at), late_seconds=d.late_seconds(now),
                             due_soon_from=due_soon_from(calendar, d.owner, d.due_at))
                 for d in case.tracked]
    deadlines += [pb.Deadline(name=d.name, due_at=timestamp(d.due_at), state="open",
                              due_soon_from=due_soon_from(calendar, d.owner, d.due_at))
                  for d in case.state.deadlines if d.kind == EXPIRY]
    return pb.Case(
        tracking_id=case.tracking_id, process_version=case.process_version, status=case.state.status,
        waiting_for=case.state.waiting_for, failed_tasks=case.state.failed_tasks, deadlines=deadlines,
        next_due_at=timestamp(case.state.next_due_at), stage=case.state.stage, last_error=case.last_error or "",
        history=[pb.StageChange(stage=h.stage, entered_at=timestamp(h.entered_at)) for h in case.history])


def version_pb(v: ProcessVersion) -> pb.ProcessVersion:
    return pb.ProcessVersion(version=v.version, process_id=v.process_id, content_hash=v.content_hash,
                             deployed_at=timestamp(v.deployed_at), newest=v.newest,
                             running_instances=v.running_instances)


def _event_id(value: str) -> str:
    if not value or len(value) > 200:
        raise InvalidArgument("event_id", "is required, at most 200 characters")
    return value


class SlaApi(CalendarApi):  # CalendarApi derives from the generated SlaServiceServicer
    def __init__(self, service: SlaService, calendar_service: CalendarService | None = None):
        self.service = service
        self.calendar_service = calendar_service

    def _case_pb(self, case: Case) -> pb.Case:
        return case_pb(case, self.service.clock.now(), self.service.engine.calendar)

    def StartCase(self, request: pb.StartCaseRequest, context) -> pb.CaseResponse:
        case, repeated = self.service.start_case(
            caller=identity.current(), event_id=_event_id(request.event_id),
            tracking_id=check_tracking_id(request.tracking_id), submitted_at=required_time(request, "submitted_at"),
            category=request.category[:100], region_code=request.region_code[:10],
            suggested_agency_id=request.suggested_agency_id[:100])
        return pb.CaseResponse(case=self._case_pb(case), repeated_event=repeated)

    def SignalCase(self, request: pb.SignalCaseRequest, context) -> pb.CaseResponse:
        if request.message_name not in MESSAGES:
            raise InvalidArgument("message_name", f"must be one of {', '.join(sorted(MESSAGES))}")
        if request.payload.ByteSize() > 16_384:
            raise InvalidArgument("payload", "at most 16 KiB: events carry references, not documents")
        case, repeated = self.service.signal_case(
            caller=identity.current(), event_id=_event_id(request.event_id),
            tracking_id=check_tracking_id(request.tracking_id), message=request.message_name,
            payload=json_format.MessageToDict(request.payload))
        return pb.CaseResponse(case=self._case_pb(case), repeated_event=repeated)

    def GetCase(self, request: pb.GetCaseRequest, context) -> pb.Case:
        return case_pb(self.service.get_case(caller=identity.current(),
                                             tracking_id=check_tracking_id(request.tracking_id)),
                       self.service.clock.now(), self.service.engine.calendar)

    def DeployProcess(self, request: pb.DeployProcessRequest, context) -> pb.ProcessVersion:
        check_idempotency_key(request.idempotency_key)  # the content hash makes a repeat change nothing
        if not request.bpmn.strip():
            raise InvalidArgument("bpmn", "is required")
        filename = request.filename.strip()[:200] or "model.bpmn"
        return version_pb(self.service.deploy(request.bpmn, filename, caller=identity.current()))

    def ListProcessVersions(self, request: pb.ListProcessVersionsRequest, context) -> pb.ListProcessVersionsResponse:
        return pb.ListProcessVersionsResponse(
            versions=[version_pb(v) for v in self.service.versions(caller=identity.current())])


def register(service: SlaService, calendar_service: CalendarService | None = None):
    api = SlaApi(service, calendar_service)
    return (lambda server: sla_pb2_grpc.add_SlaServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["SlaService"].full_name)
