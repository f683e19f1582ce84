"""An agency administrator dispatches (disposisi) a report their agency holds to an agency directly under
it: the unit's assignment replaces the agency's, the outbox tells the report's process, and nothing
changes when the dispatch is not theirs to make. Through a real gRPC server and PostgreSQL."""

from datetime import datetime, timezone

import grpc
import psycopg
import pytest
from psycopg.rows import dict_row

from sp4n.routing.v1 import routing_pb2 as pb
from tests.routing.test_decline import decline, near, refused
from tests.routing.test_grpc_api import SLA, T0, assign
from tests.support import caller

TRACKING_ID = "LAP-DISP0001"
REGENCY = "kab-tanah-bumbu"
PUPR = "kab-tanah-bumbu-dinas-pupr"
DISHUB = "kab-tanah-bumbu-dinas-perhubungan"
REGENCY_ADMIN = caller("agency_admin", "admin-tanbu", REGENCY)
NOTE = "Mohon dicek lampu jalan di Jl. Raya Batulicin."


def dispatch(stub, agency_id=PUPR, metadata=REGENCY_ADMIN, key="dispatch-1", note=NOTE,
             tracking_id=TRACKING_ID) -> pb.Assignment:
    return stub.DispatchReport(pb.DispatchReportRequest(idempotency_key=key, tracking_id=tracking_id,
                                                        agency_id=agency_id, note=note), metadata=metadata)


def to_the_regency(stub) -> pb.Assignment:
    """A report without a category, from Tanah Bumbu: the regency's government takes it."""
    assigned = assign(stub, TRACKING_ID, category="", region_code="6310")
    assert (assigned.agency.id, assigned.matched_by) == (REGENCY, "region")
    return assigned


def written(database_url):
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        assignments = conn.execute("SELECT id, agency_id, matched_by, active, dispatched_by, dispatch_note "
                                   "FROM routing.assignments ORDER BY id").fetchall()
        events = conn.execute("SELECT kind, tracking_id, payload FROM routing.outbox ORDER BY id").fetchall()
    return assignments, events


def test_the_agency_administrator_dispatches_to_a_unit_and_the_outbox_tells_the_process(stub, clock,
                                                                                       database_url):
    held = to_the_regency(stub)
    clock.set(T0)
    got = dispatch(stub, note=f"  {NOTE}\n")
    assert (got.agency.id, got.matched_by, got.active, got.dispatch_note) == (PUPR, "dispatch", True, NOTE)
    assert near(got.assigned_at, T0)
    assert stub.GetAssignment(pb.GetAssignmentRequest(tracking_id=TRACKING_ID), metadata=SLA).id == got.id

    (before, after), (event,) = written(database_url)
    assert (before["agency_id"], before["active"], before["dispatched_by"]) == (REGENCY, False, None)
    assert (after["agency_id"], after["active"], after["dispatched_by"]) == (PUPR, True, "admin-tanbu")
    assert (event["kind"], event["tracking_id"]) == ("agency_dispatched", TRACKING_ID)
    payload = dict(event["payload"])
    assert datetime.fromisoformat(payload.pop("assigned_at")) == got.assigned_at.ToDatetime(tzinfo=timezone.utc)
    assert payload == {"assignment_id": got.id, "agency_id": PUPR, "agency_name": got.agency.name,
                       "timezone": "Asia/Makassar", "parent_id": REGENCY, "from_agency_id": held.agency.id}


def test_a_repeated_dispatch_returns_the_first_and_writes_nothing(stub, database_url):
    to_the_regency(stub)
    first = dispatch(stub)
    again = dispatch(stub, agency_id=DISHUB)  # the same key: the first answer, whatever the rest says
    assert again == first
    assignments, events = written(database_url)
    assert (len(assignments), len(events)) == (2, 1)


@pytest.mark.parametrize("who, code", [
    (caller("liaison_officer", "lo-tanbu", REGENCY), grpc.StatusCode.PERMISSION_DENIED),  # not an administrator
    (caller("agency_admin", "admin-pupr", PUPR), grpc.StatusCode.PERMISSION_DENIED),  # another agency
    (caller("agency_admin", "admin-kalsel", "prov-kalimantan-selatan"), grpc.StatusCode.PERMISSION_DENIED),
    (caller("national_admin", "nat-1"), grpc.StatusCode.PERMISSION_DENIED),
    (SLA, grpc.StatusCode.PERMISSION_DENIED),
])
def test_only_the_holding_agencys_administrator_may_dispatch(stub, database_url, who, code):
    to_the_regency(stub)
    before = written(database_url)
    assert refused(lambda: dispatch(stub, metadata=who)).code() == code
    assert written(database_url) == before


@pytest.mark.parametrize("agency_id, code, says", [
    ("prov-kalimantan-selatan-dinas-pupr", grpc.StatusCode.INVALID_ARGUMENT, "not an agency directly under"),
    ("kab-tidak-ada", grpc.StatusCode.INVALID_ARGUMENT, "not an agency directly under"),
    (REGENCY, grpc.StatusCode.INVALID_ARGUMENT, "not an agency directly under"),  # itself
    ("Bad Id!", grpc.StatusCode.INVALID_ARGUMENT, "agency id"),
])
def test_only_to_an_agency_directly_under_it(stub, database_url, agency_id, code, says):
    to_the_regency(stub)
    before = written(database_url)
    e = refused(lambda: dispatch(stub, agency_id=agency_id))
    assert e.code() == code and says in e.details()
    assert written(database_url) == before


def test_bad_notes_and_keys_are_refused_and_change_nothing(stub, database_url):
    to_the_regency(stub)
    before = written(database_url)
    assert refused(lambda: dispatch(stub, note="x" * 2001)).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused(lambda: dispatch(stub, note="bel\x07")).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused(lambda: dispatch(stub, key="")).code() == grpc.StatusCode.INVALID_ARGUMENT
    # A key routing used for the assignment itself names another request.
    assert refused(lambda: dispatch(stub, key=f"assign-{TRACKING_ID}")).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert written(database_url) == before


def test_not_to_an_inactive_unit_nor_one_that_declined_it(stub, database_url):
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE routing.agencies SET active = false WHERE id = %s", (DISHUB,))
    to_the_regency(stub)
    e = refused(lambda: dispatch(stub, agency_id=DISHUB, key="d-inactive"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "inactive" in e.details()

    dispatch(stub, agency_id=PUPR, key="d-1")
    decline(stub, metadata=caller("liaison_officer", "lo-pupr", PUPR), key="decline-pupr",
            tracking_id=TRACKING_ID)
    # The process re-routes: back to the regency (the unit that declined is excluded).
    again = assign(stub, TRACKING_ID, key="assign-2", category="", region_code="6310",
                   excluded_agency_ids=[PUPR])
    assert again.agency.id == REGENCY
    before = written(database_url)
    e = refused(lambda: dispatch(stub, agency_id=PUPR, key="d-2"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "declined" in e.details()
    assert written(database_url) == before


def test_after_a_dispatch_the_unit_may_decline_and_the_agency_may_no_longer_act(stub, database_url):
    to_the_regency(stub)
    dispatch(stub)
    e = refused(lambda: dispatch(stub, agency_id=DISHUB, key="dispatch-2"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "no longer active" in e.details()
    e = refused(lambda: decline(stub, metadata=REGENCY_ADMIN, key="decline-regency", tracking_id=TRACKING_ID))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    declined = decline(stub, metadata=caller("liaison_officer", "lo-pupr", PUPR), key="decline-pupr",
                       tracking_id=TRACKING_ID)
    assert (declined.agency.id, declined.active) == (PUPR, False)
    _, events = written(database_url)
    assert [e["kind"] for e in events] == ["agency_dispatched", "agency_declined"]
    assert all(e["payload"]["agency_id"] == PUPR for e in events)
