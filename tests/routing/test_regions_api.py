"""The reference list of regions in PostgreSQL and through the real gRPC server: loaded at start,
loading again changes nothing, and any signed-in caller reads it."""

import grpc
import psycopg
import pytest

from services.plumbing import db
from services.routing import demo
from services.routing.regions import REGIONS_CSV, RegionListError, read_regions
from sp4n.routing.v1 import routing_pb2 as pb
from tests.support import ROOT, caller, field_violation, service_caller

OFFICER = caller("liaison_officer", "lo-1", "kab-tanah-bumbu-dinas-pupr")
READERS = [OFFICER, caller("national_admin", "admin-1"), caller("reporter", "r-1"), service_caller("portal"),
           service_caller("intake"), service_caller("sla")]


def region_rows(database_url):
    """Every row with its xmin: a row rewritten, even with the same values, gets a new xmin."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT code, name, kind, parent_code, timezone, xmin::text FROM routing.regions "
                            "ORDER BY code").fetchall()


def as_tuple(r: pb.Region):
    return r.code, r.name, r.kind, r.parent_code, r.timezone


def test_the_migration_creates_an_empty_table_that_keeps_regions_well_shaped(make_database):
    url = make_database()
    db.migrate(url, schema="routing", folder=ROOT / "services" / "routing" / "migrations")
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM routing.regions").fetchone()[0] == 0
        conn.execute("INSERT INTO routing.regions VALUES ('63', 'Provinsi Kalimantan Selatan', 'province', NULL, "
                     "'Asia/Makassar'), ('6310', 'Kabupaten Tanah Bumbu', 'regency', '63', 'Asia/Makassar')")
        for values in ["('64', 'Provinsi X', 'province', '63', 'Asia/Makassar')",     # a province has no parent
                       "('6311', 'Kabupaten X', 'regency', NULL, 'Asia/Makassar')",  # a regency has one
                       "('6411', 'Kabupaten X', 'regency', '63', 'Asia/Makassar')",  # ...the province it is in
                       "('6501', 'Kabupaten X', 'regency', '65', 'Asia/Makassar')",  # ...which is listed
                       "('631', 'Kabupaten X', 'regency', '63', 'Asia/Makassar')",
                       "('6312', 'Kabupaten X', 'village', '63', 'Asia/Makassar')",
                       "('6312', 'Kabupaten X', 'regency', '63', 'UTC')"]:
            with pytest.raises(psycopg.errors.IntegrityError):
                conn.execute(f"INSERT INTO routing.regions VALUES {values}")


def test_start_up_loads_the_whole_list(routing, database_url):
    rows = region_rows(database_url)
    assert len(rows) == 38 + 514
    assert [r[:5] for r in rows] == [(r.code, r.name, r.kind, r.parent_code or None, r.timezone)
                                     for r in read_regions()]


def test_loading_the_list_again_changes_nothing(routing, database_url):
    before = region_rows(database_url)
    assert routing.load_regions() == (0, 0)
    assert region_rows(database_url) == before  # not a single row rewritten


def test_loading_a_changed_list_adds_rewrites_and_removes_only_what_changed(routing, database_url, tmp_path):
    lines = REGIONS_CSV.read_text().splitlines(keepends=True)
    edited = [line.replace("Kabupaten Tanah Bumbu", "Kabupaten Tanah Bumbu (baru)") for line in lines
              if not line.startswith("6311,")]  # Balangan dropped
    edited.insert(next(i for i, line in enumerate(edited) if line.startswith("6371,")),
                  "6312,Kabupaten Contoh,regency,Asia/Makassar\n")
    path = tmp_path / "regions.csv"
    path.write_text("".join(edited))
    before = {r[0]: r for r in region_rows(database_url)}

    assert routing.load_regions(path) == (2, 1)
    after = {r[0]: r for r in region_rows(database_url)}
    assert set(before) - set(after) == {"6311"} and set(after) - set(before) == {"6312"}
    assert after["6310"][1] == "Kabupaten Tanah Bumbu (baru)"
    assert [code for code in before.keys() & after.keys() if before[code] != after[code]] == ["6310"]
    assert routing.load_regions(path) == (0, 0)


def test_a_bad_list_writes_nothing(routing, database_url, tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text(REGIONS_CSV.read_text().replace("6310,Kabupaten Tanah Bumbu,regency,Asia/Makassar",
                                                    "6310,Kabupaten Tanah Bumbu,regency,Asia/Jakarta"))
    before = region_rows(database_url)
    with pytest.raises(RegionListError, match="6310 Kabupaten Tanah Bumbu: timezone Asia/Jakarta differs"):
        routing.load_regions(path)
    assert region_rows(database_url) == before


def test_every_region_is_listed_in_code_order(stub):
    regions = stub.ListRegions(pb.ListRegionsRequest(), metadata=OFFICER).regions
    assert [as_tuple(r) for r in regions] == [(r.code, r.name, r.kind, r.parent_code, r.timezone)
                                              for r in read_regions()]
    assert regions[0].code == "11" and regions[1].code == "1101"


def test_the_regencies_and_cities_of_a_province(stub):
    kalsel = stub.ListRegions(pb.ListRegionsRequest(parent_code="63"), metadata=OFFICER).regions
    assert len(kalsel) == 13 and {r.parent_code for r in kalsel} == {"63"}
    assert {r.timezone for r in kalsel} == {"Asia/Makassar"}
    assert [r.kind for r in kalsel].count("regency") == 11 and [r.kind for r in kalsel].count("city") == 2
    assert ("6310", "Kabupaten Tanah Bumbu", "regency", "63", "Asia/Makassar") in map(as_tuple, kalsel)
    assert ("6371", "Kota Banjarmasin", "city", "63", "Asia/Makassar") in map(as_tuple, kalsel)

    jakarta = stub.ListRegions(pb.ListRegionsRequest(parent_code="31", kind="city"), metadata=OFFICER).regions
    assert [(r.code, r.name) for r in jakarta] == [
        ("3171", "Kota Administrasi Jakarta Selatan"), ("3172", "Kota Administrasi Jakarta Timur"),
        ("3173", "Kota Administrasi Jakarta Pusat"), ("3174", "Kota Administrasi Jakarta Barat"),
        ("3175", "Kota Administrasi Jakarta Utara")]
    assert stub.ListRegions(pb.ListRegionsRequest(parent_code="63", kind="province"), metadata=OFFICER).regions == []


@pytest.mark.parametrize("kind, count", [("province", 38), ("regency", 416), ("city", 98), (" City ", 98)])
def test_regions_of_one_kind(stub, kind, count):
    regions = stub.ListRegions(pb.ListRegionsRequest(kind=kind), metadata=OFFICER).regions
    assert len(regions) == count and {r.kind for r in regions} == {kind.strip().lower()}


def test_provinces_have_no_parent_and_carry_their_time_zone(stub):
    provinces = {r.code: r for r in stub.ListRegions(pb.ListRegionsRequest(kind="province"), metadata=OFFICER).regions}
    assert all(r.parent_code == "" for r in provinces.values())
    assert (provinces["62"].timezone, provinces["63"].timezone, provinces["97"].timezone) == (
        "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


@pytest.mark.parametrize("code, expected", [
    ("3171", ("3171", "Kota Administrasi Jakarta Selatan", "city", "31", "Asia/Jakarta")),
    (" 6310 ", ("6310", "Kabupaten Tanah Bumbu", "regency", "63", "Asia/Makassar")),
    ("63", ("63", "Provinsi Kalimantan Selatan", "province", "", "Asia/Makassar")),
    ("9471", ("9471", "Kota Jayapura", "city", "94", "Asia/Jayapura")),
])
def test_one_region(stub, code, expected):
    assert as_tuple(stub.GetRegion(pb.GetRegionRequest(code=code), metadata=OFFICER)) == expected


@pytest.mark.parametrize("call", [
    lambda stub: stub.GetRegion(pb.GetRegionRequest(code="99"), metadata=OFFICER),
    lambda stub: stub.GetRegion(pb.GetRegionRequest(code="6399"), metadata=OFFICER),
    lambda stub: stub.ListRegions(pb.ListRegionsRequest(parent_code="99"), metadata=OFFICER),
])
def test_a_region_not_in_the_list_is_not_found(stub, call):
    with pytest.raises(grpc.RpcError) as e:
        call(stub)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("request_, field", [
    (pb.GetRegionRequest(code=""), "code"),
    (pb.GetRegionRequest(code="6"), "code"),
    (pb.GetRegionRequest(code="631"), "code"),
    (pb.GetRegionRequest(code="6310012"), "code"),  # a district: finer than the list
    (pb.GetRegionRequest(code="63a0"), "code"),
    (pb.GetRegionRequest(code="6" * 11), "code"),
    (pb.ListRegionsRequest(parent_code="6310"), "parent_code"),  # only provinces have regions under them
    (pb.ListRegionsRequest(parent_code="6a"), "parent_code"),
    (pb.ListRegionsRequest(parent_code="6" * 11), "parent_code"),
    (pb.ListRegionsRequest(kind="village"), "kind"),
    (pb.ListRegionsRequest(kind="x" * 21), "kind"),
])
def test_bad_requests_name_the_field(stub, request_, field):
    call = stub.GetRegion if isinstance(request_, pb.GetRegionRequest) else stub.ListRegions
    with pytest.raises(grpc.RpcError) as e:
        call(request_, metadata=OFFICER)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field


@pytest.mark.parametrize("metadata", READERS)
def test_any_signed_in_caller_reads_the_list(stub, metadata):
    assert stub.GetRegion(pb.GetRegionRequest(code="6371"), metadata=metadata).name == "Kota Banjarmasin"
    assert len(stub.ListRegions(pb.ListRegionsRequest(parent_code="31"), metadata=metadata).regions) == 6


@pytest.mark.parametrize("metadata", [(), [("x-sp4n-caller", "forged.token")]])
def test_callers_without_a_valid_identity_are_refused(stub, metadata):
    for call in [lambda: stub.GetRegion(pb.GetRegionRequest(code="63"), metadata=metadata),
                 lambda: stub.ListRegions(pb.ListRegionsRequest(), metadata=metadata)]:
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_every_regional_agency_of_the_demo_sits_in_a_listed_region_and_its_time_zone(stub):
    regions = {r.code: r for r in stub.ListRegions(pb.ListRegionsRequest(), metadata=OFFICER).regions}
    regional = [a for a in demo.AGENCIES if a.region_code]
    assert regional
    for agency in regional:
        region = regions[agency.region_code]
        assert agency.timezone == region.timezone, agency.id
        if agency.level in ("province", "regency", "city"):
            assert agency.level == region.kind, agency.id
