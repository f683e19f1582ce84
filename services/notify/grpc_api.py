"""The notify gRPC API: protobuf in and out, domain in between."""

from services.notify.domain import Notification, NotificationRequest
from services.notify.service import NotifyService
from services.plumbing import identity
from services.plumbing.wire import timestamp
from sp4n.notify.v1 import notify_pb2 as pb
from sp4n.notify.v1 import notify_pb2_grpc


def notification_pb(n: Notification) -> pb.Notification:
    return pb.Notification(id=n.id, tracking_id=n.tracking_id, event=n.event, recipient=n.recipient.value,
                           channel=n.channel.value, language=n.language, subject=n.subject, body=n.body,
                           status=n.status.value, attempts=n.attempts, created_at=timestamp(n.created_at),
                           sent_at=timestamp(n.sent_at), last_error=n.last_error, agency_id=n.agency_id,
                           next_attempt_at=timestamp(n.next_attempt_at), resends=n.resends, resent_by=n.resent_by,
                           resent_at=timestamp(n.resent_at))


class NotifyApi(notify_pb2_grpc.NotifyServiceServicer):
    def __init__(self, service: NotifyService):
        self.service = service

    def SendNotification(self, request: pb.SendNotificationRequest, context) -> pb.Notification:
        # Intake unreachable for the contact: ContactUnavailable is answered UNAVAILABLE, nothing written.
        notification = self.service.send(caller=identity.current(), key=request.idempotency_key,
                                          request=NotificationRequest(
            tracking_id=request.tracking_id.strip(), event=request.event.strip(),
            recipient=request.recipient.strip(), agency_id=request.agency_id.strip(),
            params=dict(request.params)))
        return notification_pb(notification)

    def ListNotifications(self, request: pb.ListNotificationsRequest, context) -> pb.ListNotificationsResponse:
        notifications = self.service.for_report(caller=identity.current(), tracking_id=request.tracking_id.strip())
        return pb.ListNotificationsResponse(notifications=[notification_pb(n) for n in notifications])

    def ListInbox(self, request: pb.ListInboxRequest, context) -> pb.ListInboxResponse:
        page = self.service.inbox(caller=identity.current(), page_size=request.page_size,
                                  token=request.page_token.strip())
        return pb.ListInboxResponse(notifications=[notification_pb(n) for n in page.notifications],
                                    next_page_token=page.next_page_token)

    def ListDeadLetters(self, request: pb.ListDeadLettersRequest, context) -> pb.ListDeadLettersResponse:
        page = self.service.dead_letters(caller=identity.current(), channel=request.channel.strip(),
                                         page_size=request.page_size, token=request.page_token.strip())
        return pb.ListDeadLettersResponse(notifications=[notification_pb(n) for n in page.notifications],
                                          next_page_token=page.next_page_token)

    def ResendNotification(self, request: pb.ResendNotificationRequest, context) -> pb.Notification:
        return notification_pb(self.service.resend(caller=identity.current(), key=request.idempotency_key,
                                                   notification_id=request.notification_id.strip()))

    def RenderTemplate(self, request: pb.RenderTemplateRequest, context) -> pb.RenderTemplateResponse:
        preview = self.service.preview(caller=identity.current(), event=request.event.strip(),
                                       channel=request.channel.strip(), language=request.language.strip(),
                                       params=dict(request.params))
        return pb.RenderTemplateResponse(subject=preview.subject, body=preview.body, room=preview.room)


def register(service: NotifyService):
    api = NotifyApi(service)
    return (lambda server: notify_pb2_grpc.add_NotifyServiceServicer_to_server(api, server),
            pb.DESCRIPTOR.services_by_name["NotifyService"].full_name)
