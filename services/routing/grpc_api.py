"""The routing gRPC API: protobuf in and out, domain in between."""

from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.wire import text, timestamp
from services.routing.directory_service import AgencyDetail, ImportSummary
from services.routing.domain import (Agency, AgencyFilter, Assignment, LiaisonOfficer, RoutingRequest, Rule,
                                     RuleDraft, RuleFilter)
from services.routing.regions import Region
from services.routing.service import RoutingService
from sp4n.routing.v1 import routing_pb2 as pb
from sp4n.routing.v1 import routing_pb2_grpc


_ACTIVE = {pb.ListAgenciesRequest.ACTIVE_FILTER_UNSPECIFIED: None, pb.ListAgenciesRequest.ACTIVE_FILTER_ACTIVE: True,
           pb.ListAgenciesRequest.ACTIVE_FILTER_INACTIVE: False}


def agency_pb(a: Agency) -> pb.Agency:
    return pb.Agency(id=a.id, code=a.code, name=a.name, parent_id=a.parent_id, level=a.level,
                     region_code=a.region_code, timezone=a.timezone, active=a.active)


def liaison_officer_pb(o: LiaisonOfficer) -> pb.LiaisonOfficer:
    return pb.LiaisonOfficer(name=o.name, position=o.position, email=o.email, phone=o.phone)


def agency_detail_pb(d: AgencyDetail) -> pb.Agency:
    found = agency_pb(d.agency)
    found.ancestors.extend(agency_pb(a) for a in d.ancestors)
    found.liaison_officers.extend(liaison_officer_pb(o) for o in d.liaison_officers)
    return found


def import_summary_pb(s: ImportSummary) -> pb.ImportAgenciesResponse:
    return pb.ImportAgenciesResponse(
        import_id=s.import_id, dry_run=s.dry_run, added_agency_ids=s.added, changed_agency_ids=s.changed,
        unchanged_agencies=s.unchanged, deactivated_agency_ids=s.deactivated, deleted_agency_ids=s.deleted,
        liaison_officers_imported=s.liaison_officers_imported, liaison_officers_added=s.liaison_officers_added,
        liaison_officers_changed=s.liaison_officers_changed, liaison_officers_removed=s.liaison_officers_removed)


def assignment_pb(a: Assignment) -> pb.Assignment:
    return pb.Assignment(id=a.id, tracking_id=a.tracking_id, agency=agency_pb(a.agency),
                         assigned_at=timestamp(a.assigned_at), matched_by=a.matched_by.value, active=a.active,
                         declined_reason=a.declined_reason, declined_at=timestamp(a.declined_at),
                         dispatch_note=a.dispatch_note)


def region_pb(r: Region) -> pb.Region:
    return pb.Region(code=r.code, name=r.name, kind=r.kind, parent_code=r.parent_code, timezone=r.timezone)


def rule_pb(r: Rule) -> pb.Rule:
    return pb.Rule(id=str(r.id), category=r.category, region_code=r.region_prefix, agency_id=r.agency_id,
                   agency_name=r.agency_name, agency_active=r.agency_active, changed_by=r.changed_by,
                   changed_at=timestamp(r.changed_at))


def rule_draft(request) -> RuleDraft:
    return RuleDraft(category=text(request.category, "category", max_length=100).lower(),
                     region_prefix=text(request.region_code, "region_code", max_length=10),
                     agency_id=text(request.agency_id, "agency_id", max_length=100))


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

    def DispatchReport(self, request: pb.DispatchReportRequest, context) -> pb.Assignment:
        return assignment_pb(self.service.dispatch(caller=identity.current(), key=request.idempotency_key,
                                                   tracking_id=request.tracking_id.strip(),
                                                   agency_id=request.agency_id.strip(), note=request.note))

    def GetAgency(self, request: pb.GetAgencyRequest, context) -> pb.Agency:
        return agency_detail_pb(self.service.directory.agency(caller=identity.current(),
                                                              agency_id=request.agency_id.strip()))

    def ListAgencies(self, request: pb.ListAgenciesRequest, context) -> pb.ListAgenciesResponse:
        if request.active not in _ACTIVE:
            raise InvalidArgument("active", "ACTIVE_FILTER_UNSPECIFIED, ACTIVE_FILTER_ACTIVE or ACTIVE_FILTER_INACTIVE")
        page = self.service.directory.agencies(
            caller=identity.current(),
            filter=AgencyFilter(parent_id=text(request.parent_id, "parent_id", max_length=100),
                                level=text(request.level, "level", max_length=20).lower(),
                                region_code=text(request.region_code, "region_code", max_length=10),
                                query=" ".join(request.query.split()), active=_ACTIVE[request.active]),
            page_size=request.page_size, page_token=text(request.page_token, "page_token", max_length=1000))
        return pb.ListAgenciesResponse(agencies=[agency_pb(a) for a in page.agencies],
                                       next_page_token=page.next_page_token, total_size=page.total_size)

    def ImportAgencies(self, request: pb.ImportAgenciesRequest, context) -> pb.ImportAgenciesResponse:
        return import_summary_pb(self.service.directory.import_directory(
            caller=identity.current(), key=request.idempotency_key,
            agencies_csv=request.agencies_csv, liaison_officers_csv=request.liaison_officers_csv or None,
            dry_run=request.dry_run))

    def ExportAgencies(self, request: pb.ExportAgenciesRequest, context) -> pb.ExportAgenciesResponse:
        agencies, officers = self.service.directory.export_directory(caller=identity.current())
        return pb.ExportAgenciesResponse(agencies_csv=agencies.encode(), liaison_officers_csv=officers.encode())

    def GetRegion(self, request: pb.GetRegionRequest, context) -> pb.Region:
        return region_pb(self.service.region(caller=identity.current(), code=text(request.code, "code",
                                                                                   max_length=10)))

    def ListRegions(self, request: pb.ListRegionsRequest, context) -> pb.ListRegionsResponse:
        found = self.service.regions(caller=identity.current(),
                                     parent_code=text(request.parent_code, "parent_code", max_length=10),
                                     kind=text(request.kind, "kind", max_length=20).lower())
        return pb.ListRegionsResponse(regions=[region_pb(r) for r in found])

    # ---- Routing rules ----

    def ListRules(self, request: pb.ListRulesRequest, context) -> pb.ListRulesResponse:
        page = self.service.rules.rules(
            caller=identity.current(),
            filter=RuleFilter(category=text(request.category, "category", max_length=100).lower(),
                              region_code=text(request.region_code, "region_code", max_length=10),
                              agency_id=text(request.agency_id, "agency_id", max_length=100)),
            page_size=request.page_size, page_token=text(request.page_token, "page_token", max_length=1000))
        return pb.ListRulesResponse(rules=[rule_pb(r) for r in page.rules], next_page_token=page.next_page_token,
                                    total_size=page.total_size)

    def GetRule(self, request: pb.GetRuleRequest, context) -> pb.Rule:
        return rule_pb(self.service.rules.rule(caller=identity.current(), rule_id=request.rule_id.strip()))

    def CreateRule(self, request: pb.CreateRuleRequest, context) -> pb.Rule:
        return rule_pb(self.service.rules.create(caller=identity.current(), key=request.idempotency_key,
                                                 draft=rule_draft(request)))

    def UpdateRule(self, request: pb.UpdateRuleRequest, context) -> pb.Rule:
        return rule_pb(self.service.rules.update(caller=identity.current(), key=request.idempotency_key,
                                                 rule_id=request.rule_id.strip(), draft=rule_draft(request)))

    def DeleteRule(self, request: pb.DeleteRuleRequest, context) -> pb.Rule:
        return rule_pb(self.service.rules.delete(caller=identity.current(), key=request.idempotency_key,
                                                 rule_id=request.rule_id.strip()))


def register(service: RoutingService):
    api = RoutingApi(service)
    return (lambda server: routing_pb2_grpc.add_RoutingServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["RoutingService"].full_name)
