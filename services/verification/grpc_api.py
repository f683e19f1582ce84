"""The verification gRPC API: protobuf in and out, domain in between."""

from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.wire import required_time, timestamp
from services.verification.domain import (ArchiveReason, ArchiveReasonLabel, Decision, DecisionRequest, Outcome,
                                          QueueItem, QueueItemDetail, QueueStatus)
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
_STATUSES = {pb.QUEUE_STATUS_PENDING: QueueStatus.PENDING, pb.QUEUE_STATUS_ON_HOLD: QueueStatus.ON_HOLD,
             pb.QUEUE_STATUS_DECIDED: QueueStatus.DECIDED}
_STATUSES_PB = {v: k for k, v in _STATUSES.items()}
_ARCHIVE_REASONS = {
    pb.ARCHIVE_REASON_FORMAT_ERROR: ArchiveReason.FORMAT_ERROR,
    pb.ARCHIVE_REASON_TOO_GENERAL: ArchiveReason.TOO_GENERAL,
    pb.ARCHIVE_REASON_NOT_PUBLIC_SERVICE: ArchiveReason.NOT_PUBLIC_SERVICE,
    pb.ARCHIVE_REASON_HANDLED_ELSEWHERE: ArchiveReason.HANDLED_ELSEWHERE,
    pb.ARCHIVE_REASON_ABUSIVE: ArchiveReason.ABUSIVE,
    pb.ARCHIVE_REASON_OTHER: ArchiveReason.OTHER,
}
_ARCHIVE_REASONS_PB = {v: k for k, v in _ARCHIVE_REASONS.items()}


def decision_pb(d: Decision) -> pb.Decision:
    return pb.Decision(id=d.id, tracking_id=d.tracking_id, outcome=_OUTCOMES_PB[d.outcome], reason=d.reason,
                       category=d.category, agency_id=d.agency_id, duplicate_of=d.duplicate_of,
                       decided_by=d.decided_by, decided_at=timestamp(d.decided_at),
                       archive_reason=_ARCHIVE_REASONS_PB.get(d.archive_reason, pb.ARCHIVE_REASON_UNSPECIFIED),
                       title=d.title, anonymous=d.anonymous, confidential=d.confidential)


def queue_item_pb(item: QueueItem) -> pb.QueueItem:
    return pb.QueueItem(tracking_id=item.tracking_id, submitted_at=timestamp(item.submitted_at),
                        due_at=timestamp(item.due_at), status=_STATUSES_PB[item.status],
                        enqueued_at=timestamp(item.enqueued_at),
                        last_decision=decision_pb(item.last_decision) if item.last_decision else None)


def detail_pb(detail: QueueItemDetail) -> pb.QueueItemDetail:
    return pb.QueueItemDetail(item=queue_item_pb(detail.item), decisions=[decision_pb(d) for d in detail.decisions],
                              duplicates=list(detail.duplicates))


def archive_reason_pb(label: ArchiveReasonLabel) -> pb.ArchiveReasonLabel:
    return pb.ArchiveReasonLabel(reason=_ARCHIVE_REASONS_PB[label.reason], code=label.reason.value,
                                 label_id=label.label_id, label_en=label.label_en, requires_text=label.requires_text)


def decision_request(request: pb.DecideReportRequest) -> DecisionRequest:
    """The request in domain terms; an unknown outcome or archive reason becomes None, refused by the domain
    after the caller's rights are checked."""
    return DecisionRequest(
        tracking_id=request.tracking_id, outcome=_OUTCOMES.get(request.outcome), reason=request.reason,
        category=request.category, agency_id=request.agency_id, duplicate_of=request.duplicate_of,
        archive_reason=_ARCHIVE_REASONS.get(request.archive_reason), title=request.title,
        anonymous=request.anonymous if request.HasField("anonymous") else None,
        confidential=request.confidential if request.HasField("confidential") else None)


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
        if request.status != pb.QUEUE_STATUS_UNSPECIFIED and request.status not in _STATUSES:
            raise InvalidArgument("status", "must be pending or on hold")
        items, next_page = self.service.queue(caller=identity.current(), limit=request.limit,
                                              status=_STATUSES.get(request.status), page_token=request.page_token)
        return pb.ListQueueResponse(items=[queue_item_pb(i) for i in items], next_page_token=next_page)

    def DecideReport(self, request: pb.DecideReportRequest, context) -> pb.Decision:
        decision = self.service.decide(caller=identity.current(), key=request.idempotency_key,
                                       request=decision_request(request))
        return decision_pb(decision)

    def GetQueueItem(self, request: pb.GetQueueItemRequest, context) -> pb.QueueItemDetail:
        return detail_pb(self.service.item(caller=identity.current(), tracking_id=request.tracking_id))

    def ListArchiveReasons(self, request: pb.ListArchiveReasonsRequest, context) -> pb.ListArchiveReasonsResponse:
        return pb.ListArchiveReasonsResponse(
            reasons=[archive_reason_pb(r) for r in self.service.archive_reasons(caller=identity.current())])


def register(service: VerificationService):
    api = VerificationApi(service)
    return (lambda server: verification_pb2_grpc.add_VerificationServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["VerificationService"].full_name)
