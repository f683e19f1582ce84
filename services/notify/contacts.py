"""Reporter contact, asked from intake (the only keeper of PII) each time it is needed, never stored."""

import grpc

from services.notify.domain import ContactUnavailable, ReportUnknown, ReporterContact, language_of
from sp4n.intake.v1 import intake_pb2, intake_pb2_grpc


class IntakeContacts:
    """Asks intake's GetReporterContact; the channel carries notify's signed identity."""

    # Shorter than sla's deadline for SendNotification (10 s), so that an intake that does not answer
    # (channels wait for a restarting peer) becomes UNAVAILABLE here rather than a timeout there.
    def __init__(self, stub: intake_pb2_grpc.IntakeServiceStub, *, timeout: float = 5.0):
        self.stub = stub
        self.timeout = timeout

    def reporter(self, tracking_id: str) -> ReporterContact:
        try:
            contact = self.stub.GetReporterContact(intake_pb2.GetReporterContactRequest(tracking_id=tracking_id),
                                                   timeout=self.timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                raise ReportUnknown(f"intake knows no report {tracking_id}") from None
            raise ContactUnavailable(f"intake did not give the reporter's contact: {e.code().name}: "
                                     f"{e.details()}") from None
        return ReporterContact(email=contact.email.strip(), language=language_of(contact.language),
                               phone=contact.phone.strip(), channel=contact.channel.strip(),
                               x_handle=contact.x_handle.strip().lstrip("@"),
                               channel_message_id=contact.channel_message_id.strip())
