"""Routing reports to the competent agency, through a real gRPC server and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest

from services.plumbing import db
from services.routing import demo
from sp4n.routing.v1 import routing_pb2 as pb
from tests.support import ROOT, caller, field_violation, service_caller

SLA = service_caller("sla")
OFFICER = caller("liaison_officer", "lo-1", "kab-tanah-bumbu-dinas-pupr")
T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)


def assign(stub, tracking_id="LAP-AAAA0001", key=None, metadata=SLA, **fields) -> pb.Assignment:
    request = pb.AssignReportRequest(idempotency_key=key or f"assign-{tracking_id}", tracking_id=tracking_id,
                                     **fields)
    return stub.AssignReport(request, metadata=metadata)


def assignment_rows(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT tracking_id, agency_id, matched_by, active FROM routing.assignments "
                            "ORDER BY id").fetchall()


def test_the_migration_creates_the_national_desk_and_refuses_to_lose_it(make_database):
    url = make_database()
    db.migrate(url, schema="routing", folder=ROOT / "services" / "routing" / "migrations")
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, level, timezone, parent_id FROM routing.agencies").fetchall()
        assert rows == [("nasional", "national", "Asia/Jakarta", None)]
        with pytest.raises(psycopg.errors.RaiseException, match="last resort"):
            conn.execute("DELETE FROM routing.agencies WHERE id = 'nasional'")


def test_a_preferred_agency_is_taken_when_it_exists(stub):
    got = assign(stub, category="infrastruktur", region_code="6310", preferred_agency_id="kota-banjarmasin")
    assert (got.agency.id, got.matched_by) == ("kota-banjarmasin", "preferred")


@pytest.mark.parametrize("category, agency_id", [
    ("infrastruktur", "kab-tanah-bumbu-dinas-pupr"),
    ("kesehatan", "kab-tanah-bumbu-dinas-kesehatan"),
    ("pendidikan", "kab-tanah-bumbu-dinas-pendidikan"),
    ("perhubungan", "kab-tanah-bumbu-dinas-perhubungan"),
])
@pytest.mark.parametrize("region_code", ["6310", "6310012005"])
def test_a_rule_for_the_category_and_region_names_the_regency_unit(stub, category, agency_id, region_code):
    got = assign(stub, category=category, region_code=region_code)
    assert (got.agency.id, got.matched_by, got.agency.timezone) == (agency_id, "rule", "Asia/Makassar")
    assert got.agency.parent_id == "kab-tanah-bumbu"


def test_the_longest_matching_region_prefix_wins_and_a_rule_for_any_region_covers_the_rest(stub):
    assert assign(stub, "LAP-AAAA0001", category="infrastruktur", region_code="6310").agency.id == \
        "kab-tanah-bumbu-dinas-pupr"
    got = assign(stub, "LAP-AAAA0002", category="infrastruktur", region_code="6371")
    assert (got.agency.id, got.matched_by, got.agency.timezone) == ("kementerian-pupr", "rule", "Asia/Jakarta")


def test_the_store_keeps_one_rule_per_category_and_region(stub, pool):
    """The longest matching region decides: a second rule of the same region would leave it to chance."""
    with pool.connection() as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO routing.rules (category, region_prefix, agency_id) "
                     "VALUES ('infrastruktur', '6310', 'kab-tanah-bumbu')")


@pytest.mark.parametrize("region_code, agency_id, tz", [
    ("6310", "kab-tanah-bumbu", "Asia/Makassar"),          # the regency, not one of its units
    ("6310012", "kab-tanah-bumbu", "Asia/Makassar"),
    ("6371", "kota-banjarmasin", "Asia/Makassar"),
    ("6311", "prov-kalimantan-selatan", "Asia/Makassar"),  # a regency not in the directory: its province
    ("63", "prov-kalimantan-selatan", "Asia/Makassar"),
    ("3171", "kota-jakarta-selatan", "Asia/Jakarta"),
    ("3172", "prov-dki-jakarta", "Asia/Jakarta"),
])
def test_without_a_rule_the_government_of_the_region_takes_the_report(stub, region_code, agency_id, tz):
    got = assign(stub, category="lingkungan", region_code=region_code)
    assert (got.agency.id, got.matched_by, got.agency.timezone) == (agency_id, "region", tz)


@pytest.mark.parametrize("category, region_code", [
    ("lingkungan", ""), ("lingkungan", "99"), ("administrasi-kependudukan", "1101"), ("", ""),
])
def test_a_report_no_one_else_can_take_goes_to_the_national_desk(stub, category, region_code):
    got = assign(stub, category=category, region_code=region_code)
    assert (got.agency.id, got.agency.level, got.matched_by) == ("nasional", "national", "national")


def test_agencies_that_declined_are_skipped_all_the_way_down_the_chain(stub):
    chain = [("kab-tanah-bumbu-dinas-pupr", "rule"), ("kementerian-pupr", "rule"), ("kab-tanah-bumbu", "region"),
             ("prov-kalimantan-selatan", "region"), ("nasional", "national"), ("nasional", "national")]
    excluded = []
    for n, (agency_id, matched_by) in enumerate(chain):
        got = assign(stub, key=f"k{n}", category="infrastruktur", region_code="6310",
                     excluded_agency_ids=excluded)
        assert (got.agency.id, got.matched_by) == (agency_id, matched_by)
        excluded.append(agency_id)  # at the end even the national desk is "excluded": it still takes it


def test_the_reporters_suggestion_comes_after_the_administrators_choice_and_before_the_rules(stub):
    suggested = assign(stub, "LAP-AAAA0001", category="infrastruktur", region_code="6310",
                       suggested_agency_id="kota-banjarmasin")
    assert (suggested.agency.id, suggested.matched_by) == ("kota-banjarmasin", "suggested")
    chosen = assign(stub, "LAP-AAAA0002", category="infrastruktur", region_code="6310",
                    preferred_agency_id="kementerian-pupr", suggested_agency_id="kota-banjarmasin")
    assert (chosen.agency.id, chosen.matched_by) == ("kementerian-pupr", "preferred")


@pytest.mark.parametrize("suggestion, excluded", [("dinas-yang-tidak-ada", []),
                                                  ("kota-banjarmasin", ["kota-banjarmasin"])])
def test_an_unknown_or_declined_suggestion_is_passed_over(stub, suggestion, excluded):
    got = assign(stub, category="infrastruktur", region_code="6310", suggested_agency_id=suggestion,
                 excluded_agency_ids=excluded)
    assert (got.agency.id, got.matched_by) == ("kab-tanah-bumbu-dinas-pupr", "rule")


def test_an_excluded_preferred_agency_is_passed_over(stub):
    got = assign(stub, category="kesehatan", region_code="6310", preferred_agency_id="kota-banjarmasin",
                 excluded_agency_ids=["kota-banjarmasin"])
    assert (got.agency.id, got.matched_by) == ("kab-tanah-bumbu-dinas-kesehatan", "rule")


def test_a_new_assignment_replaces_the_active_one(stub, database_url):
    first = assign(stub, key="k1", category="infrastruktur", region_code="6310")
    second = assign(stub, key="k2", category="infrastruktur", region_code="6310",
                    excluded_agency_ids=[first.agency.id])
    current = stub.GetAssignment(pb.GetAssignmentRequest(tracking_id="LAP-AAAA0001"), metadata=SLA)
    assert current == second and second.id != first.id
    assert assignment_rows(database_url) == [("LAP-AAAA0001", "kab-tanah-bumbu-dinas-pupr", "rule", False),
                                             ("LAP-AAAA0001", "kementerian-pupr", "rule", True)]


def test_a_repeated_idempotency_key_returns_the_first_assignment_and_writes_nothing(stub, clock, database_url):
    first = assign(stub, key="k1", category="infrastruktur", region_code="6310")
    clock.advance(timedelta(hours=1))
    again = assign(stub, key="k1", category="kesehatan", region_code="3171", preferred_agency_id="nasional")
    assert again == first
    assert len(assignment_rows(database_url)) == 1


def test_the_assignment_time_comes_from_the_service_clock(stub, clock):
    clock.set(T0)
    got = assign(stub, category="kesehatan", region_code="6310")
    assert abs(got.assigned_at.ToDatetime(tzinfo=timezone.utc) - T0) < timedelta(seconds=5)


@pytest.mark.parametrize("request_fields, field", [
    (dict(idempotency_key=""), "idempotency_key"),
    (dict(idempotency_key="k" * 201), "idempotency_key"),
    (dict(tracking_id="lap 1"), "tracking_id"),
    (dict(tracking_id=""), "tracking_id"),
    (dict(region_code="63a0"), "region_code"),
    (dict(region_code="6"), "region_code"),
    (dict(region_code="63100120051"), "region_code"),
    (dict(category="Jalan Rusak!"), "category"),
    (dict(category="x" * 101), "category"),
    (dict(preferred_agency_id="no-such-agency"), "preferred_agency_id"),
    (dict(preferred_agency_id="Bad Id"), "preferred_agency_id"),
    (dict(excluded_agency_ids=["Bad Id"]), "excluded_agency_ids"),
    (dict(excluded_agency_ids=[f"a-{n}" for n in range(101)]), "excluded_agency_ids"),
])
def test_bad_requests_name_the_field_and_write_nothing(stub, database_url, request_fields, field):
    fields = dict(idempotency_key="k1", tracking_id="LAP-AAAA0001", category="kesehatan",
                  region_code="6310") | request_fields
    with pytest.raises(grpc.RpcError) as e:
        stub.AssignReport(pb.AssignReportRequest(**fields), metadata=SLA)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field
    assert assignment_rows(database_url) == []


@pytest.mark.parametrize("metadata", [caller("national_admin", "admin-1"), OFFICER, service_caller("intake")])
def test_only_the_lifecycle_process_assigns(stub, database_url, metadata):
    with pytest.raises(grpc.RpcError) as e:
        assign(stub, category="kesehatan", region_code="6310", metadata=metadata)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert assignment_rows(database_url) == []


def test_an_assignment_is_seen_by_its_agency_its_reporter_and_those_who_see_every_report(stub):
    held = assign(stub, category="infrastruktur", region_code="6310")
    request = pb.GetAssignmentRequest(tracking_id="LAP-AAAA0001")
    for metadata in (SLA, service_caller("portal"), caller("national_admin", "admin-1"), caller("process_analyst", "pa"),
                     caller("agency_admin", "aa-1", held.agency.id), OFFICER, caller("reporter", "LAP-AAAA0001")):
        assert stub.GetAssignment(request, metadata=metadata) == held
    # Another agency, staff of none, another report's reporter, a reporter account: refused, and so is
    # another agency asking of a report no one holds (it learns nothing of which reports exist).
    for tracking_id, metadata in [("LAP-AAAA0001", caller("liaison_officer", "lo-2", "kota-banjarmasin")),
                                  ("LAP-AAAA0001", caller("agency_admin", "aa-3")),
                                  ("LAP-AAAA0001", caller("agency_admin", "aa-4", "kab-tanah-bumbu")),  # its parent
                                  ("LAP-AAAA0001", caller("reporter", "LAP-AAAA0002")),
                                  ("LAP-AAAA0001", caller("reporter", "account:1")),
                                  ("LAP-AAAA0009", OFFICER)]:
        with pytest.raises(grpc.RpcError) as e:
            stub.GetAssignment(pb.GetAssignmentRequest(tracking_id=tracking_id), metadata=metadata)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED, (tracking_id, metadata)


def test_calls_without_a_valid_identity_are_refused(stub):
    for call in [lambda md: assign(stub, metadata=md),
                 lambda md: stub.GetAgency(pb.GetAgencyRequest(agency_id="nasional"), metadata=md),
                 lambda md: stub.ListAgencies(pb.ListAgenciesRequest(), metadata=md),
                 lambda md: stub.GetAssignment(pb.GetAssignmentRequest(tracking_id="LAP-AAAA0001"), metadata=md)]:
        for metadata in [(), [("x-sp4n-caller", "forged.token")]]:
            with pytest.raises(grpc.RpcError) as e:
                call(metadata)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_report_never_assigned_has_no_assignment(stub):
    with pytest.raises(grpc.RpcError) as e:
        stub.GetAssignment(pb.GetAssignmentRequest(tracking_id="LAP-AAAA0009"), metadata=SLA)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as e:
        stub.GetAssignment(pb.GetAssignmentRequest(tracking_id="not a tracking id"), metadata=OFFICER)
    assert (e.value.code(), field_violation(e.value)) == (grpc.StatusCode.INVALID_ARGUMENT, "tracking_id")


def test_any_signed_in_caller_reads_the_directory(stub):
    agency = stub.GetAgency(pb.GetAgencyRequest(agency_id="kab-tanah-bumbu"), metadata=OFFICER)
    assert (agency.code, agency.level, agency.region_code, agency.timezone, agency.parent_id) == (
        "KAB-TANBU", "regency", "6310", "Asia/Makassar", "prov-kalimantan-selatan")
    with pytest.raises(grpc.RpcError) as e:
        stub.GetAgency(pb.GetAgencyRequest(agency_id="kab-atlantis"), metadata=OFFICER)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_directory_lists_everything_or_the_children_of_an_agency(stub):
    everything = stub.ListAgencies(pb.ListAgenciesRequest(), metadata=OFFICER).agencies
    assert len(everything) == len(demo.AGENCIES) + 1 == 22 and everything[0].id == "nasional"
    units = stub.ListAgencies(pb.ListAgenciesRequest(parent_id="kab-tanah-bumbu"), metadata=OFFICER).agencies
    assert {a.id.removeprefix("kab-tanah-bumbu-") for a in units} == {
        "diskominfo", "dinas-pupr", "dinas-kesehatan", "dinas-pendidikan", "dinas-perhubungan"}
    assert all(a.level == "unit" and a.region_code == "6310" for a in units)
    top = stub.ListAgencies(pb.ListAgenciesRequest(parent_id="nasional"), metadata=OFFICER).agencies
    assert [a.level for a in top] == ["ministry"] * 5 + ["agency"] + ["province"] * 2
    with pytest.raises(grpc.RpcError) as e:
        stub.ListAgencies(pb.ListAgenciesRequest(parent_id="kab-atlantis"), metadata=OFFICER)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_loading_the_demo_data_again_changes_nothing(stub, pool, database_url):
    def counts():
        with psycopg.connect(database_url) as conn:
            return [conn.execute(f"SELECT count(*) FROM routing.{t}").fetchone()[0] for t in ("agencies", "rules")]

    before = counts()
    demo.load(pool)
    assert counts() == before == [22, len(demo.RULES)]
