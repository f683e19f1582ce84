"""Importing the agency directory from CSV into PostgreSQL: a good file, a bad file that changes nothing,
a dry run, the same file again, agencies deactivated instead of deleted, liaison officers, the
command line, and the demo directory going through the same import."""

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from services.plumbing import identity
from services.routing import demo, directory
from services.routing.directory_rules import DirectoryRejected
from services.routing.domain import RoutingRequest
from services.routing.regions import REGIONS_CSV, RegionListError
from services.routing.service import RoutingService
from tests.routing.test_directory_rules import GOOD, HEADER, LIAISON_HEADER

SLA = identity.Caller("sla", identity.SERVICE)
T0 = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)
OFFICERS = LIAISON_HEADER + """\
kab-tanah-bumbu-dinas-pupr,Siti Rahmawati,Sekretaris Dinas,siti@tanahbumbu.example,+62 518 0000 0303
kab-tanah-bumbu-dinas-pupr,Agus Setiawan,Kepala Seksi,agus@tanahbumbu.example,
nasional,Admin Nasional,,admin@lapor.example,
"""


@pytest.fixture
def routing(pool, clock):
    """A routing service with the reference list of regions and the national desk, and no directory."""
    service = RoutingService(pool=pool, clock=clock)
    service.ensure_national_desk()
    service.load_regions()
    clock.set(T0)
    return service


def apply(routing, agencies=GOOD, officers=None, **kwargs):
    return routing.directory.apply(agencies_csv=agencies, liaison_officers_csv=officers, imported_by="tester",
                                   **kwargs)


def snapshot(database_url):
    """Every directory row with its xmin: a row rewritten, even with the same values, gets a new xmin."""
    with psycopg.connect(database_url) as conn:
        return [conn.execute(f"SELECT *, xmin::text FROM routing.{table} ORDER BY 1").fetchall()
                for table in ("agencies", "liaison_officers", "directory_imports")]


def agencies_in(database_url) -> dict[str, tuple]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, parent_id, level, region_code, timezone, active FROM routing.agencies")
        return {r[0]: r[1:] for r in rows}


def officers_in(database_url) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT agency_id, name, position, email, phone FROM routing.liaison_officers "
                            "ORDER BY agency_id, name").fetchall()


def imports_in(database_url) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT idempotency_key, imported_by, imported_at, agencies_sha256, "
                            "liaison_officers_sha256, summary FROM routing.directory_imports ORDER BY id").fetchall()


def test_a_good_file_is_imported_whole(routing, database_url):
    summary = apply(routing, officers=OFFICERS)
    assert set(summary.added) == {"kab-tanah-bumbu-dinas-pupr", "kab-tanah-bumbu", "prov-kalimantan-selatan",
                                  "kementerian-pupr", "kementerian-pupr-bpjn-kalimantan-selatan", "badan-pom",
                                  "kementerian-kesehatan"}
    assert (summary.changed, summary.unchanged, summary.deactivated, summary.deleted) == ((), 0, (), ())
    assert (summary.liaison_officers_added, summary.liaison_officers_removed, summary.import_id) == (3, 0, "1")
    assert agencies_in(database_url) == {
        "nasional": (None, "national", None, "Asia/Jakarta", True),
        "kementerian-pupr": ("nasional", "ministry", None, "Asia/Jakarta", True),
        "kementerian-pupr-bpjn-kalimantan-selatan": ("kementerian-pupr", "unit", "63", "Asia/Makassar", True),
        "kementerian-kesehatan": ("nasional", "ministry", None, "Asia/Jakarta", True),
        "badan-pom": ("kementerian-kesehatan", "agency", None, "Asia/Jakarta", True),
        "prov-kalimantan-selatan": ("nasional", "province", "63", "Asia/Makassar", True),
        "kab-tanah-bumbu": ("prov-kalimantan-selatan", "regency", "6310", "Asia/Makassar", True),
        "kab-tanah-bumbu-dinas-pupr": ("kab-tanah-bumbu", "unit", "6310", "Asia/Makassar", True)}
    assert officers_in(database_url) == [
        ("kab-tanah-bumbu-dinas-pupr", "Agus Setiawan", "Kepala Seksi", "agus@tanahbumbu.example", ""),
        ("kab-tanah-bumbu-dinas-pupr", "Siti Rahmawati", "Sekretaris Dinas", "siti@tanahbumbu.example",
         "+62 518 0000 0303"),
        ("nasional", "Admin Nasional", "", "admin@lapor.example", "")]
    ((key, by, at, agencies_sha, officers_sha, logged),) = imports_in(database_url)
    assert (key, by, len(agencies_sha), len(officers_sha)) == (None, "tester", 64, 64)
    assert abs(at - T0) < timedelta(seconds=5)  # the service's clock
    assert logged["added"] == list(summary.added) and logged["liaison_officers_added"] == 3


@pytest.mark.parametrize("agencies, officers", [
    (GOOD + "kab-x,KX,Kabupaten X,kab-atlantis,unit,,,\n", None),                    # unknown parent
    (GOOD + "unit-a,UA,Unit A,unit-b,unit,,,\nunit-b,UB,Unit B,unit-a,unit,,,\n", None),  # cycle
    (GOOD + "kab-x,KX,Kabupaten X,prov-kalimantan-selatan,kabupaten,6311,,\n", None),  # bad level
    (GOOD + "kab-x,KX,Kabupaten X,prov-kalimantan-selatan,regency,6399,,\n", None),  # region not on the list
    (GOOD + "kab-tanah-bumbu,KX,Kabupaten X,,ministry,,,\n", None),                   # duplicate id
    (GOOD, LIAISON_HEADER + "kab-atlantis,Siti,,siti@x.example,\n"),                   # contact of no agency
    (b"\xff" + GOOD.encode(), None),                                                    # not UTF-8
])
def test_a_bad_file_changes_nothing(routing, database_url, agencies, officers):
    apply(routing, officers=OFFICERS)
    before = snapshot(database_url)
    with pytest.raises(DirectoryRejected) as e:
        apply(routing, agencies.replace("Kementerian PUPR", "Kementerian PUPR (baru)") if isinstance(agencies, str)
              else agencies, officers)
    assert e.value.problems and "nothing was changed" in str(e.value)
    assert snapshot(database_url) == before


def test_a_bad_file_names_every_bad_line(routing):
    with pytest.raises(DirectoryRejected) as e:
        apply(routing, GOOD + "kab-x,KX,Kabupaten X,kab-atlantis,unit,,,\n"
                              "kab-y,KY,Kabupaten Y,prov-kalimantan-selatan,regency,6399,,\n"
                              "kab-z,KZ,Kabupaten Z,prov-kalimantan-selatan,kabupaten,6311,,\n")
    assert [(p.line, p.message.split(":")[0].split(" ")[0]) for p in e.value.problems] == [
        (9, "unknown"), (10, "region"), (11, "level")]


def test_a_dry_run_tells_what_would_change_and_changes_nothing(routing, database_url):
    apply(routing, officers=OFFICERS)
    edited = GOOD.replace("Kementerian PUPR,", "Kementerian Pekerjaan Umum,").replace(
        "badan-pom,BPOM,Badan Pengawas Obat dan Makanan,kementerian-kesehatan,agency,,,\n", "") + \
        "kementerian-perhubungan,KEMENHUB,Kementerian Perhubungan,,ministry,,,\n"
    before = snapshot(database_url)
    dry = apply(routing, edited, dry_run=True)
    assert snapshot(database_url) == before
    assert (dry.dry_run, dry.added, dry.changed, dry.deleted, dry.import_id) == (
        True, ("kementerian-perhubungan",), ("kementerian-pupr",), ("badan-pom",), "")
    real = apply(routing, edited)
    assert (real.dry_run, real.added, real.changed, real.deleted, real.unchanged) == (
        False, dry.added, dry.changed, dry.deleted, dry.unchanged)


def test_importing_the_same_files_again_changes_nothing(routing, database_url):
    apply(routing, officers=OFFICERS)
    before = snapshot(database_url)
    again = apply(routing, officers=OFFICERS)
    assert (again.added, again.changed, again.unchanged, again.deactivated, again.deleted) == ((), (), 7, (), ())
    assert (again.liaison_officers_added, again.liaison_officers_changed, again.liaison_officers_removed) == (0, 0, 0)
    assert (again.changed_anything, again.import_id) == (False, "")
    assert snapshot(database_url) == before  # not a row rewritten, and no import logged


def test_only_what_changed_is_rewritten(routing, database_url):
    apply(routing)
    before = {r[0]: r for r in snapshot(database_url)[0]}
    summary = apply(routing, GOOD.replace("Dinas PUPR Kabupaten Tanah Bumbu", "Dinas PUPR Tanah Bumbu"))
    after = {r[0]: r for r in snapshot(database_url)[0]}
    assert summary.changed == ("kab-tanah-bumbu-dinas-pupr",) and summary.unchanged == 6
    assert [i for i in after if after[i] != before[i]] == ["kab-tanah-bumbu-dinas-pupr"]


def test_an_agency_moves_to_another_parent_and_its_units_follow_its_region(routing, database_url):
    apply(routing)
    moved = GOOD.replace("kab-tanah-bumbu,KAB-TANBU,Pemerintah Kabupaten Tanah Bumbu,prov-kalimantan-selatan,"
                         "regency,6310,,", "kab-tanah-bumbu,KAB-TANBU,Pemerintah Kabupaten Balangan,"
                                           "prov-kalimantan-selatan,regency,6311,,")
    summary = apply(routing, moved)
    assert set(summary.changed) == {"kab-tanah-bumbu", "kab-tanah-bumbu-dinas-pupr"}
    assert agencies_in(database_url)["kab-tanah-bumbu-dinas-pupr"][2] == "6311"


def assign(routing, tracking_id, **request):
    return routing.assign(caller=SLA, key=f"assign-{tracking_id}", request=RoutingRequest(tracking_id, **request))


def test_an_agency_no_longer_listed_is_deleted_unless_something_refers_to_it_then_it_is_deactivated(
        routing, database_url, pool):
    apply(routing, GOOD + "kab-tanah-bumbu-dinas-kesehatan,DINKES-TANBU,Dinas Kesehatan,kab-tanah-bumbu,unit,,,\n"
                          "kab-tanah-bumbu-dinas-kesehatan-puskesmas,PKM-1,Puskesmas Batulicin,"
                          "kab-tanah-bumbu-dinas-kesehatan,unit,,,\n", officers=OFFICERS)
    assert assign(routing, "LAP-AAAA0001", preferred_agency_id="kab-tanah-bumbu-dinas-pupr").agency.id == \
        "kab-tanah-bumbu-dinas-pupr"
    assert assign(routing, "LAP-AAAA0002",
                  preferred_agency_id="kab-tanah-bumbu-dinas-kesehatan-puskesmas").matched_by.value == "preferred"
    with pool.connection() as conn:
        conn.execute("INSERT INTO routing.rules (category, region_prefix, agency_id) "
                     "VALUES ('kesehatan', '', 'kementerian-kesehatan')")

    # Only the ministry of PUPR and the province stay listed.
    kept = HEADER + GOOD.splitlines()[3] + "\n" + GOOD.splitlines()[4] + "\n"
    summary = apply(routing, kept)
    assert summary.deactivated == ("kab-tanah-bumbu", "kab-tanah-bumbu-dinas-kesehatan",
                                   "kab-tanah-bumbu-dinas-kesehatan-puskesmas", "kab-tanah-bumbu-dinas-pupr",
                                   "kementerian-kesehatan")  # assigned, named by a rule, or a parent of those
    assert summary.deleted == ("badan-pom", "kementerian-pupr-bpjn-kalimantan-selatan")
    assert summary.liaison_officers_removed == 0  # the contacts of deactivated agencies stay
    rows = agencies_in(database_url)
    assert {i for i, r in rows.items() if not r[-1]} == set(summary.deactivated)
    assert "badan-pom" not in rows and rows["kab-tanah-bumbu"][0] == "prov-kalimantan-selatan"
    assert len(officers_in(database_url)) == 3

    # Deactivated agencies stay inactive at the next import, and come back when they are listed again.
    assert apply(routing, kept).changed_anything is False
    back = apply(routing, officers=OFFICERS)
    assert set(back.changed) == set(summary.deactivated) - {"kab-tanah-bumbu-dinas-kesehatan",
                                                            "kab-tanah-bumbu-dinas-kesehatan-puskesmas"}
    assert set(back.added) == {"badan-pom", "kementerian-pupr-bpjn-kalimantan-selatan"}
    assert agencies_in(database_url)["kab-tanah-bumbu-dinas-pupr"][-1] is True


def test_contacts_stay_without_a_liaison_file_and_follow_it_with_one(routing, database_url):
    apply(routing, officers=OFFICERS)
    assert apply(routing).liaison_officers_imported is False
    assert len(officers_in(database_url)) == 3
    siti = "kab-tanah-bumbu-dinas-pupr,Siti Rahmawati,Sekretaris Dinas,siti@tanahbumbu.example,+62 518 0000 0303\n"
    edited = (OFFICERS.replace("Kepala Seksi,", "Kepala Seksi Jalan,")
              .replace("nasional,Admin Nasional", "nasional,ADMIN NASIONAL")  # the same officer: a change
              .replace(siti, "kab-tanah-bumbu,Hendra Saputra,,,0518 0000 0301\n"))
    summary = apply(routing, officers=edited)
    assert (summary.liaison_officers_added, summary.liaison_officers_changed, summary.liaison_officers_removed) == (
        1, 2, 1)
    assert officers_in(database_url) == [
        ("kab-tanah-bumbu", "Hendra Saputra", "", "", "0518 0000 0301"),
        ("kab-tanah-bumbu-dinas-pupr", "Agus Setiawan", "Kepala Seksi Jalan", "agus@tanahbumbu.example", ""),
        ("nasional", "ADMIN NASIONAL", "", "admin@lapor.example", "")]
    assert apply(routing, officers=LIAISON_HEADER).liaison_officers_removed == 3
    assert officers_in(database_url) == []


def test_the_contacts_of_a_deleted_agency_go_with_it(routing, database_url):
    apply(routing, officers=OFFICERS)
    summary = apply(routing, GOOD.replace(
        "kab-tanah-bumbu-dinas-pupr,DPUPR-TANBU,Dinas PUPR Kabupaten Tanah Bumbu,kab-tanah-bumbu,unit,,,\n", ""))
    assert (summary.deleted, summary.liaison_officers_removed) == (("kab-tanah-bumbu-dinas-pupr",), 2)
    assert officers_in(database_url) == [("nasional", "Admin Nasional", "", "admin@lapor.example", "")]


def test_the_national_desk_stays_whatever_the_file(routing, database_url):
    desk = agencies_in(database_url)["nasional"]
    apply(routing, HEADER + "kemen-x,KX,Kementerian X,,ministry,,,\n")
    apply(routing, HEADER)  # an empty directory: everything but the desk goes
    assert agencies_in(database_url) == {"nasional": desk}


def test_the_database_refuses_an_agency_in_a_region_off_the_list_and_a_second_national_desk(routing, pool):
    with pool.connection() as conn:
        for values in ["('kab-x', 'KX', 'X', 'nasional', 'regency', '6399', 'Asia/Makassar')",
                       "('nas-2', 'N2', 'X', 'nasional', 'national', NULL, 'Asia/Jakarta')",
                       "('top-2', 'T2', 'X', NULL, 'ministry', NULL, 'Asia/Jakarta')"]:
            with pytest.raises(psycopg.errors.IntegrityError), conn.transaction():
                conn.execute("INSERT INTO routing.agencies (id, code, name, parent_id, level, region_code, timezone) "
                             f"VALUES {values}")
        with pytest.raises(psycopg.errors.RaiseException, match="last resort"), conn.transaction():
            conn.execute("UPDATE routing.agencies SET active = false WHERE id = 'nasional'")


def test_the_region_list_cannot_drop_a_region_an_agency_is_in(routing, database_url, tmp_path):
    apply(routing)
    path = tmp_path / "regions.csv"
    path.write_text("".join(line for line in REGIONS_CSV.read_text().splitlines(keepends=True)
                            if not line.startswith("6310,")))
    with pytest.raises(RegionListError, match=r"6310 \(kab-tanah-bumbu\)"):
        routing.load_regions(path)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM routing.regions WHERE code = '6310'").fetchone()[0] == 1


def test_the_export_imports_again_without_a_change(routing):
    apply(routing, officers=OFFICERS)
    agencies, officers = routing.directory.export_files()
    assert agencies.splitlines()[0] == "id,code,name,parent_id,level,region_code,timezone,active"
    assert agencies.splitlines()[1].startswith("kementerian-kesehatan,KEMENKES,Kementerian Kesehatan,nasional,"
                                               "ministry,,Asia/Jakarta,true")
    assert officers.splitlines()[1] == "nasional,Admin Nasional,,admin@lapor.example,"
    assert apply(routing, agencies, officers).changed_anything is False


# The command line


@pytest.fixture
def cli(routing, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*args):
        code = directory.main(list(map(str, args)))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_the_command_line_imports_a_file_and_says_what_changed(cli, tmp_path, database_url):
    agencies, officers = tmp_path / "agencies.csv", tmp_path / "officers.csv"
    agencies.write_text(GOOD)
    officers.write_text(OFFICERS)
    code, out, err = cli("import", agencies, "--liaison-officers", officers, "--dry-run")
    assert code == 0 and out.startswith("dry run, nothing changed") and "agencies added: 7" in out
    assert set(agencies_in(database_url)) == {"nasional"}

    code, out, err = cli("import", agencies, "--liaison-officers", officers)
    assert (code, err) == (0, "")
    assert out.startswith("imported (import 1)") and "liaison officers added: 3" in out
    assert len(agencies_in(database_url)) == 8
    assert imports_in(database_url)[0][1].startswith("cli:")

    code, out, err = cli("import", agencies)
    assert code == 0 and out.startswith("nothing to change") and "liaison officers: left as they were" in out


def test_the_command_line_refuses_a_bad_file_naming_every_bad_line(cli, tmp_path, database_url):
    agencies = tmp_path / "agencies.csv"
    agencies.write_text(GOOD + "kab-x,KX,Kabupaten X,kab-atlantis,unit,,,\nkab-y,KY,Kabupaten Y,,ministry,6310,,\n")
    code, out, err = cli("import", agencies)
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"{agencies}:9: unknown parent 'kab-atlantis': not in the file, and not the national "
                                "desk 'nasional'",
                                f"{agencies}:10: a ministry is national and has no region; list its regional offices "
                                "as units with a region",
                                "refused: 2 problem(s); nothing was changed"]
    assert set(agencies_in(database_url)) == {"nasional"}
    assert cli("import", tmp_path / "missing.csv")[0] == 1


def test_the_command_line_exports_what_it_imports(cli, tmp_path):
    agencies, officers = tmp_path / "agencies.csv", tmp_path / "officers.csv"
    agencies.write_text(GOOD)
    officers.write_text(OFFICERS)
    cli("import", agencies, "--liaison-officers", officers)
    code, out, err = cli("export", "--liaison-officers", tmp_path / "out-officers.csv")
    assert code == 0 and out.startswith("id,code,name,parent_id,level,region_code,timezone,active\n")
    (tmp_path / "out.csv").write_text(out)
    assert cli("export", tmp_path / "out2.csv")[1] == ""
    assert (tmp_path / "out2.csv").read_text() == out
    code, out, err = cli("import", tmp_path / "out.csv", "--liaison-officers", tmp_path / "out-officers.csv")
    assert code == 0 and out.startswith("nothing to change")


# The demo directory


def test_the_demo_directory_goes_through_the_import(routing, pool, clock, database_url):
    first = demo.load(pool, clock)
    assert len(first.added) == len(demo.AGENCIES) == 21 and first.import_id == "1"
    assert first.liaison_officers_added == len(demo.LIAISON_OFFICERS_CSV.read_text().splitlines()) - 1
    rows = agencies_in(database_url)
    for agency in demo.AGENCIES:
        assert rows[agency.id] == (agency.parent_id, agency.level, agency.region_code or None, agency.timezone, True)
    assert imports_in(database_url)[0][1] == "demo"

    before = snapshot(database_url)
    again = demo.load(pool, clock)
    assert again.changed_anything is False and snapshot(database_url) == before


@pytest.mark.parametrize("agency_id, region, tz", [
    ("kab-tanah-bumbu", "6310", "Asia/Makassar"),
    ("kab-tanah-bumbu-diskominfo", "6310", "Asia/Makassar"),
    ("kab-tanah-bumbu-dinas-pupr", "6310", "Asia/Makassar"),
    ("kab-tanah-bumbu-dinas-kesehatan", "6310", "Asia/Makassar"),
    ("kab-tanah-bumbu-dinas-pendidikan", "6310", "Asia/Makassar"),
    ("kab-tanah-bumbu-dinas-perhubungan", "6310", "Asia/Makassar"),
    ("prov-kalimantan-selatan", "63", "Asia/Makassar"),
    ("prov-kalimantan-selatan-dinas-pupr", "63", "Asia/Makassar"),
    ("kota-banjarmasin", "6371", "Asia/Makassar"),
    ("kota-jakarta-selatan", "3171", "Asia/Jakarta"),
    ("kementerian-pupr", "", "Asia/Jakarta"),
    ("kementerian-kesehatan", "", "Asia/Jakarta"),
    ("kementerian-pendidikan", "", "Asia/Jakarta"),
    ("kementerian-perhubungan", "", "Asia/Jakarta"),
    ("kementerian-dalam-negeri", "", "Asia/Jakarta"),
])
def test_the_demo_directory_holds_the_agencies_the_system_and_its_tests_name(agency_id, region, tz):
    agency = {a.id: a for a in demo.AGENCIES}[agency_id]
    assert (agency.region_code, agency.timezone, agency.active) == (region, tz, True)


def test_every_demo_rule_names_a_demo_agency():
    assert {agency_id for _, _, agency_id in demo.RULES} <= {a.id for a in demo.AGENCIES}
