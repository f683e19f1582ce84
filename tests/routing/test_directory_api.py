"""The agency directory through the real gRPC server, over the demo directory: an agency with its
ancestors and contacts, the list filtered and paged, who may read it, and the import and export that
only national administrators may call."""

import grpc
import psycopg
import pytest

from services.routing import demo
from sp4n.routing.v1 import routing_pb2 as pb
from tests.routing.test_directory_import import snapshot
from tests.support import caller, field_violation, service_caller

OFFICER = caller("liaison_officer", "lo-1", "kab-tanah-bumbu-dinas-pupr")
ADMIN = caller("national_admin", "admin-1")
READERS = [OFFICER, ADMIN, caller("agency_admin", "aa-1", "kota-banjarmasin"),
           caller("process_analyst", "analyst-1"), caller("liaison_officer", "lo-x"),
           *(service_caller(s) for s in ("portal", "sla", "intake", "verification", "notify"))]
NOT_ADMINS = [OFFICER, caller("agency_admin", "aa-1", "kab-tanah-bumbu"), caller("process_analyst", "analyst-1"),
              caller("reporter", "LAP-AAAA0001"), service_caller("portal"), service_caller("sla"),
              caller("liaison_officer", "lo-2", "nasional")]
ALL = 1 + len(demo.AGENCIES)
Filter = pb.ListAgenciesRequest


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        call()
    return e.value


def ids(stub, metadata=OFFICER, **fields) -> list[str]:
    return [a.id for a in stub.ListAgencies(pb.ListAgenciesRequest(page_size=1000, **fields),
                                            metadata=metadata).agencies]


def test_an_agency_comes_with_its_ancestors_from_the_top_and_its_liaison_officers(stub):
    got = stub.GetAgency(pb.GetAgencyRequest(agency_id="kab-tanah-bumbu-dinas-pupr"), metadata=OFFICER)
    assert (got.id, got.code, got.level, got.region_code, got.timezone, got.active, got.parent_id) == (
        "kab-tanah-bumbu-dinas-pupr", "DPUPR-TANBU", "unit", "6310", "Asia/Makassar", True, "kab-tanah-bumbu")
    assert [(a.id, a.level) for a in got.ancestors] == [
        ("nasional", "national"), ("prov-kalimantan-selatan", "province"), ("kab-tanah-bumbu", "regency")]
    assert all(not a.ancestors and not a.liaison_officers for a in got.ancestors)
    assert [(o.name, o.position, o.email, o.phone) for o in got.liaison_officers] == [
        ("Agus Setiawan", "Kepala Seksi Pemeliharaan Jalan", "agus.setiawan@tanahbumbu.example", ""),
        ("Siti Rahmawati", "Sekretaris Dinas", "siti.rahmawati@tanahbumbu.example", "+62 518 0000 0303")]


def test_the_national_desk_has_no_ancestors(stub):
    got = stub.GetAgency(pb.GetAgencyRequest(agency_id=" nasional "), metadata=OFFICER)
    assert (got.level, got.parent_id, list(got.ancestors), got.active) == ("national", "", [], True)
    assert [o.name for o in got.liaison_officers] == ["Tim Pengelola SP4N-LAPOR! Nasional"]


def test_list_entries_carry_neither_ancestors_nor_contacts(stub):
    for agency in stub.ListAgencies(pb.ListAgenciesRequest(), metadata=OFFICER).agencies:
        assert not agency.ancestors and not agency.liaison_officers and agency.active


@pytest.mark.parametrize("fields, expected", [
    (dict(level="ministry"), ["kementerian-dalam-negeri", "kementerian-kesehatan", "kementerian-pendidikan",
                              "kementerian-perhubungan", "kementerian-pupr"]),
    (dict(level=" Agency "), ["badan-pom"]),
    (dict(region_code="6310"), ["kab-tanah-bumbu", "kab-tanah-bumbu-dinas-kesehatan",
                                "kab-tanah-bumbu-dinas-pendidikan", "kab-tanah-bumbu-dinas-perhubungan",
                                "kab-tanah-bumbu-dinas-pupr", "kab-tanah-bumbu-diskominfo"]),
    (dict(region_code="63", level="city"), ["kota-banjarmasin"]),
    (dict(region_code="63", parent_id="kementerian-pupr"), ["kementerian-pupr-bpjn-kalimantan-selatan"]),
    (dict(query="dinas kesehatan"), ["kab-tanah-bumbu-dinas-kesehatan", "prov-kalimantan-selatan-dinas-kesehatan"]),
    (dict(query="  DINAS   Kesehatan "), ["kab-tanah-bumbu-dinas-kesehatan",
                                           "prov-kalimantan-selatan-dinas-kesehatan"]),
    (dict(query="KEMENHUB"), ["kementerian-perhubungan"]),                   # by code
    (dict(query="kota-jakarta"), ["kota-jakarta-selatan"]),                  # by id
    (dict(query="100%"), []),                                                # % and _ are plain characters
    (dict(query="kab_tanah"), []),
    (dict(parent_id="prov-kalimantan-selatan", level="unit"), [
        "prov-kalimantan-selatan-dinas-kesehatan", "prov-kalimantan-selatan-dinas-pendidikan",
        "prov-kalimantan-selatan-dinas-pupr", "prov-kalimantan-selatan-diskominfo"]),
    (dict(active=Filter.ACTIVE_FILTER_INACTIVE), []),
])
def test_the_list_filters(stub, fields, expected):
    assert sorted(ids(stub, **fields)) == expected


def test_the_list_starts_at_the_top_and_sorts_each_level_by_name(stub):
    agencies = stub.ListAgencies(pb.ListAgenciesRequest(), metadata=OFFICER).agencies
    assert len(agencies) == ALL and agencies[0].id == "nasional"
    levels = [a.level for a in agencies]
    order = ["national", "ministry", "agency", "province", "regency", "city", "unit"]
    assert levels == sorted(levels, key=order.index)
    ministries = [a.name for a in agencies if a.level == "ministry"]
    assert ministries == sorted(ministries)


def test_paging_walks_the_whole_list_once(stub):
    whole = ids(stub)
    seen, token, pages = [], "", 0
    while True:
        page = stub.ListAgencies(pb.ListAgenciesRequest(page_size=5, page_token=token), metadata=OFFICER)
        assert page.total_size == ALL and len(page.agencies) <= 5
        seen += [a.id for a in page.agencies]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == whole and pages == 5  # 22 agencies: 5, 5, 5, 5, 2


def test_paging_keeps_the_filters(stub):
    first = stub.ListAgencies(pb.ListAgenciesRequest(region_code="6310", page_size=4), metadata=OFFICER)
    second = stub.ListAgencies(pb.ListAgenciesRequest(region_code="6310", page_size=4,
                                                      page_token=first.next_page_token), metadata=OFFICER)
    assert (first.total_size, len(first.agencies), len(second.agencies), second.next_page_token) == (6, 4, 2, "")


def test_a_page_size_beyond_the_limit_is_brought_down_to_it(stub):
    assert len(stub.ListAgencies(pb.ListAgenciesRequest(page_size=100000), metadata=OFFICER).agencies) == ALL


@pytest.mark.parametrize("request_, code, field", [
    (pb.ListAgenciesRequest(level="kabupaten"), grpc.StatusCode.INVALID_ARGUMENT, "level"),
    (pb.ListAgenciesRequest(region_code="6a"), grpc.StatusCode.INVALID_ARGUMENT, "region_code"),
    (pb.ListAgenciesRequest(region_code="6310012"), grpc.StatusCode.INVALID_ARGUMENT, "region_code"),
    (pb.ListAgenciesRequest(query="x" * 101), grpc.StatusCode.INVALID_ARGUMENT, "query"),
    (pb.ListAgenciesRequest(query="a\x00b"), grpc.StatusCode.INVALID_ARGUMENT, "query"),
    (pb.ListAgenciesRequest(parent_id="Bad Id"), grpc.StatusCode.INVALID_ARGUMENT, "parent_id"),
    (pb.ListAgenciesRequest(page_size=-1), grpc.StatusCode.INVALID_ARGUMENT, "page_size"),
    (pb.ListAgenciesRequest(page_token="not-a-token"), grpc.StatusCode.INVALID_ARGUMENT, "page_token"),
    (pb.ListAgenciesRequest(page_token="WzEsMl0"), grpc.StatusCode.INVALID_ARGUMENT, "page_token"),  # [1,2]
    (pb.ListAgenciesRequest(active=7), grpc.StatusCode.INVALID_ARGUMENT, "active"),
    (pb.ListAgenciesRequest(region_code="6399"), grpc.StatusCode.NOT_FOUND, None),
    (pb.ListAgenciesRequest(parent_id="kab-atlantis"), grpc.StatusCode.NOT_FOUND, None),
])
def test_bad_list_requests_say_what_is_wrong(stub, request_, code, field):
    e = refused(lambda: stub.ListAgencies(request_, metadata=OFFICER))
    assert e.code() == code
    if field:
        assert field_violation(e) == field


@pytest.mark.parametrize("metadata", READERS)
def test_any_staff_member_and_any_service_reads_the_directory(stub, metadata):
    assert len(stub.ListAgencies(pb.ListAgenciesRequest(), metadata=metadata).agencies) == ALL
    assert stub.GetAgency(pb.GetAgencyRequest(agency_id="kota-banjarmasin"), metadata=metadata).code == "KOTA-BJM"


def test_a_reporter_does_not_read_the_directory(stub):
    reporter = caller("reporter", "LAP-AAAA0001")
    for call in [lambda: stub.ListAgencies(pb.ListAgenciesRequest(), metadata=reporter),
                 lambda: stub.GetAgency(pb.GetAgencyRequest(agency_id="nasional"), metadata=reporter)]:
        assert refused(call).code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("metadata", [(), [("x-sp4n-caller", "forged.token")]])
def test_callers_without_a_valid_identity_are_refused(stub, metadata):
    for call in [lambda: stub.ListAgencies(pb.ListAgenciesRequest(), metadata=metadata),
                 lambda: stub.GetAgency(pb.GetAgencyRequest(agency_id="nasional"), metadata=metadata),
                 lambda: stub.ImportAgencies(pb.ImportAgenciesRequest(idempotency_key="k"), metadata=metadata),
                 lambda: stub.ExportAgencies(pb.ExportAgenciesRequest(), metadata=metadata)]:
        assert refused(call).code() == grpc.StatusCode.UNAUTHENTICATED


# Import and export: national administrators only


def demo_files(**replacements) -> tuple[bytes, bytes]:
    agencies = demo.AGENCIES_CSV.read_text()
    for old, new in replacements.items():
        agencies = agencies.replace(old, new)
    return agencies.encode(), demo.LIAISON_OFFICERS_CSV.read_bytes()


def import_(stub, key="import-1", metadata=ADMIN, dry_run=False, **replacements) -> pb.ImportAgenciesResponse:
    agencies, officers = demo_files(**replacements)
    return stub.ImportAgencies(pb.ImportAgenciesRequest(idempotency_key=key, agencies_csv=agencies,
                                                        liaison_officers_csv=officers, dry_run=dry_run),
                               metadata=metadata)


RENAMED = {"Badan Pengawas Obat dan Makanan": "Badan POM"}


def test_a_national_administrator_imports_the_directory(stub, database_url):
    dry = import_(stub, dry_run=True, **RENAMED)
    assert (dry.dry_run, list(dry.changed_agency_ids), dry.import_id, dry.unchanged_agencies) == (
        True, ["badan-pom"], "", ALL - 2)
    got = import_(stub, **RENAMED)
    assert (got.dry_run, list(got.changed_agency_ids), list(got.added_agency_ids), got.liaison_officers_imported) == (
        False, ["badan-pom"], [], True)
    assert got.import_id
    assert stub.GetAgency(pb.GetAgencyRequest(agency_id="badan-pom"), metadata=OFFICER).name == "Badan POM"
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT idempotency_key, imported_by FROM routing.directory_imports "
                            "WHERE id = %s", (int(got.import_id),)).fetchone() == ("import-1", "admin-1")


def test_a_repeated_key_returns_the_first_answer_and_changes_nothing(stub, database_url):
    first = import_(stub, **RENAMED)
    before = snapshot(database_url)
    again = import_(stub, **{"Badan Pengawas Obat dan Makanan": "Badan Pengawas"})
    assert again == first and snapshot(database_url) == before


def test_a_bad_file_is_refused_naming_every_bad_line_and_nothing_changes(stub, database_url):
    before = snapshot(database_url)
    e = refused(lambda: import_(stub, **{",kab-tanah-bumbu,unit,,,true": ",kab-atlantis,unit,,,true",
                                         "Negeri,nasional,ministry,": "Negeri,nasional,kementerian,"}))
    assert (e.code(), field_violation(e)) == (grpc.StatusCode.INVALID_ARGUMENT, "agencies_csv")
    assert "nothing was changed" in e.details()
    lines = [line for line in e.details().splitlines() if line.startswith("agencies line ")]
    assert [line.split(":")[0] for line in lines] == ["agencies line 7"] + [f"agencies line {n}"
                                                                             for n in range(15, 20)]
    assert snapshot(database_url) == before
    assert import_(stub).added_agency_ids == []  # the key was not used up by the refused file


TOO_BIG = b"x" * (8 * 1024 * 1024 + 1)


@pytest.mark.parametrize("request_, field", [
    (pb.ImportAgenciesRequest(agencies_csv=demo.AGENCIES_CSV.read_bytes()), "idempotency_key"),
    (pb.ImportAgenciesRequest(idempotency_key="k", agencies_csv=TOO_BIG), "agencies_csv"),
    (pb.ImportAgenciesRequest(idempotency_key="k", agencies_csv=demo.AGENCIES_CSV.read_bytes(),
                              liaison_officers_csv=TOO_BIG), "liaison_officers_csv"),
    (pb.ImportAgenciesRequest(idempotency_key="k"), "agencies_csv"),  # no file at all
], ids=["no key", "agencies too big", "officers too big", "no agencies"])
def test_bad_import_requests_name_the_field(stub, database_url, request_, field):
    before = snapshot(database_url)
    e = refused(lambda: stub.ImportAgencies(request_, metadata=ADMIN))
    assert (e.code(), field_violation(e)) == (grpc.StatusCode.INVALID_ARGUMENT, field)
    assert snapshot(database_url) == before


@pytest.mark.parametrize("metadata", NOT_ADMINS)
def test_only_national_administrators_import_or_export(stub, database_url, metadata):
    before = snapshot(database_url)
    assert refused(lambda: import_(stub, metadata=metadata, **RENAMED)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert refused(lambda: import_(stub, metadata=metadata, dry_run=True)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert refused(lambda: stub.ExportAgencies(pb.ExportAgenciesRequest(), metadata=metadata)).code() == \
        grpc.StatusCode.PERMISSION_DENIED
    assert snapshot(database_url) == before


def test_the_export_imports_again_without_a_change(stub):
    exported = stub.ExportAgencies(pb.ExportAgenciesRequest(), metadata=ADMIN)
    agencies = exported.agencies_csv.decode().splitlines()
    assert len(agencies) == ALL  # the header and every agency but the built-in national desk
    assert len(exported.liaison_officers_csv.decode().splitlines()) == len(
        demo.LIAISON_OFFICERS_CSV.read_text().splitlines())
    got = stub.ImportAgencies(pb.ImportAgenciesRequest(idempotency_key="again", agencies_csv=exported.agencies_csv,
                                                       liaison_officers_csv=exported.liaison_officers_csv),
                              metadata=ADMIN)
    assert (list(got.added_agency_ids), list(got.changed_agency_ids), got.unchanged_agencies) == ([], [], ALL - 1)
    assert (got.liaison_officers_added, got.liaison_officers_changed, got.liaison_officers_removed) == (0, 0, 0)


def test_an_inactive_agency_is_listed_as_such(stub):
    import_(stub, **{"Pemerintah Kota Banjarmasin,prov-kalimantan-selatan,city,6371,,true":
                     "Pemerintah Kota Banjarmasin,prov-kalimantan-selatan,city,6371,,false"})
    assert ids(stub, active=Filter.ACTIVE_FILTER_INACTIVE) == ["kota-banjarmasin"]
    assert "kota-banjarmasin" not in ids(stub, active=Filter.ACTIVE_FILTER_ACTIVE)
    assert len(ids(stub)) == ALL
    assert stub.GetAgency(pb.GetAgencyRequest(agency_id="kota-banjarmasin"), metadata=OFFICER).active is False
