"""Who may read a report's case (GetCase): the agency it is assigned to now, its reporter, and those who
see every case; through a real gRPC server and PostgreSQL, the other services recorded."""

from datetime import timedelta

import grpc
import psycopg
import pytest

from sp4n.sla.v1 import sla_pb2 as pb
from tests.sla.test_grpc_api import forward, recorder, service, signal, start, stub  # noqa: F401 (fixtures)
from tests.support import caller, service_caller

TRACKING_ID = "LAP-TEST0001"
FIRST, SECOND = "kab-tanah-bumbu-dinas-pupr", "kab-tanah-bumbu"  # routing's answers, in order (RecordingCaller)


def sees_every_case():
    """Signed now: identities expire, and a slow run outlasts one signed at import."""
    return [service_caller("portal"), service_caller("intake"), caller("national_admin", "admin-1"),
            caller("process_analyst", "pa-1")]


def staff(agency_id: str, role: str = "liaison_officer"):
    return caller(role, f"{role}-{agency_id}", agency_id)


def sees(stub, metadata, tracking_id=TRACKING_ID) -> bool:  # noqa: F811
    """True when the case is given, False when refused; any other answer fails."""
    try:
        stub.GetCase(pb.GetCaseRequest(tracking_id=tracking_id), metadata=metadata)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED, e.details()
        return False
    return True


def recorded_agency(database_url) -> str:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT agency_id FROM sla.instances WHERE tracking_id = %s",
                            (TRACKING_ID,)).fetchone()[0]


def test_a_case_is_read_by_its_agency_its_reporter_and_those_who_see_every_case(stub, database_url):  # noqa: F811
    start(stub)
    assert recorded_agency(database_url) == ""  # not routed yet: no agency's staff read it
    assert not sees(stub, staff(FIRST))
    forward(stub)
    assert recorded_agency(database_url) == FIRST
    for metadata in [*sees_every_case(), staff(FIRST), staff(FIRST, "agency_admin"), caller("reporter", TRACKING_ID)]:
        assert sees(stub, metadata), metadata
    for metadata in [staff(SECOND), staff(SECOND, "agency_admin"), caller("liaison_officer", "lo-9"),
                     caller("reporter", "LAP-TEST0002"), caller("reporter", "account:1")]:
        assert not sees(stub, metadata), metadata


def test_after_a_decline_the_case_is_the_new_agencys_only(stub, database_url):  # noqa: F811
    start(stub)
    forward(stub)
    signal(stub, "agency_declined", "routing:1", metadata=service_caller("routing"), agency_id=FIRST,
           reason="bukan wewenang")
    assert recorded_agency(database_url) == SECOND
    assert sees(stub, staff(SECOND)) and not sees(stub, staff(FIRST))


def test_a_case_that_does_not_exist_is_refused_to_agency_staff_and_not_found_for_services(stub):  # noqa: F811
    assert not sees(stub, staff(FIRST), tracking_id="LAP-TEST0009")
    with pytest.raises(grpc.RpcError) as e:
        stub.GetCase(pb.GetCaseRequest(tracking_id="LAP-TEST0009"), metadata=service_caller("portal"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_closed_case_stays_its_last_agencys(stub, service, clock, database_url):  # noqa: F811
    """Intake keeps a closed report its agency's, so sla keeps the case theirs: the console shows its deadlines."""
    start(stub)
    forward(stub)
    signal(stub, "follow_up_posted", "intake:2", metadata=service_caller("intake"), posted_at=clock.now().isoformat(),
           entry_id="1", agency_id=FIRST)
    clock.advance(timedelta(days=20))
    service.fire_due()
    assert stub.GetCase(pb.GetCaseRequest(tracking_id=TRACKING_ID), metadata=staff(FIRST)).status == "completed"
    assert recorded_agency(database_url) == FIRST
    assert not sees(stub, staff(SECOND))
