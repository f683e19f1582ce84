"""Stand-ins for sla and notify, served over real gRPC, that answer for the reports they are given."""

import dataclasses
import hashlib

from services.notify.access import visible_to
from services.notify.domain import Recipient
from services.plumbing import identity
from services.plumbing.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.sla.domain import may_read_case
from sp4n.notify.v1 import notify_pb2, notify_pb2_grpc
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc

AGENCY_STAFF = (identity.AGENCY_ADMIN, identity.LIAISON_OFFICER)
# Who sla lets read the process versions, and who the cockpit and the statistics (services.sla).
VERSION_READERS = (identity.PROCESS_ANALYST, identity.NATIONAL_ADMIN, identity.SERVICE)
COCKPIT_READERS = (identity.PROCESS_ANALYST, identity.NATIONAL_ADMIN)
DEAD_LETTER_CHANNELS = ("email", "sms", "x")


class FakeSla(sla_pb2_grpc.SlaServiceServicer):
    """GetCase of the cases it is given, refusing whom sla refuses (sla's own rule) by the agency each
    case is assigned to in `agencies`; and the process analysts' calls over what it is given: `versions`
    (each with its bpmn), `changes` by (older, newer) content hash, `cockpits` and `cases_at` (by content
    hash, and element id) and `statistics`, each refusing whom sla refuses. DeployProcess refuses a model
    with `refusal` (sla's reason, naming the element) when set, else deploys it as the newest version;
    every request it is sent is kept in `deploys`. `statistics_asked` keeps the GetStatistics requests."""

    def __init__(self):
        self.cases: dict[str, sla_pb2.Case] = {}
        self.agencies: dict[str, str] = {}
        self.versions: list[sla_pb2.ProcessVersion] = []
        self.changes: dict[tuple[str, str], list[sla_pb2.ElementChange]] = {}
        self.cockpits: dict[str, list[sla_pb2.ElementStatistics]] = {}
        self.cases_at: dict[tuple[str, str], list[sla_pb2.CaseAt]] = {}
        self.statistics = sla_pb2.Statistics()
        self.statistics_asked: list[sla_pb2.GetStatisticsRequest] = []
        self.refusal = ""
        self.deploys: list[sla_pb2.DeployProcessRequest] = []
        self._deployed: dict[str, sla_pb2.ProcessVersion] = {}  # by idempotency key

    def version(self, content_hash: str) -> sla_pb2.ProcessVersion:
        """The version of `content_hash`, the newest for an empty one, as sla finds it."""
        found = [v for v in self.versions if (v.content_hash == content_hash if content_hash else v.newest)]
        if not found:
            raise NotFound(f"no process version {content_hash or '(newest)'}")
        return found[0]

    def DeployProcess(self, request, context):
        identity.require_role(identity.current(), identity.PROCESS_ANALYST)
        self.deploys.append(request)
        if not request.idempotency_key:
            raise InvalidArgument("idempotency_key", "is required")
        if request.idempotency_key in self._deployed:
            return self._deployed[request.idempotency_key]
        if len(request.bpmn.encode()) > 1024 * 1024:
            raise InvalidArgument("bpmn", f"at most {1024 * 1024} bytes")
        if self.refusal:
            raise InvalidArgument("bpmn", self.refusal)
        for v in self.versions:
            v.newest = False
        made = sla_pb2.ProcessVersion(version=len(self.versions) + 1, process_id="report_lifecycle",
                                      content_hash=hashlib.sha256(request.bpmn.encode()).hexdigest(),
                                      newest=True, bpmn=request.bpmn)
        made.deployed_at.GetCurrentTime()
        self.versions.append(made)
        self._deployed[request.idempotency_key] = made
        return self._without_bpmn(made)

    @staticmethod
    def _without_bpmn(version: sla_pb2.ProcessVersion) -> sla_pb2.ProcessVersion:
        shown = sla_pb2.ProcessVersion()
        shown.CopyFrom(version)
        shown.ClearField("bpmn")
        return shown

    def ListProcessVersions(self, request, context):
        identity.require_role(identity.current(), *VERSION_READERS)
        return sla_pb2.ListProcessVersionsResponse(versions=[self._without_bpmn(v) for v in self.versions])

    def GetProcessVersion(self, request, context):
        identity.require_role(identity.current(), *VERSION_READERS)
        return self.version(request.content_hash)

    def CompareProcessVersions(self, request, context):
        identity.require_role(identity.current(), *VERSION_READERS)
        older, newer = self.version(request.from_content_hash), self.version(request.to_content_hash)
        return sla_pb2.ProcessVersionChanges(
            **{"from": self._without_bpmn(older)}, to=self._without_bpmn(newer),
            changes=self.changes.get((older.content_hash, newer.content_hash), []))

    def GetProcessCockpit(self, request, context):
        identity.require_role(identity.current(), *COCKPIT_READERS)
        version = self.version(request.content_hash)
        found = sla_pb2.ProcessCockpit(version=version, elements=self.cockpits.get(version.content_hash, []))
        found.computed_at.GetCurrentTime()
        return found

    def ListCasesAt(self, request, context):
        identity.require_role(identity.current(), *COCKPIT_READERS)
        version = self.version(request.content_hash)
        if request.page_size < 0:
            raise InvalidArgument("page_size", "must not be negative")
        found = self.cases_at.get((version.content_hash, request.element_id), [])
        shown, next_page = _page(found, request.page_size, request.page_token, name="sla")
        return sla_pb2.ListCasesAtResponse(cases=shown, next_page_token=next_page)

    def GetStatistics(self, request, context):
        identity.require_role(identity.current(), *COCKPIT_READERS)
        self.statistics_asked.append(request)
        return self.statistics

    def GetCase(self, request, context):
        caller = identity.current()
        if not may_read_case(caller, request.tracking_id, self.agencies.get(request.tracking_id, "")):
            raise PermissionDenied(f"{caller.role} may not see the case of {request.tracking_id}")
        if request.tracking_id not in self.cases:
            raise NotFound(f"no case for {request.tracking_id}")
        return self.cases[request.tracking_id]


@dataclasses.dataclass(frozen=True)
class _Addressed:
    """What notify's access rule reads of a notification."""
    recipient: Recipient
    agency_id: str


def _newest_first(n: notify_pb2.Notification):
    return (n.created_at.seconds, n.created_at.nanos, n.id)


def _page(found: list, page_size: int, page_token: str, name: str = "notify") -> tuple[list, str]:
    """A page of `found` by notify's (and sla's) paging rules (default 50, at most 200); the token is an offset."""
    if page_token and not page_token.isdigit():
        raise InvalidArgument("page_token", f"is not one of {name}'s")
    size = min(page_size or 50, 200)
    start = int(page_token or 0)
    return found[start:start + size], str(start + size) if start + size < len(found) else ""


class FakeNotify(notify_pb2_grpc.NotifyServiceServicer):
    """The notifications it is given (by tracking ID), shown to whom notify shows them (notify's own rule,
    services.notify.access, by the agency each report is assigned to in `agencies`), with the staff
    inbox, the dead letters and their resending. Every ResendNotification request is kept in `resends`."""

    def __init__(self):
        self.notifications: dict[str, list[notify_pb2.Notification]] = {}
        self.agencies: dict[str, str] = {}
        self.resends: list[notify_pb2.ResendNotificationRequest] = []
        self._resent: dict[str, notify_pb2.Notification] = {}  # by idempotency key

    def everything(self) -> list[notify_pb2.Notification]:
        return sorted((n for ns in self.notifications.values() for n in ns), key=_newest_first, reverse=True)

    def ListNotifications(self, request, context):
        caller = identity.current()
        audience = visible_to(caller, request.tracking_id, assigned_agency=self.agencies.get(request.tracking_id, ""))
        if audience is None:
            raise PermissionDenied(f"{caller.role} may not see the notifications of {request.tracking_id}")
        return notify_pb2.ListNotificationsResponse(notifications=[
            n for n in self.notifications.get(request.tracking_id, [])
            if audience(_Addressed(Recipient(n.recipient), n.agency_id))])

    def ListInbox(self, request, context):
        caller = identity.current()
        if caller.role in AGENCY_STAFF and caller.agency_id:
            mine = lambda n: n.recipient == "agency" and n.agency_id == caller.agency_id  # noqa: E731
        elif caller.role == identity.NATIONAL_ADMIN:
            mine = lambda n: n.recipient == "national_admins"  # noqa: E731
        else:
            raise PermissionDenied(f"{caller.role} has no inbox")
        found = [n for n in self.everything() if n.channel == "in_app" and mine(n)]
        shown, next_page = _page(found, request.page_size, request.page_token)
        return notify_pb2.ListInboxResponse(notifications=shown, next_page_token=next_page)

    def ListDeadLetters(self, request, context):
        caller = identity.current()
        if caller.role not in (identity.NATIONAL_ADMIN, identity.SERVICE):
            raise PermissionDenied(f"{caller.role} may not read the dead letters")
        if request.channel and request.channel not in DEAD_LETTER_CHANNELS:
            raise InvalidArgument("channel", "must be email, sms or x")
        found = [n for n in self.everything()
                 if n.status == "failed" and (not request.channel or n.channel == request.channel)]
        shown, next_page = _page(found, request.page_size, request.page_token)
        return notify_pb2.ListDeadLettersResponse(notifications=shown, next_page_token=next_page)

    def ResendNotification(self, request, context):
        caller = identity.current()
        identity.require_role(caller, identity.NATIONAL_ADMIN)
        self.resends.append(request)
        if not request.idempotency_key:
            raise InvalidArgument("idempotency_key", "is required")
        if not request.notification_id.isdigit():
            raise InvalidArgument("notification_id", "must be the id of a notification")
        if request.idempotency_key in self._resent:
            return self._resent[request.idempotency_key]
        found = [n for n in self.everything() if n.id == request.notification_id]
        if not found:
            raise NotFound(f"no notification {request.notification_id}")
        notification = found[0]
        if notification.status != "failed":
            raise FailedPrecondition(f"notification {notification.id} is not a dead letter")
        notification.status, notification.attempts, notification.last_error = "pending", 0, ""
        notification.resends += 1
        notification.resent_by = caller.subject
        self._resent[request.idempotency_key] = notification
        return notification


def registrations(sla: FakeSla, notify: FakeNotify):
    return [
        (lambda server: sla_pb2_grpc.add_SlaServiceServicer_to_server(sla, server),
         sla_pb2.DESCRIPTOR.services_by_name["SlaService"].full_name),
        (lambda server: notify_pb2_grpc.add_NotifyServiceServicer_to_server(notify, server),
         notify_pb2.DESCRIPTOR.services_by_name["NotifyService"].full_name),
    ]
