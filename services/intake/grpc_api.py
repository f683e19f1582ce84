"""The intake gRPC API: protobuf in and out, domain in between."""

from services.intake.accounts import NewAccount, ReporterAccount
from services.intake.domain import (AttachmentFile, AttachmentInfo, Contact, Coordinates, ReporterContact, Report,
                                    ReportStatus, ReportType, StatusChange, Submission, TimelineEntry,
                                    VerifiedChanges)
from services.intake.publication import FeedFilter, PublishedReport
from services.intake.report_lists import ReportPage, ReportSummary
from services.intake.service import IntakeService
from services.intake.similarity import Reason
from services.intake.similarity_service import SimilarReport
from services.plumbing import identity
from services.plumbing.errors import InvalidArgument
from services.plumbing.wire import optional_time, timestamp
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc

_TYPES = {
    pb.REPORT_TYPE_COMPLAINT: ReportType.COMPLAINT,
    pb.REPORT_TYPE_ASPIRATION: ReportType.ASPIRATION,
    pb.REPORT_TYPE_INFORMATION_REQUEST: ReportType.INFORMATION_REQUEST,
}
_TYPES_PB = {v: k for k, v in _TYPES.items()}
_STATUSES = {
    pb.REPORT_STATUS_IN_VERIFICATION: ReportStatus.IN_VERIFICATION,
    pb.REPORT_STATUS_NEEDS_COMPLETION: ReportStatus.NEEDS_COMPLETION,
    pb.REPORT_STATUS_ON_HOLD: ReportStatus.ON_HOLD,
    pb.REPORT_STATUS_FORWARDED: ReportStatus.FORWARDED,
    pb.REPORT_STATUS_FOLLOWED_UP: ReportStatus.FOLLOWED_UP,
    pb.REPORT_STATUS_CLOSED: ReportStatus.CLOSED,
    pb.REPORT_STATUS_ARCHIVED: ReportStatus.ARCHIVED,
    pb.REPORT_STATUS_DUPLICATE: ReportStatus.DUPLICATE,
}
_STATUSES_PB = {v: k for k, v in _STATUSES.items()}


def attachment_info_pb(a: AttachmentInfo) -> pb.AttachmentInfo:
    return pb.AttachmentInfo(id=a.id, filename=a.filename, content_type=a.content_type, size=a.size)


def entry_pb(e: TimelineEntry) -> pb.TimelineEntry:
    return pb.TimelineEntry(id=e.id, kind=e.kind.value, author=e.author, body=e.body,
                            created_at=timestamp(e.created_at),
                            status=_STATUSES_PB[e.status] if e.status else pb.REPORT_STATUS_UNSPECIFIED,
                            attachments=[attachment_info_pb(a) for a in e.attachments])


def uploads(request) -> tuple[AttachmentFile, ...]:
    return tuple(AttachmentFile(a.filename, a.content) for a in request.attachments)


def report_pb(r: Report) -> pb.Report:
    return pb.Report(
        tracking_id=r.tracking_id, type=_TYPES_PB[r.type], title=r.title, description=r.description,
        category=r.category, region_code=r.region_code, location_text=r.location_text, anonymous=r.anonymous,
        confidential=r.confidential, status=_STATUSES_PB[r.status], channel=r.channel,
        submitted_at=timestamp(r.submitted_at), agency_id=r.agency_id, agency_name=r.agency_name,
        published=r.published, published_at=timestamp(r.published_at),
        timeline=[entry_pb(e) for e in r.timeline], reporter_name=r.reporter_name, language=r.language,
        attachments=[attachment_info_pb(a) for a in r.attachments], incident_date=timestamp(r.incident_date),
        has_location=r.coordinates is not None, latitude=r.coordinates.latitude if r.coordinates else 0.0,
        longitude=r.coordinates.longitude if r.coordinates else 0.0, suggested_agency_id=r.suggested_agency_id)


def contact_pb(c: Contact) -> pb.ReporterContact:
    return pb.ReporterContact(tracking_id=c.tracking_id, name=c.reporter.name, phone=c.reporter.phone,
                              email=c.reporter.email, language=c.language, channel=c.channel,
                              x_user_id=c.reporter.x_user_id, x_handle=c.reporter.x_handle,
                              channel_message_id=c.channel_message_id)


def summary_pb(r: ReportSummary) -> pb.ReportSummary:
    return pb.ReportSummary(
        tracking_id=r.tracking_id, type=_TYPES_PB[r.type], title=r.title, category=r.category,
        region_code=r.region_code, status=_STATUSES_PB[r.status], agency_id=r.agency_id, agency_name=r.agency_name,
        submitted_at=timestamp(r.submitted_at), updated_at=timestamp(r.updated_at), anonymous=r.anonymous,
        confidential=r.confidential)


_SIMILARITY_REASONS_PB = {
    Reason.SIMILAR_TEXT: pb.SIMILARITY_REASON_SIMILAR_TEXT,
    Reason.NEARBY: pb.SIMILARITY_REASON_NEARBY,
    Reason.SAME_PLACE_TEXT: pb.SIMILARITY_REASON_SAME_PLACE_TEXT,
}


def similar_pb(r: SimilarReport) -> pb.SimilarReport:
    m = r.match
    return pb.SimilarReport(report=summary_pb(r.summary), location_text=r.location_text, score=m.score,
                            reasons=[_SIMILARITY_REASONS_PB[reason] for reason in m.reasons],
                            text_similarity=m.text_similarity, location_similarity=m.location_similarity,
                            has_distance=m.distance_meters is not None, distance_meters=m.distance_meters or 0.0)


def page_pb(page: ReportPage) -> pb.ListReportsResponse:
    return pb.ListReportsResponse(reports=[summary_pb(r) for r in page.reports], next_page_token=page.next_page_token)


def account_pb(a: ReporterAccount) -> pb.ReporterAccount:
    return pb.ReporterAccount(id=a.id, email=a.email, name=a.name, phone=a.phone, created_at=timestamp(a.created_at))


def published_pb(r: PublishedReport) -> pb.PublishedReport:
    return pb.PublishedReport(
        tracking_id=r.tracking_id, type=_TYPES_PB[r.type], title=r.title, description=r.description,
        category=r.category, region_code=r.region_code, location_text=r.location_text,
        has_location=r.coordinates is not None, latitude=r.coordinates.latitude if r.coordinates else 0.0,
        longitude=r.coordinates.longitude if r.coordinates else 0.0, status=_STATUSES_PB[r.status],
        agency_id=r.agency_id, agency_name=r.agency_name, submitted_at=timestamp(r.submitted_at),
        published_at=timestamp(r.published_at), updated_at=timestamp(r.updated_at), support_count=r.support_count,
        timeline=[entry_pb(e) for e in r.timeline], anonymous=r.anonymous)


def coordinates(request: pb.SubmitReportRequest) -> Coordinates | None:
    if request.has_location:
        return Coordinates(request.latitude, request.longitude)
    if request.latitude or request.longitude:
        raise InvalidArgument("has_location", "must be set when latitude or longitude is given")
    return None


def submission(request: pb.SubmitReportRequest) -> Submission:
    return Submission(
        channel=request.channel, type=_TYPES.get(request.type), title=request.title,
        description=request.description, category=request.category, region_code=request.region_code,
        location_text=request.location_text, anonymous=request.anonymous, confidential=request.confidential,
        reporter=ReporterContact(name=request.reporter.name, phone=request.reporter.phone,
                                 email=request.reporter.email, x_user_id=request.reporter.x_user_id,
                                 x_handle=request.reporter.x_handle),
        language=request.language, incident_date=optional_time(request, "incident_date"),
        coordinates=coordinates(request), suggested_agency_id=request.suggested_agency_id,
        channel_message_id=request.channel_message_id, account_id=request.account_id,
        attachments=uploads(request))


def feed_filter(request: pb.ListPublishedReportsRequest) -> FeedFilter:
    return FeedFilter(query=request.query, agency_id=request.agency_id, category=request.category,
                      region_code=request.region_code, statuses=tuple(_STATUSES.get(s) for s in request.statuses),
                      submitted_after=optional_time(request, "submitted_after"),
                      submitted_before=optional_time(request, "submitted_before"))


class IntakeApi(intake_pb2_grpc.IntakeServiceServicer):
    def __init__(self, service: IntakeService):
        self.service = service

    def SubmitReport(self, request: pb.SubmitReportRequest, context) -> pb.SubmitReportResponse:
        receipt = self.service.submit(caller=identity.current(), key=request.idempotency_key,
                                      submission=submission(request))
        return pb.SubmitReportResponse(tracking_id=receipt.tracking_id, submitted_at=timestamp(receipt.submitted_at),
                                       access_code=receipt.access_code)

    def GetReport(self, request: pb.GetReportRequest, context) -> pb.Report:
        return report_pb(self.service.report(caller=identity.current(), tracking_id=request.tracking_id))

    def ForwardReport(self, request: pb.ForwardReportRequest, context) -> pb.Report:
        changes = VerifiedChanges(title=request.title, anonymous=request.anonymous, confidential=request.confidential)
        return report_pb(self.service.forward(caller=identity.current(), key=request.idempotency_key,
                                              tracking_id=request.tracking_id, agency_id=request.agency_id,
                                              agency_name=request.agency_name, changes=changes))

    def SetReportStatus(self, request: pb.SetReportStatusRequest, context) -> pb.Report:
        change = StatusChange(tracking_id=request.tracking_id, status=_STATUSES.get(request.status),
                              reason=request.reason)
        return report_pb(self.service.set_status(caller=identity.current(), key=request.idempotency_key,
                                                 change=change))

    def PostFollowUp(self, request: pb.PostFollowUpRequest, context) -> pb.TimelineEntry:
        return entry_pb(self.service.post_follow_up(caller=identity.current(), key=request.idempotency_key,
                                                    tracking_id=request.tracking_id, body=request.body,
                                                    attachments=uploads(request)))

    def PostReply(self, request: pb.PostReplyRequest, context) -> pb.TimelineEntry:
        return entry_pb(self.service.post_reply(caller=identity.current(), key=request.idempotency_key,
                                                tracking_id=request.tracking_id, body=request.body,
                                                sender_phone=request.sender_phone))

    def CompleteReport(self, request: pb.CompleteReportRequest, context) -> pb.TimelineEntry:
        return entry_pb(self.service.complete(caller=identity.current(), key=request.idempotency_key,
                                              tracking_id=request.tracking_id, body=request.body,
                                              sender_phone=request.sender_phone))

    def GetReporterContact(self, request: pb.GetReporterContactRequest, context) -> pb.ReporterContact:
        return contact_pb(self.service.contact(caller=identity.current(), tracking_id=request.tracking_id))

    def GetReporterContacts(self, request: pb.GetReporterContactsRequest, context) -> pb.GetReporterContactsResponse:
        contacts = self.service.contacts(caller=identity.current(), tracking_ids=list(request.tracking_ids))
        return pb.GetReporterContactsResponse(contacts=[contact_pb(c) for c in contacts])

    def ListPublishedReports(self, request: pb.ListPublishedReportsRequest,
                             context) -> pb.ListPublishedReportsResponse:
        page = self.service.publication.feed(caller=identity.current(), feed_filter=feed_filter(request),
                                             page_size=request.page_size, page_token=request.page_token)
        return pb.ListPublishedReportsResponse(reports=[published_pb(r) for r in page.reports],
                                               next_page_token=page.next_page_token)

    def GetPublishedReport(self, request: pb.GetPublishedReportRequest, context) -> pb.PublishedReport:
        return published_pb(self.service.publication.published_report(caller=identity.current(),
                                                                      tracking_id=request.tracking_id))

    def SupportReport(self, request: pb.SupportReportRequest, context) -> pb.SupportReportResponse:
        support = self.service.publication.support(caller=identity.current(), key=request.idempotency_key,
                                                   tracking_id=request.tracking_id, supporter=request.supporter)
        return pb.SupportReportResponse(support_count=support.support_count, counted=support.counted)

    def VerifyReporterAccess(self, request: pb.VerifyReporterAccessRequest,
                             context) -> pb.VerifyReporterAccessResponse:
        tracking_id = self.service.verify_access(caller=identity.current(), tracking_id=request.tracking_id,
                                                 access_code=request.access_code)
        return pb.VerifyReporterAccessResponse(tracking_id=tracking_id)

    def GetAttachment(self, request: pb.GetAttachmentRequest, context) -> pb.Attachment:
        attachment = self.service.attachment(caller=identity.current(), tracking_id=request.tracking_id,
                                             attachment_id=request.attachment_id)
        return pb.Attachment(info=attachment_info_pb(attachment.info), content=attachment.content)

    def CreateReporterAccount(self, request: pb.CreateReporterAccountRequest, context) -> pb.ReporterAccount:
        account = NewAccount(email=request.email, password=request.password, name=request.name, phone=request.phone)
        return account_pb(self.service.accounts.create(caller=identity.current(), key=request.idempotency_key,
                                                       account=account))

    def SignInReporter(self, request: pb.SignInReporterRequest, context) -> pb.ReporterAccount:
        return account_pb(self.service.accounts.sign_in(caller=identity.current(), email=request.email,
                                                        password=request.password))

    def ListReporterReports(self, request: pb.ListReporterReportsRequest, context) -> pb.ListReportsResponse:
        return page_pb(self.service.lists.reporter_reports(caller=identity.current(), page_size=request.page_size,
                                                           page_token=request.page_token))

    def ListAgencyReports(self, request: pb.ListAgencyReportsRequest, context) -> pb.ListReportsResponse:
        return page_pb(self.service.lists.agency_reports(
            caller=identity.current(), agency_id=request.agency_id,
            statuses=tuple(_STATUSES.get(s) for s in request.statuses), page_size=request.page_size,
            page_token=request.page_token))

    def FindSimilarReports(self, request: pb.FindSimilarReportsRequest, context) -> pb.FindSimilarReportsResponse:
        found = self.service.similarity.similar(caller=identity.current(), tracking_id=request.tracking_id,
                                                limit=request.limit)
        return pb.FindSimilarReportsResponse(reports=[similar_pb(r) for r in found])

    def GetReportSummaries(self, request: pb.GetReportSummariesRequest, context) -> pb.ListReportsResponse:
        summaries = self.service.lists.summaries(caller=identity.current(), tracking_ids=list(request.tracking_ids))
        return pb.ListReportsResponse(reports=[summary_pb(r) for r in summaries])


def register(service: IntakeService):
    api = IntakeApi(service)
    return (lambda server: intake_pb2_grpc.add_IntakeServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["IntakeService"].full_name)
