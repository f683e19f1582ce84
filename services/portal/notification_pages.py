"""What staff see of notify. A report's notifications on the staff report pages (the verification
console's and the agency console's) are asked as the signed-in staff member: notify decides which they
may see (services.notify.access). A report page does without them when notify does not answer; the
section says so, as with deadlines from sla.
"""

import logging

import grpc

from services.portal.staff_session import call_metadata
from sp4n.notify.v1 import notify_pb2

log = logging.getLogger(__name__)


def report_notifications(notify, tracking_id: str, *, timeout: float) -> list[notify_pb2.Notification] | None:
    """Report `tracking_id`'s notifications that the signed-in staff member may see, as notify gives them;
    None when notify does not answer (or refuses: the page is still shown, without them)."""
    if notify is None:
        return None
    try:
        answer = notify.ListNotifications(notify_pb2.ListNotificationsRequest(tracking_id=tracking_id),
                                          timeout=timeout, metadata=call_metadata())
    except grpc.RpcError as e:
        log.warning("no notifications for %s: notify answered %s", tracking_id, e.code().name)
        return None
    return list(answer.notifications)
