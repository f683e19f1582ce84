"""The rules of the agency directory and the whole-file check of an import, as pure functions: where
each level may sit, regions and time zones settled, and every bad line named with why."""

import pytest

from services.routing.directory_csv import read_agencies, read_liaison_officers
from services.routing.directory_rules import (DirectoryRejected, check_directory, hierarchy_order,
                                              parse_active)
from services.routing.domain import Agency
from services.routing.regions import read_regions

REGIONS = {r.code: r for r in read_regions()}
HEADER = "id,code,name,parent_id,level,region_code,timezone,active\n"
# A small directory, children before their parents on purpose.
GOOD = HEADER + """\
kab-tanah-bumbu-dinas-pupr,DPUPR-TANBU,Dinas PUPR Kabupaten Tanah Bumbu,kab-tanah-bumbu,unit,,,
kab-tanah-bumbu,KAB-TANBU,Pemerintah Kabupaten Tanah Bumbu,prov-kalimantan-selatan,regency,6310,,
prov-kalimantan-selatan,PROV-KALSEL,Pemerintah Provinsi Kalimantan Selatan,,province,63,,true
kementerian-pupr,KEMENPUPR,Kementerian PUPR,nasional,ministry,,,
kementerian-pupr-bpjn-kalimantan-selatan,BPJN-KALSEL,BPJN Kalimantan Selatan,kementerian-pupr,unit,63,,
badan-pom,BPOM,Badan Pengawas Obat dan Makanan,kementerian-kesehatan,agency,,,
kementerian-kesehatan,KEMENKES,Kementerian Kesehatan,,ministry,,Asia/Jakarta,ya
"""


def check(agencies: str, liaison_officers: str | None = None):
    rows, problems = read_agencies(agencies)
    officers = None
    if liaison_officers is not None:
        officers, more = read_liaison_officers(liaison_officers)
        problems += more
    return check_directory(rows, REGIONS, officers, problems)


def problems_of(agencies: str, liaison_officers: str | None = None) -> list[str]:
    with pytest.raises(DirectoryRejected) as e:
        check(agencies, liaison_officers)
    assert e.value.field in ("agencies_csv", "liaison_officers_csv")
    return [str(p) for p in e.value.problems]


def with_line(line: str) -> str:
    return GOOD + line + "\n"  # the added line is line 9


def test_a_good_file_gives_its_agencies_parents_first_with_regions_and_time_zones_settled():
    directory = check(GOOD)
    by_id = {a.id: a for a in directory.agencies}
    order = [a.id for a in directory.agencies]
    for agency in directory.agencies:
        assert agency.parent_id == "nasional" or order.index(agency.parent_id) < order.index(agency.id)
    assert by_id["kab-tanah-bumbu-dinas-pupr"] == Agency(
        "kab-tanah-bumbu-dinas-pupr", "DPUPR-TANBU", "Dinas PUPR Kabupaten Tanah Bumbu", "kab-tanah-bumbu", "unit",
        "6310", "Asia/Makassar", True)  # the parent's region, and its time zone
    assert (by_id["prov-kalimantan-selatan"].parent_id, by_id["prov-kalimantan-selatan"].timezone) == (
        "nasional", "Asia/Makassar")
    assert (by_id["kementerian-pupr"].region_code, by_id["kementerian-pupr"].timezone) == ("", "Asia/Jakarta")
    bpjn = by_id["kementerian-pupr-bpjn-kalimantan-selatan"]
    assert (bpjn.region_code, bpjn.timezone) == ("63", "Asia/Makassar")  # a ministry's regional office
    assert by_id["badan-pom"].parent_id == "kementerian-kesehatan"
    assert directory.liaison_officers is None


def test_a_national_body_may_be_given_another_time_zone():
    directory = check(HEADER + "kantor-x,KX,Kantor X,,agency,,Asia/Jayapura,\n")
    assert directory.agencies[0].timezone == "Asia/Jayapura"


@pytest.mark.parametrize("value, active", [("", True), ("true", True), ("TRUE", True), ("ya", True), ("1", True),
                                           ("yes", True), ("false", False), ("Tidak", False), ("0", False),
                                           ("no", False), ("maybe", None)])
def test_active_is_read_in_english_and_indonesian(value, active):
    assert parse_active(value) is active


@pytest.mark.parametrize("line, message", [
    ("Kab-X,KX,Kabupaten X,,ministry,,,", "line 9: id 'Kab-X'"),
    ("nasional,NAS,Nasional,,ministry,,,", "line 9: the national desk 'nasional' is built in"),
    ("kab-x,,Kabupaten X,,ministry,,,", "line 9: code is required"),
    ("kab-x,kx x,Kabupaten X,,ministry,,,", "line 9: code 'kx x'"),
    ("kab-x,KX,,,ministry,,,", "line 9: name is required"),
    ("kab-x,KX," + "n" * 201 + ",,ministry,,,", "line 9: name has 201 characters, at most 200"),
    ("kab-x,KX,\"Nama\x07\",,ministry,,,", "line 9: name contains control characters"),
    ("kab-x,KX,Kabupaten X,Bad Parent,unit,,,", "line 9: parent_id 'Bad Parent' is not an agency id"),
    ("kab-x,KX,Kabupaten X,,kabupaten,,,", "line 9: level 'kabupaten' is not one of ministry, agency, province"),
    ("kab-x,KX,Kabupaten X,,national,,,", "line 9: level national is the national desk's alone"),
    ("kab-x,KX,Kabupaten X,prov-kalimantan-selatan,regency,631,,", "line 9: region_code '631'"),
    ("kab-x,KX,Kabupaten X,prov-kalimantan-selatan,regency,6399,,",
     "line 9: region 6399 is not on the reference list of regions"),
    ("kab-x,KX,Kabupaten X,,ministry,,Asia/Singapore,", "line 9: timezone 'Asia/Singapore' is not one of"),
    ("kab-x,KX,Kabupaten X,,ministry,,,maybe", "line 9: active 'maybe': true or false"),
    ("kab-x,KX,Kabupaten X,kab-atlantis,unit,,,", "line 9: unknown parent 'kab-atlantis': not in the file"),
    ("kab-x,KX,Kabupaten X,,regency,6311,,", "line 9: a regency cannot sit under a national (nasional); its "
                                             "parent must be a province"),
    ("dinas-x,DX,Dinas X,,unit,,,", "line 9: a unit cannot sit under a national (nasional)"),
    ("kab-x,KX,Kabupaten X,kementerian-pupr,regency,6311,,", "line 9: a regency cannot sit under a ministry"),
    ("kemen-x,KEMX,Kementerian X,kementerian-pupr,ministry,,,", "line 9: a ministry cannot sit under a ministry"),
    ("kemen-x,KEMX,Kementerian X,,ministry,63,,", "line 9: a ministry is national and has no region"),
    ("prov-x,PX,Provinsi X,,province,,,", "line 9: a province needs region_code"),
    ("prov-x,PX,Provinsi X,,province,6311,,", "line 9: region 6311 (Kabupaten Balangan) is a regency, not a province"),
    ("kota-x,KOX,Kota X,prov-kalimantan-selatan,city,6311,,", "line 9: region 6311 (Kabupaten Balangan) is a "
                                                              "regency, not a city"),
    ("kab-x,KX,Kabupaten X,prov-kalimantan-selatan,regency,6401,,", "line 9: region 6401 (Kabupaten Paser) is not "
                                                                    "in province 63, the region of its parent"),
    ("dinas-x,DX,Dinas X,kab-tanah-bumbu,unit,6311,,", "line 9: region 6311 is outside 6310, the region of its "
                                                      "parent kab-tanah-bumbu"),
    ("dinas-x,DX,Dinas X,kab-tanah-bumbu,unit,63,,", "line 9: region 63 is outside 6310"),
    ("dinas-x,DX,Dinas X,kab-tanah-bumbu,unit,,Asia/Jakarta,", "line 9: timezone Asia/Jakarta differs from "
                                                              "Asia/Makassar, that of region 6310"),
    ("kab-tanah-bumbu,KX,Kabupaten X,,ministry,,,", "line 9: duplicate id kab-tanah-bumbu: already on line 3"),
    ("kab-x,KAB-TANBU,Kabupaten X,,ministry,,,", "line 9: duplicate code KAB-TANBU: already on line 3"),
    ("kab-tanbu-2,KTB2,Kabupaten Tanah Bumbu Lagi,prov-kalimantan-selatan,regency,6310,,",
     "line 9: region 6310 already has its government kab-tanah-bumbu (line 3)"),
    ("dinas-x,DX,Dinas X,dinas-x,unit,,,", "line 9: cycle of parents: dinas-x → dinas-x"),
    ("kab-x,KX,Kabupaten X,", "line 9: expected 8 fields, found 4"),
])
def test_each_kind_of_bad_line_is_named_with_why(line, message):
    found = problems_of(with_line(line))
    assert len(found) == 1 and found[0].startswith("agencies line 9: ") and message in found[0], found


def test_a_cycle_names_every_line_in_it_and_not_the_lines_below_it():
    found = problems_of(HEADER + "kemen-x,KX,Kementerian X,,ministry,,,\n"
                                 "unit-a,UA,Unit A,unit-c,unit,,,\n"
                                 "unit-b,UB,Unit B,unit-a,unit,,,\n"
                                 "unit-c,UC,Unit C,unit-b,unit,,,\n"
                                 "unit-d,UD,Unit D,unit-a,unit,,,\n")  # under the cycle, not in it
    assert found == ["agencies line 3: cycle of parents: unit-a → unit-c → unit-b → unit-a",
                     "agencies line 4: cycle of parents: unit-b → unit-a → unit-c → unit-b",
                     "agencies line 5: cycle of parents: unit-c → unit-b → unit-a → unit-c"]


def test_a_long_cycle_is_shown_in_part():
    units = "".join(f"unit-{n},U{n},Unit {n},unit-{(n + 1) % 12},unit,,,\n" for n in range(12))
    found = problems_of(HEADER + units)
    assert len(found) == 12
    assert found[0] == ("agencies line 2: cycle of parents: unit-0 → unit-1 → unit-2 → unit-3 → unit-4 → unit-5 → "
                        "unit-6 → unit-7 → unit-8 → unit-9 → ... (12 agencies in the cycle)")


def test_an_active_agency_cannot_sit_under_an_inactive_one():
    found = problems_of(HEADER + "kemen-x,KX,Kementerian X,,ministry,,,false\n"
                                 "unit-a,UA,Unit A,kemen-x,unit,,,false\n"
                                 "unit-b,UB,Unit B,kemen-x,unit,,,\n")
    assert found == ["agencies line 4: an active agency cannot sit under the inactive kemen-x: deactivate it too, or "
                     "activate its parent"]


def test_two_governments_of_a_region_are_fine_when_one_is_inactive():
    directory = check(with_line("kab-tanbu-lama,KTB-OLD,Kabupaten Tanah Bumbu (lama),prov-kalimantan-selatan,"
                                "regency,6310,,false"))
    assert len(directory.agencies) == 8


def test_every_bad_line_of_a_file_is_named_at_once_in_line_order():
    found = problems_of(HEADER + "kemen-x,KX,Kementerian X,,kementerian,,,\n"
                                 "kemen-y,,Kementerian Y,,ministry,,,\n"
                                 "ok,OK,Sound Line,,ministry,,,\n"
                                 "unit-z,UZ,Unit Z,kemen-w,unit,,,\n"
                                 "kemen-y,KY,Kementerian Y,,ministry,,,\n")
    assert [p.split(":")[0] for p in found] == ["agencies line 2", "agencies line 3", "agencies line 5",
                                                "agencies line 6"]


def test_a_line_with_several_problems_gets_each_of_them():
    found = problems_of(HEADER + "kab-z,KZ,Kabupaten Z,prov-atlantis,regency,,Asia/Singapore,\n"
                                 "unit-a,UA,,unit-b,unit,,,\nunit-b,UB,Unit B,unit-a,unit,,,\n")
    assert found == ["agencies line 2: timezone 'Asia/Singapore' is not one of Asia/Jakarta, Asia/Makassar, "
                     "Asia/Jayapura",
                     "agencies line 2: a regency needs region_code: the region it governs",
                     "agencies line 2: unknown parent 'prov-atlantis': not in the file, and not the national desk "
                     "'nasional'",
                     "agencies line 3: name is required",
                     "agencies line 3: cycle of parents: unit-a → unit-b → unit-a",
                     "agencies line 4: cycle of parents: unit-b → unit-a → unit-b"]


def test_lines_under_a_refused_parent_are_not_blamed_for_it():
    found = problems_of(HEADER + "kemen-x,KX,Kementerian X,,kementerian,,,\n"
                                 "unit-a,UA,Unit A,kemen-x,unit,,,\n")
    assert found == ["agencies line 2: level 'kementerian' is not one of ministry, agency, province, regency, city, "
                     "unit"]


LIAISON_HEADER = "agency_id,name,position,email,phone\n"


def test_liaison_officers_of_listed_agencies_and_of_the_national_desk():
    directory = check(GOOD, LIAISON_HEADER + "kab-tanah-bumbu-dinas-pupr,Siti Rahmawati,Sekretaris Dinas,"
                                             "siti@tanahbumbu.example,+62 518 0000-0303\n"
                                             "nasional,Admin Nasional,,admin@lapor.example,\n"
                                             "kab-tanah-bumbu,Hendra,,,(0518) 000.0301\n")
    assert [(o.agency_id, o.name, o.email, o.phone) for o in directory.liaison_officers] == [
        ("kab-tanah-bumbu-dinas-pupr", "Siti Rahmawati", "siti@tanahbumbu.example", "+62 518 0000-0303"),
        ("nasional", "Admin Nasional", "admin@lapor.example", ""),
        ("kab-tanah-bumbu", "Hendra", "", "(0518) 000.0301")]


@pytest.mark.parametrize("line, message", [
    ("kab-atlantis,Siti,,siti@x.example,", "agency 'kab-atlantis' is not in the agencies file"),
    (",Siti,,siti@x.example,", "agency_id is required"),
    ("kab-tanah-bumbu,,,siti@x.example,", "name is required"),
    ("kab-tanah-bumbu,Siti,,,", "give an e-mail address or a phone number"),
    ("kab-tanah-bumbu,Siti,,siti at x,", "email 'siti at x' is not an e-mail address"),
    ("kab-tanah-bumbu,Siti,,siti@x.example,12345", "phone '12345': 6 to 15 digits"),
    ("kab-tanah-bumbu,Siti,,siti@x.example,0812-abc-999", "phone '0812-abc-999'"),
    ("kab-tanah-bumbu,Siti,," + "s" * 250 + "@x.example,", "is not an e-mail address"),
    ("kab-tanah-bumbu,Siti," + "p" * 201 + ",siti@x.example,", "position has 201 characters"),
    ("kab-tanah-bumbu,HENDRA,,h@x.example,", "HENDRA is listed twice for kab-tanah-bumbu: already on line 2"),
])
def test_each_kind_of_bad_liaison_line_is_named_with_why(line, message):
    found = problems_of(GOOD, LIAISON_HEADER + "kab-tanah-bumbu,Hendra,,h@x.example,\n" + line + "\n")
    assert len(found) == 1 and found[0].startswith("liaison_officers line 3: ") and message in found[0], found


def test_problems_in_both_files_come_together_agencies_first():
    found = problems_of(with_line("kab-x,KX,Kabupaten X,,kabupaten,,,"),
                        LIAISON_HEADER + "kab-atlantis,Siti,,siti@x.example,\n")
    assert [p.split(":")[0] for p in found] == ["agencies line 9", "liaison_officers line 2"]


@pytest.mark.parametrize("text, message", [
    ("", "agencies line 1: the first line must name the columns"),
    ("id,code,name,level\n", "agencies line 1: missing column parent_id"),
    ("id,code,name,parent_id,level,kind\n", "agencies line 1: unknown column kind"),
    ("id,code,name,parent_id,level,level\n", "agencies line 1: repeated column level"),
    (b"id,code,name,parent_id,level\nx,X,Dinas \xff,,ministry\n", "agencies: is not UTF-8 text"),
    (HEADER + "a,A,\"unterminated,,ministry,,,\n", "agencies line 2: expected 8 fields, found 3 (a quote left open?)"),
    (HEADER + "a,A,A\x00,,ministry,,,\n", "agencies line 2: name contains control characters"),
])
def test_a_file_that_cannot_be_read_is_refused_and_says_where(text, message):
    found = problems_of(text)
    assert any(message in p for p in found), found


def test_columns_in_any_order_a_byte_order_mark_blank_lines_and_spaces_are_fine():
    directory = check("\ufeff LEVEL ,name,id,code,parent_id\n\n ministry , Kementerian X ,kemen-x,KX,\n\n")
    assert directory.agencies == (Agency("kemen-x", "KX", "Kementerian X", "nasional", "ministry", "",
                                         "Asia/Jakarta", True),)
    assert check(b"\xef\xbb\xbfid,code,name,parent_id,level\nkemen-x,KX,Kementerian X,,ministry\n").agencies


def test_hierarchy_order_lists_parents_first_and_siblings_by_level_and_name():
    agencies = check(GOOD).agencies
    assert [a.id for a in hierarchy_order(reversed(agencies))] == [
        "kementerian-kesehatan", "badan-pom", "kementerian-pupr", "kementerian-pupr-bpjn-kalimantan-selatan",
        "prov-kalimantan-selatan", "kab-tanah-bumbu", "kab-tanah-bumbu-dinas-pupr"]
