"""Stopping any one service stops the lifecycle at the step that needs it; when the service comes
back, the step completes and nothing is lost."""

import time
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.plumbing.local_system import SERVICES, health
from sp4n.intake.v1 import intake_pb2
from sp4n.verification.v1 import verification_pb2
from tests.e2e.conftest import eventually
from tests.e2e.test_report_lifecycle import ADMIN, case, report, reporter_notifications, submit_through_the_portal

pytestmark = pytest.mark.e2e
STALL = 3.0  # how long a step must not complete while its service is down


def in_queue(running, tracking_id):
    return any(i.tracking_id == tracking_id for i in running.verification.ListQueue(
        verification_pb2.ListQueueRequest(limit=500), metadata=ADMIN).items)


def forward(running, tracking_id):
    running.verification.DecideReport(verification_pb2.DecideReportRequest(
        idempotency_key=f"fwd-{tracking_id}", tracking_id=tracking_id, outcome=verification_pb2.OUTCOME_FORWARD),
        metadata=ADMIN)


def stays_false(check, seconds=STALL) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if check():
                return False
        except Exception:
            pass
        time.sleep(0.2)
    return True


class Down:
    """Stops a service for the duration of a with-block, then starts it again and waits for health."""

    def __init__(self, running, name):
        self.system, self.name = running.system, name

    def __enter__(self):
        assert self.system.stop_service(self.name) == 0

    def __exit__(self, *exc):
        self.system.start_service(self.name)
        self.system.wait_healthy(self.name)


def listed_services(address: str) -> set[str]:
    with grpc.insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        [answer] = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    return {s.name for s in answer.list_services_response.service}


def test_every_process_answers_health_and_reflection(running):
    for name in SERVICES:
        assert health(running.system.address(name)) == "SERVING", name
        listed = listed_services(running.system.address(name))
        assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= listed, name
        if name != "portal":
            assert f"sp4n.{name}.v1.{name.capitalize()}Service" in listed, listed


def test_without_the_portal_no_report_can_be_submitted(running):
    with Down(running, "portal"):
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(running.portal + "/", timeout=2)
    submit_through_the_portal(running.portal)


def test_without_intake_the_portal_refuses_to_take_the_report(running):
    with Down(running, "intake"):
        with pytest.raises(urllib.error.HTTPError) as e:
            submit_through_the_portal(running.portal)
        e.value.close()
        assert e.value.code == 503


def test_without_sla_no_process_starts_until_it_is_back(running):
    with Down(running, "sla"):
        tracking_id = submit_through_the_portal(running.portal)
        assert stays_false(lambda: in_queue(running, tracking_id))
    eventually(lambda: in_queue(running, tracking_id), what="the start event delivered after sla came back")


def test_without_notify_the_receipt_waits_and_then_goes_out(running):
    with Down(running, "notify"):
        tracking_id = submit_through_the_portal(running.portal)
        assert stays_false(lambda: in_queue(running, tracking_id))  # the process waits on its first step
    eventually(lambda: ("received", "in_app", "sent") in reporter_notifications(running, tracking_id),
               what="the receipt after notify came back")
    eventually(lambda: in_queue(running, tracking_id), what="the report reaching the queue")


def test_without_verification_no_report_is_queued_until_it_is_back(running):
    with Down(running, "verification"):
        tracking_id = submit_through_the_portal(running.portal)
        assert stays_false(lambda: in_queue(running, tracking_id))
    eventually(lambda: in_queue(running, tracking_id), what="the enqueue retried after verification came back")


def test_without_routing_no_report_is_forwarded_until_it_is_back(running):
    tracking_id = submit_through_the_portal(running.portal)
    eventually(lambda: in_queue(running, tracking_id), what="queueing")
    with Down(running, "routing"):
        forward(running, tracking_id)
        assert stays_false(lambda: report(running, tracking_id).status == intake_pb2.REPORT_STATUS_FORWARDED)
        assert case(running, tracking_id).status == "failed"
    eventually(lambda: report(running, tracking_id).status == intake_pb2.REPORT_STATUS_FORWARDED,
               what="forwarding after routing came back")
