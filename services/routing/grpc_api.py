"""The routing gRPC API: protobuf in and out, domain in between."""

from services.plumbing import identity
from services.plumbing.wire import text, timestamp
from services.routing.domain import Agency, Assignment, RoutingRequest
from services.routing.regions import Region
from services.routing.service import RoutingService
from sp4n.routing.v1 import routing_pb2 as pb
from sp4n.routing.v1 import routing_pb2_grpc


def agency_pb(a: Agency) -> pb.Agency:
    return pb.Agency(id=a.id, code=a.code, name=a.name, parent_id=a.parent_id, level=a.level,
                     region_code=a.region_code, timezone=a.timezone)


def assignment_pb(a: Assignment) -> pb.Assignment:
    return pb.Assignment(id=a.id, tracking_id=a.tracking_id, agency=agency_pb(a.agency),
                         assigned_at=timestamp(a.assigned_at), matched_by=a.matched_by.value, active=a.active,
                         declined_reason=a.declined_reason, declined_at=timestamp(a.declined_at))


def region_pb(r: Region) -> pb.Region:
    return pb.Region(code=r.code, name=r.name, kind=r.kind, parent_code=r.parent_code, timezone=r.timezone)


class RoutingApi(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, service: RoutingService):
        self.service = service

    def AssignReport(self, request: pb.AssignReportRequest, context) -> pb.Assignment:
        assignment = self.service.assign(caller=identity.current(), key=request.idempotency_key,
                                         request=RoutingRequest(
            tracking_id=request.tracking_id.strip(),
            category=text(request.category, "category", max_length=100).lower(),
            region_code=text(request.region_code, "region_code", max_length=10),
            preferred_agency_id=text(request.preferred_agency_id, "preferred_agency_id", max_length=100),
            suggested_agency_id=text(request.suggested_agency_id, "suggested_agency_id", max_length=100),
            excluded_agency_ids=frozenset(a.strip() for a in request.excluded_agency_ids if a.strip())))
        return assignment_pb(assignment)

    def GetAssignment(self, request: pb.GetAssignmentRequest, context) -> pb.Assignment:
        return assignment_pb(self.service.assignment(caller=identity.current(),
                                                     tracking_id=request.tracking_id.strip()))

    def DeclineAssignment(self, request: pb.DeclineAssignmentRequest, context) -> pb.Assignment:
        return assignment_pb(self.service.decline(caller=identity.current(), key=request.idempotency_key,
                                                  tracking_id=request.tracking_id.strip(), reason=request.reason))

    def GetAgency(self, request: pb.GetAgencyRequest, context) -> pb.Agency:
        return agency_pb(self.service.agency(caller=identity.current(), agency_id=request.agency_id.strip()))

    def ListAgencies(self, request: pb.ListAgenciesRequest, context) -> pb.ListAgenciesResponse:
        agencies = self.service.agencies(caller=identity.current(), parent_id=request.parent_id.strip())
        return pb.ListAgenciesResponse(agencies=[agency_pb(a) for a in agencies])

    def GetRegion(self, request: pb.GetRegionRequest, context) -> pb.Region:
        return region_pb(self.service.region(caller=identity.current(), code=text(request.code, "code",
                                                                                   max_length=10)))

    def ListRegions(self, request: pb.ListRegionsRequest, context) -> pb.ListRegionsResponse:
        found = self.service.regions(caller=identity.current(),
                                     parent_code=text(request.parent_code, "parent_code", max_length=10),
                                     kind=text(request.kind, "kind", max_length=20).lower())
        return pb.ListRegionsResponse(regions=[region_pb(r) for r in found])


def register(service: RoutingService):
    api = RoutingApi(service)
    return (lambda server: routing_pb2_grpc.add_RoutingServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["RoutingService"].full_name)
