"""Reporter contact and a report's agency, asked from intake (the only keeper of PII), and the e-mail
addresses of an agency's liaison officers, asked from routing's agency directory: each time they are
needed, never stored."""

import grpc

from services.notify.domain import (NATIONAL_DESK, ContactUnavailable, Recipient, ReportUnknown, ReporterContact,
                                    StaffContact, language_of)
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc
from sp4n.routing.v1 import routing_pb2, routing_pb2_grpc


MAX_REPORTERS = 100  # intake's limit on the contacts of one GetReporterContacts


def _reporter(contact: intake_pb2.ReporterContact) -> ReporterContact:
    return ReporterContact(email=contact.email.strip(), language=language_of(contact.language),
                           phone=contact.phone.strip(), channel=contact.channel.strip(),
                           x_handle=contact.x_handle.strip().lstrip("@"),
                           channel_message_id=contact.channel_message_id.strip())


class IntakeContacts:
    """Asks intake's GetReporterContact, or GetReporterContacts for several reports at once (and
    GetReport, for the agency a report is assigned to); the channel carries notify's signed identity."""

    # Shorter than sla's deadline for SendNotification (10 s), so that an intake that does not answer
    # (channels wait for a restarting peer) becomes UNAVAILABLE here rather than a timeout there.
    def __init__(self, stub: intake_pb2_grpc.IntakeServiceStub, *,
                 directory: routing_pb2_grpc.RoutingServiceStub | None = None, timeout: float = 5.0):
        self.stub = stub
        self.directory = directory
        self.timeout = timeout

    def staff(self, recipient: Recipient, agency_id: str) -> StaffContact:
        """The e-mail addresses of the liaison officers of the agency (the national desk for national
        administrators), as the directory lists them now. An agency the directory does not know has none."""
        if self.directory is None:
            return StaffContact()
        wanted = NATIONAL_DESK if recipient is Recipient.NATIONAL_ADMINS else agency_id
        try:
            agency = self.directory.GetAgency(routing_pb2.GetAgencyRequest(agency_id=wanted), timeout=self.timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                return StaffContact()
            raise ContactUnavailable(f"the agency directory did not give {wanted}'s liaison officers: "
                                     f"{e.code().name}: {e.details()}") from None
        emails = dict.fromkeys(o.email.strip() for o in agency.liaison_officers if o.email.strip())
        return StaffContact(tuple(emails))

    def reporter(self, tracking_id: str) -> ReporterContact:
        return _reporter(self._ask(self.stub.GetReporterContact,
                                   intake_pb2.GetReporterContactRequest(tracking_id=tracking_id), tracking_id,
                                   "the reporter's contact"))

    def reporters(self, tracking_ids: list[str]) -> dict[str, ReporterContact]:
        """The reporters' contacts by tracking ID, in calls of up to MAX_REPORTERS; a report intake does
        not know has none."""
        found: dict[str, ReporterContact] = {}
        wanted = list(dict.fromkeys(tracking_ids))
        for start in range(0, len(wanted), MAX_REPORTERS):
            request = intake_pb2.GetReporterContactsRequest(tracking_ids=wanted[start:start + MAX_REPORTERS])
            try:
                answer = self.stub.GetReporterContacts(request, timeout=self.timeout)
            except grpc.RpcError as e:
                raise _unavailable("the reporters' contacts", e) from None
            found |= {contact.tracking_id: _reporter(contact) for contact in answer.contacts}
        return found

    def assigned_agency(self, tracking_id: str) -> str:
        """Intake keeps which agency a report is assigned to: its own check of agency staff uses it too."""
        return self._ask(self.stub.GetReport, intake_pb2.GetReportRequest(tracking_id=tracking_id),
                         tracking_id, "the report's agency").agency_id

    def _ask(self, method, request, tracking_id: str, what: str):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                raise ReportUnknown(f"intake knows no report {tracking_id}") from None
            raise _unavailable(what, e) from None


def _unavailable(what: str, error: grpc.RpcError) -> ContactUnavailable:
    return ContactUnavailable(f"intake did not give {what}: {error.code().name}: {error.details()}")
