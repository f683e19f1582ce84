"""The verification gRPC API: protobuf in and out, domain in between."""

from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.wire import required_time, timestamp
from services.verification.domain import Decision, DecisionRequest, Outcome, QueueItem, QueueStatus
from services.verification.service import VerificationService
from sp4n.verification.v1 import verification_pb2 as pb
from sp4n.verification.v1 import verification_pb2_grpc

_OUTCOMES = {
    pb.OUTCOME_FORWARD: Outcome.FORWARD,
    pb.OUTCOME_NEEDS_COMPLETION: Outcome.NEEDS_COMPLETION,
    pb.OUTCOME_ARCHIVE: Outcome.ARCHIVE,
    pb.OUTCOME_DUPLICATE: Outcome.DUPLICATE,
    pb.OUTCOME_HOLD: Outcome.HOLD,
}
_OUTCOMES_PB = {v: k for k, v in _OUTCOMES.items()}
_STATUSES_PB = {QueueStatus.PENDING: pb.QUEUE_STATUS_PENDING, QueueStatus.ON_HOLD: pb.QUEUE_STATUS_ON_HOLD,
                QueueStatus.DECIDED: pb.QUEUE_STATUS_DECIDED}


def queue_item_pb(item: QueueItem) -> pb.QueueItem:
    return pb.QueueItem(tracking_id=item.tracking_id, submitted_at=timestamp(item.submitted_at),
                        due_at=timestamp(item.due_at), status=_STATUSES_PB[item.status],
                        enqueued_at=timestamp(item.enqueued_at))


def decision_pb(d: Decision) -> pb.Decision:
    return pb.Decision(id=d.id, tracking_id=d.tracking_id, outcome=_OUTCOMES_PB[d.outcome], reason=d.reason,
                       category=d.category, agency_id=d.agency_id, duplicate_of=d.duplicate_of,
                       decided_by=d.decided_by, decided_at=timestamp(d.decided_at))


class VerificationApi(verification_pb2_grpc.VerificationServiceServicer):
    def __init__(self, service: VerificationService):
        self.service = service

    def EnqueueReport(self, request: pb.EnqueueReportRequest, context) -> pb.QueueItem:
        item = self.service.enqueue(caller=identity.current(), key=request.idempotency_key,
                                    tracking_id=request.tracking_id,
                                    submitted_at=required_time(request, "submitted_at"),
                                    due_at=required_time(request, "due_at"))
        return queue_item_pb(item)

    def ListQueue(self, request: pb.ListQueueRequest, context) -> pb.ListQueueResponse:
        if request.limit < 0:
            raise InvalidArgument("limit", "must not be negative")
        items = self.service.queue(caller=identity.current(), limit=request.limit)
        return pb.ListQueueResponse(items=[queue_item_pb(i) for i in items])

    def DecideReport(self, request: pb.DecideReportRequest, context) -> pb.Decision:
        if request.outcome not in _OUTCOMES:
            raise InvalidArgument("outcome", "must be forward, needs completion, archive, duplicate or hold")
        decision = self.service.decide(caller=identity.current(), key=request.idempotency_key, request=DecisionRequest(
            tracking_id=request.tracking_id, outcome=_OUTCOMES[request.outcome], reason=request.reason.strip(),
            category=request.category.strip(), agency_id=request.agency_id.strip(),
            duplicate_of=request.duplicate_of.strip()))
        return decision_pb(decision)


def register(service: VerificationService):
    api = VerificationApi(service)
    return (lambda server: verification_pb2_grpc.add_VerificationServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["VerificationService"].full_name)
