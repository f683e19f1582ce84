"""An agency declines a report outside its authority ("bukan wewenang"): the assignment stops being
active, the report's process hears of it through routing's outbox, and re-routing skips every agency
that declined, down to the national desk, which can never be excluded. Through a real gRPC server
and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest
from psycopg.rows import dict_row

from sp4n.routing.v1 import routing_pb2 as pb
from tests.routing.test_grpc_api import SLA, T0, assign, field_violation
from tests.support import caller, service_caller

TRACKING_ID = "LAP-AAAA0001"
DISHUB = "kab-tanah-bumbu-dinas-perhubungan"
DISHUB_OFFICER = caller("liaison_officer", "lo-dishub", DISHUB)
REASON = "Jalan nasional, bukan jalan kabupaten: wewenang Kementerian PUPR."


def officer_of(agency_id: str, role: str = "liaison_officer") -> list[tuple[str, str]]:
    return caller(role, f"{role}-{agency_id}", agency_id)


def decline(stub, metadata=DISHUB_OFFICER, key="decline-1", tracking_id=TRACKING_ID, reason=REASON) -> pb.Assignment:
    request = pb.DeclineAssignmentRequest(idempotency_key=key, tracking_id=tracking_id, reason=reason)
    return stub.DeclineAssignment(request, metadata=metadata)


def assign_transport(stub, key="assign-1", excluded=()) -> pb.Assignment:
    """A transport report from a village of Tanah Bumbu: the rule names the regency's Dinas Perhubungan."""
    return assign(stub, TRACKING_ID, key=key, category="perhubungan", region_code="6310012005",
                  excluded_agency_ids=list(excluded))


def written(database_url):
    """Every assignment and outbox row, to show what a call wrote or did not."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        assignments = conn.execute(
            "SELECT id, agency_id, active, declined_key, declined_reason, declined_at, declined_by "
            "FROM routing.assignments ORDER BY id").fetchall()
        events = conn.execute("SELECT id, kind, tracking_id, payload FROM routing.outbox ORDER BY id").fetchall()
    return assignments, events


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        call()
    return e.value


def near(ts, when: datetime) -> bool:
    return abs(ts.ToDatetime(tzinfo=timezone.utc) - when) < timedelta(seconds=5)


def test_the_assigned_agency_declines_and_the_outbox_tells_the_process(stub, clock, database_url):
    assigned = assign_transport(stub)
    assert (assigned.agency.id, assigned.active, assigned.declined_reason, assigned.HasField("declined_at")) == (
        DISHUB, True, "", False)
    clock.set(T0)
    got = decline(stub, reason=f"  {REASON}  ")
    assert (got.id, got.agency.id, got.active, got.declined_reason) == (assigned.id, DISHUB, False, REASON)
    assert near(got.declined_at, T0) and got.assigned_at == assigned.assigned_at

    (row,), (event,) = written(database_url)
    assert (row["active"], row["declined_key"], row["declined_by"]) == (False, "decline-1", "lo-dishub")
    assert (event["kind"], event["tracking_id"]) == ("agency_declined", TRACKING_ID)
    assert event["payload"] == {"assignment_id": assigned.id, "agency_id": DISHUB, "reason": REASON,
                                "declined_at": row["declined_at"].astimezone(timezone.utc).isoformat()}
    declined_at = datetime.fromisoformat(event["payload"]["declined_at"])
    assert declined_at.utcoffset() == timedelta(0) and near(got.declined_at, declined_at)

    e = refused(lambda: stub.GetAssignment(pb.GetAssignmentRequest(tracking_id=TRACKING_ID), metadata=SLA))
    assert e.code() == grpc.StatusCode.NOT_FOUND and "awaits re-routing" in e.details()


def test_an_agency_administrator_may_decline_too(stub):
    assign_transport(stub)
    assert decline(stub, metadata=officer_of(DISHUB, "agency_admin")).active is False


def test_a_repeated_key_returns_the_first_answer_and_writes_nothing(stub, clock, database_url):
    assign_transport(stub)
    first = decline(stub)
    before = written(database_url)
    clock.advance(timedelta(hours=2))
    again = decline(stub, reason="Another reason entirely, sent with the same key.")
    assert again == first
    assert written(database_url) == before
    assert len(before[1]) == 1


@pytest.mark.parametrize("metadata", [
    officer_of("kab-tanah-bumbu"),                  # the parent of the assigned agency is not the agency
    officer_of("kementerian-pupr", "agency_admin"),
    caller("liaison_officer", "lo-x"),              # staff of no agency
    caller("national_admin", "admin-1"),
    caller("process_analyst", "analyst-1"),
    caller("reporter", TRACKING_ID),
    SLA,
    service_caller("portal"),
    caller("national_admin", "admin-2", DISHUB),    # the right agency, not a role that may decline
])
def test_only_staff_of_the_assigned_agency_may_decline(stub, database_url, metadata):
    assign_transport(stub)
    before = written(database_url)
    assert refused(lambda: decline(stub, metadata=metadata)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert written(database_url) == before


def test_a_report_never_assigned_cannot_be_declined(stub, database_url):
    assert refused(lambda: decline(stub)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert written(database_url) == ([], [])


def test_a_repeated_key_from_another_agency_learns_nothing(stub, database_url):
    assign_transport(stub)
    decline(stub)
    before = written(database_url)
    e = refused(lambda: decline(stub, metadata=officer_of("kab-tanah-bumbu")))
    assert e.code() == grpc.StatusCode.PERMISSION_DENIED and REASON not in e.details()
    assert written(database_url) == before


def test_an_assignment_already_declined_cannot_be_declined_again(stub, database_url):
    assign_transport(stub)
    decline(stub)
    before = written(database_url)
    e = refused(lambda: decline(stub, key="decline-2"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no longer active" in e.details() and "declined" in e.details()
    assert written(database_url) == before


def test_an_assignment_replaced_by_a_newer_one_cannot_be_declined(stub, database_url):
    assign_transport(stub)
    assign_transport(stub, key="assign-2", excluded=[DISHUB])  # the process re-routed it meanwhile
    before = written(database_url)
    e = refused(lambda: decline(stub))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no longer active" in e.details() and "replaced" in e.details()
    assert written(database_url) == before


def test_concurrent_declines_decline_once(stub, database_url):
    assign_transport(stub)

    def attempt(n):
        try:
            return decline(stub, key=f"decline-{n % 2}").active  # two keys, each sent four times at once
        except grpc.RpcError as e:
            return e.code()

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sorted(map(str, outcomes)) == ["False"] * 4 + [str(grpc.StatusCode.FAILED_PRECONDITION)] * 4
    assignments, events = written(database_url)
    assert [r["active"] for r in assignments] == [False] and len(events) == 1


@pytest.mark.parametrize("fields, field", [
    (dict(reason=""), "reason"),
    (dict(reason="   \t  "), "reason"),
    (dict(reason="too short"), "reason"),                   # 9 characters
    (dict(reason="x" * 2001), "reason"),
    (dict(reason="Bukan wewenang\x00 kami sama sekali"), "reason"),
    (dict(reason="Bukan wewenang\x1b[31m kami"), "reason"),
    (dict(key=""), "idempotency_key"),
    (dict(key="k" * 201), "idempotency_key"),
    (dict(tracking_id="lap 1"), "tracking_id"),
])
def test_a_bad_request_names_the_field_and_writes_nothing(stub, database_url, fields, field):
    assign_transport(stub)
    before = written(database_url)
    e = refused(lambda: decline(stub, **fields))
    assert (e.code(), field_violation(e)) == (grpc.StatusCode.INVALID_ARGUMENT, field)
    assert written(database_url) == before


@pytest.mark.parametrize("reason", ["x" * 10, "x" * 2000, "Bukan kewenangan Dinas (lihat Perda No. 5/2021) ✓"])
def test_reasons_of_ten_to_two_thousand_characters_are_accepted(stub, reason):
    assign_transport(stub)
    assert decline(stub, reason=reason).declined_reason == reason


def test_a_reason_may_run_over_several_lines(stub):
    assign_transport(stub)
    reason = "Bukan wewenang kami.\nJalan ini jalan provinsi: silakan ke Dinas PUPR Provinsi."
    assert decline(stub, reason=reason).declined_reason == reason


def test_each_decline_reroutes_past_every_agency_that_declined_down_to_the_national_desk(stub, database_url):
    chain = [(DISHUB, "rule"), ("kab-tanah-bumbu", "region"), ("prov-kalimantan-selatan", "region"),
             ("nasional", "national")]
    excluded = []  # what the process gathers from the agency_declined events
    for n, (agency_id, matched_by) in enumerate(chain):
        got = assign_transport(stub, key=f"assign-{n}", excluded=excluded)
        assert (got.agency.id, got.matched_by, got.active) == (agency_id, matched_by, True)
        assert stub.GetAssignment(pb.GetAssignmentRequest(tracking_id=TRACKING_ID), metadata=SLA) == got
        if agency_id == "nasional":
            break
        decline(stub, metadata=officer_of(agency_id), key=f"decline-{n}")
        excluded.append(written(database_url)[1][-1]["payload"]["agency_id"])
    assert excluded == [DISHUB, "kab-tanah-bumbu", "prov-kalimantan-selatan"]

    assignments, events = written(database_url)
    assert [(r["agency_id"], r["active"], r["declined_by"]) for r in assignments] == [
        (DISHUB, False, f"liaison_officer-{DISHUB}"),
        ("kab-tanah-bumbu", False, "liaison_officer-kab-tanah-bumbu"),
        ("prov-kalimantan-selatan", False, "liaison_officer-prov-kalimantan-selatan"),
        ("nasional", True, None)]
    assert [e["payload"]["assignment_id"] for e in events] == [str(r["id"]) for r in assignments[:3]]


def test_the_national_desk_can_neither_decline_nor_be_excluded(stub, database_url):
    """No wrong door: the desk is the last resort, so a decline would only bring the report back to it."""
    got = assign(stub, TRACKING_ID, key="assign-1", category="lainnya", region_code="99",
                 excluded_agency_ids=["nasional"])
    assert (got.agency.id, got.matched_by) == ("nasional", "national")
    before = written(database_url)
    e = refused(lambda: decline(stub, metadata=officer_of("nasional")))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and "last resort" in e.details()
    assert written(database_url) == before
    again = assign(stub, TRACKING_ID, key="assign-2", category="perhubungan", region_code="6310",
                   excluded_agency_ids=[DISHUB, "kab-tanah-bumbu", "prov-kalimantan-selatan", "nasional"])
    assert (again.agency.id, again.matched_by) == ("nasional", "national")
