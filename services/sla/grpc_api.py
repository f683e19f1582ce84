"""The sla gRPC API: protobuf in and out, domain in between."""

from dataclasses import replace
from datetime import datetime

from google.protobuf import json_format

from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.identifiers import check_idempotency_key, check_tracking_id
from services.plumbing.wire import optional_time, required_time, text, timestamp
from services.sla.calendar import WorkingCalendar, deadline_zone
from services.sla.calendar_api import CalendarApi
from services.sla.calendar_service import CalendarService
from services.sla.domain import EXPIRY, MESSAGES, Case, Figures
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
        history=[pb.StageChange(stage=h.stage, entered_at=timestamp(h.entered_at)) for h in case.history],
        path=case.state.path, category=case.category)


def version_pb(v: ProcessVersion) -> pb.ProcessVersion:
    return pb.ProcessVersion(version=v.version, process_id=v.process_id, content_hash=v.content_hash,
                             deployed_at=timestamp(v.deployed_at), newest=v.newest,
                             running_instances=v.running_instances, bpmn=v.bpmn)


def figures_pb(f: Figures) -> pb.Figures:
    return pb.Figures(key=f.key, deadlines=f.deadlines, met_on_time=f.met_on_time, share_met=f.share_met,
                      backlog=f.backlog, follow_ups=f.follow_ups, median_follow_up_seconds=f.median_follow_up_seconds,
                      closures=f.closures, median_closure_seconds=f.median_closure_seconds)


def _hash(value: str, field: str) -> str:
    return text(value, field, max_length=64).lower()


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

    def GetProcessVersion(self, request: pb.GetProcessVersionRequest, context) -> pb.ProcessVersion:
        return version_pb(self.service.version(caller=identity.current(),
                                               content_hash=_hash(request.content_hash, "content_hash")))

    def CompareProcessVersions(self, request: pb.CompareProcessVersionsRequest, context) -> pb.ProcessVersionChanges:
        before, after, changes = self.service.compare_versions(
            caller=identity.current(), older=_hash(request.from_content_hash, "from_content_hash"),
            newer=_hash(request.to_content_hash, "to_content_hash"))
        before, after = replace(before, bpmn=""), replace(after, bpmn="")  # the XML only where asked for
        return pb.ProcessVersionChanges(**{"from": version_pb(before)}, to=version_pb(after), changes=[
            pb.ElementChange(element_id=c.element_id, type=c.type, name=c.name, change=c.change, what=c.what)
            for c in changes])

    def GetProcessCockpit(self, request: pb.GetProcessCockpitRequest, context) -> pb.ProcessCockpit:
        cockpit = self.service.cockpit(caller=identity.current(),
                                       content_hash=_hash(request.content_hash, "content_hash"))
        return pb.ProcessCockpit(version=version_pb(cockpit.version), computed_at=timestamp(cockpit.computed_at),
                                 elements=[pb.ElementStatistics(
                                     element_id=e.element_id, type=e.type, name=e.name, waiting=e.waiting,
                                     overdue=e.overdue, visits=e.visits, median_seconds=e.median_seconds)
                                     for e in cockpit.elements])

    def ListCasesAt(self, request: pb.ListCasesAtRequest, context) -> pb.ListCasesAtResponse:
        cases, token = self.service.cases_at(
            caller=identity.current(), content_hash=_hash(request.content_hash, "content_hash"),
            element_id=text(request.element_id, "element_id", required=True), page_size=request.page_size,
            page_token=text(request.page_token, "page_token", max_length=1000))
        return pb.ListCasesAtResponse(next_page_token=token, cases=[
            pb.CaseAt(tracking_id=c.tracking_id, agency_id=c.agency_id, category=c.category,
                      entered_at=timestamp(c.entered_at), due_at=timestamp(c.due_at), overdue=c.overdue)
            for c in cases])

    def GetStatistics(self, request: pb.GetStatisticsRequest, context) -> pb.Statistics:
        statistics = self.service.statistics(caller=identity.current(), since=optional_time(request, "from"),
                                             until=optional_time(request, "to"))
        return pb.Statistics(by_agency=[figures_pb(f) for f in statistics.by_agency],
                             by_category=[figures_pb(f) for f in statistics.by_category],
                             overall=figures_pb(statistics.overall), computed_at=timestamp(statistics.computed_at))


def register(service: SlaService, calendar_service: CalendarService | None = None):
    api = SlaApi(service, calendar_service)
    return (lambda server: sla_pb2_grpc.add_SlaServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["SlaService"].full_name)
