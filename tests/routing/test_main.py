"""The routing process's wiring: its outbox relay hands an agency's decline to the report's process in sla."""

import pytest

from services.plumbing import identity, process
from services.plumbing.grpc_server import GrpcServer
from services.plumbing.outbox import OutboxRelay
from services.routing.__main__ import build
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc
from tests.routing.test_decline import DISHUB, DISHUB_OFFICER, REASON, TRACKING_ID, assign_transport, decline
from tests.support import IDENTITY_KEY


class RecordingSla(sla_pb2_grpc.SlaServiceServicer):
    """Stands in for sla: records the signals it receives and who sent them."""

    def __init__(self):
        self.signals: list[tuple[identity.Caller, sla_pb2.SignalCaseRequest]] = []

    def SignalCase(self, request, context):
        self.signals.append((identity.current(), request))
        return sla_pb2.CaseResponse()


@pytest.fixture
def sla(monkeypatch):
    recording = RecordingSla()
    server = GrpcServer(name="sla", identity_key=IDENTITY_KEY, threads=2)
    server.add(lambda s: sla_pb2_grpc.add_SlaServiceServicer_to_server(recording, s),
               sla_pb2.DESCRIPTOR.services_by_name["SlaService"].full_name)
    monkeypatch.setenv("SLA_SERVICE_ADDR", f"127.0.0.1:{server.start(0, host='127.0.0.1')}")
    yield recording
    server.stop(0)


def test_the_relay_signals_the_report_process_that_the_agency_declined(stub, pool, clock, sla):
    context = process.Context(name="routing", pool=pool, clock=clock, identity_key=IDENTITY_KEY,
                              signer=identity.ServiceSigner("routing", IDENTITY_KEY))
    _, workers = build(context)
    (relay,) = workers
    assert isinstance(relay, OutboxRelay) and relay.schema == "routing"

    assigned = assign_transport(stub)
    declined = decline(stub, metadata=DISHUB_OFFICER)
    assert relay.run_once() == 1
    assert relay.run_once() == 0  # delivered once

    ((sender, signal),) = sla.signals
    assert sender == identity.Caller("routing", identity.SERVICE, "", sender.expires_at)
    assert (signal.event_id, signal.tracking_id, signal.message_name) == ("routing:1", TRACKING_ID, "agency_declined")
    assert dict(signal.payload) == {"assignment_id": assigned.id, "agency_id": DISHUB, "reason": REASON,
                                    "declined_at": declined.declined_at.ToDatetime().isoformat() + "+00:00"}


def test_start_up_loads_the_reference_list_of_regions_without_demo_data(pool, clock, database_url, monkeypatch):
    monkeypatch.setenv("SP4N_DEMO_DATA", "0")
    monkeypatch.setenv("SLA_SERVICE_ADDR", "127.0.0.1:9")  # the relay is built, never run here
    context = process.Context(name="routing", pool=pool, clock=clock, identity_key=IDENTITY_KEY,
                              signer=identity.ServiceSigner("routing", IDENTITY_KEY))
    build(context)
    with pool.connection() as conn:
        rows = conn.execute("SELECT kind, count(*) AS n FROM routing.regions GROUP BY kind").fetchall()
        kinds = {r["kind"]: r["n"] for r in rows}
        agencies = [r["id"] for r in conn.execute("SELECT id FROM routing.agencies").fetchall()]
    assert kinds == {"province": 38, "regency": 416, "city": 98}
    assert agencies == ["nasional"]  # the demo directory stays out


def test_start_up_with_demo_data_imports_the_demo_directory(pool, clock, monkeypatch):
    monkeypatch.setenv("SP4N_DEMO_DATA", "1")
    monkeypatch.setenv("SLA_SERVICE_ADDR", "127.0.0.1:9")
    context = process.Context(name="routing", pool=pool, clock=clock, identity_key=IDENTITY_KEY,
                              signer=identity.ServiceSigner("routing", IDENTITY_KEY))
    build(context)
    build(context)  # a restart: the same import again changes nothing
    with pool.connection() as conn:
        agencies = conn.execute("SELECT count(*) AS n FROM routing.agencies").fetchone()["n"]
        officers = conn.execute("SELECT count(*) AS n FROM routing.liaison_officers").fetchone()["n"]
        imports = conn.execute("SELECT imported_by FROM routing.directory_imports").fetchall()
    assert (agencies, officers) == (22, 12)
    assert imports == [{"imported_by": "demo"}]
