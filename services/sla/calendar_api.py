"""The calendar RPCs of sla.v1.SlaService: protobuf in and out, domain in between.

CalendarApi is a mixin of the sla servicer. It derives from the generated servicer itself, so
SlaApi inherits it in place of that base (`class SlaApi(CalendarApi)`, or CalendarApi listed
before the generated base; the other order fails at import), and sets `self.calendar_service`.
"""

from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.wire import timestamp
from services.sla.calendar import FIRST_YEAR, LAST_YEAR, CalendarOverride, parse_day
from services.sla.calendar_service import CalendarService
from sp4n.sla.v1 import sla_pb2 as pb
from sp4n.sla.v1 import sla_pb2_grpc


def calendar_override_pb(override: CalendarOverride) -> pb.CalendarOverride:
    return pb.CalendarOverride(date=override.day.isoformat(), working=override.working,
                               reference=override.reference, description=override.description,
                               set_at=timestamp(override.set_at), set_by=override.set_by)


class CalendarApi(sla_pb2_grpc.SlaServiceServicer):
    calendar_service: CalendarService

    def SetCalendarOverride(self, request: pb.SetCalendarOverrideRequest, context) -> pb.CalendarOverride:
        override = self.calendar_service.set_override(
            caller=identity.current(), key=request.idempotency_key, day=parse_day(request.date, "date"),
            working=request.working, reference=request.reference, description=request.description)
        return calendar_override_pb(override)

    def RemoveCalendarOverride(self, request: pb.RemoveCalendarOverrideRequest, context) -> pb.CalendarOverride:
        override = self.calendar_service.remove_override(
            caller=identity.current(), key=request.idempotency_key, day=parse_day(request.date, "date"),
            reference=request.reference)
        return calendar_override_pb(override)

    def ListCalendarOverrides(self, request: pb.ListCalendarOverridesRequest,
                              context) -> pb.ListCalendarOverridesResponse:
        if request.year and not FIRST_YEAR <= request.year <= LAST_YEAR:
            raise InvalidArgument("year", f"must be 0 (every year) or in the years {FIRST_YEAR} to {LAST_YEAR}")
        overrides = self.calendar_service.list_overrides(caller=identity.current(), year=request.year or None)
        return pb.ListCalendarOverridesResponse(overrides=[calendar_override_pb(o) for o in overrides])
