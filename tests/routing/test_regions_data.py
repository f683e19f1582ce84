"""The reference list of regions (services/routing/data/regions.csv): well formed, complete, and in the
right time zones. No database needed."""

import csv
from collections import Counter

import pytest

from services.routing.regions import REGIONS_CSV, RegionListError, kind_of, parse_regions, read_regions

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"

# (regencies, cities) per province, checked against two sources (see services/routing/data/README.md):
# BPS's code bridge (2020, 34 provinces) with the 2022 Papua split applied, and Kemendagri's list of 38.
COUNTS = {
    "11": (18, 5), "12": (25, 8), "13": (12, 7), "14": (10, 2), "15": (9, 2), "16": (13, 4), "17": (9, 1),
    "18": (13, 2), "19": (6, 1), "21": (5, 2), "31": (1, 5), "32": (18, 9), "33": (29, 6), "34": (4, 1),
    "35": (29, 9), "36": (4, 4), "51": (8, 1), "52": (8, 2), "53": (21, 1), "61": (12, 2), "62": (13, 1),
    "63": (11, 2), "64": (7, 3), "65": (4, 1), "71": (11, 4), "72": (12, 1), "73": (21, 3), "74": (15, 2),
    "75": (5, 1), "76": (6, 0), "81": (9, 2), "82": (8, 2), "91": (7, 0), "92": (5, 1), "94": (8, 1),
    "95": (4, 0), "96": (8, 0), "97": (8, 0),
}

# Time zones follow provinces: western Kalimantan is WIB, the rest of Kalimantan and everything from
# Bali to Sulawesi WITA, Maluku and Papua WIT.
TIMEZONE_OF_PROVINCE = {
    **dict.fromkeys(["11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35",
                     "36", "61", "62"], WIB),
    **dict.fromkeys(["51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"], WITA),
    **dict.fromkeys(["81", "82", "91", "92", "94", "95", "96", "97"], WIT),
}


@pytest.fixture(scope="module")
def regions():
    return read_regions()


@pytest.fixture(scope="module")
def by_code(regions):
    return {r.code: r for r in regions}


def test_the_file_is_plain_utf8_csv_with_the_documented_columns():
    raw = REGIONS_CSV.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\n") and b"\r" not in raw
    rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    assert rows[0] == ["code", "name", "kind", "timezone"]
    assert all(len(r) == 4 and all(v == v.strip() and v for v in r) for r in rows[1:])
    codes = [r[0] for r in rows[1:]]
    assert codes == sorted(codes), "kept in code order, each province followed by its regencies and cities"


def test_codes_are_unique_and_every_regency_or_city_is_inside_a_listed_province(regions, by_code):
    assert len(by_code) == len(regions)
    for region in regions:
        assert region.kind in kind_of(region.code)
        if region.kind == "province":
            assert len(region.code) == 2 and region.parent_code == ""
        else:
            assert len(region.code) == 4 and region.parent_code == region.code[:2]
            assert by_code[region.parent_code].kind == "province"


def test_there_are_38_provinces_and_514_regencies_and_cities(regions):
    kinds = Counter(r.kind for r in regions)
    assert kinds == {"province": 38, "regency": 416, "city": 98}
    assert kinds["regency"] + kinds["city"] == 514


def test_every_province_has_its_verified_number_of_regencies_and_cities(regions):
    counted = Counter((r.parent_code, r.kind) for r in regions if r.parent_code)
    assert {p for p, _ in counted} == set(COUNTS) == {r.code for r in regions if r.kind == "province"}
    assert {p: (counted[(p, "regency")], counted[(p, "city")]) for p in COUNTS} == COUNTS
    assert sum(a + b for a, b in COUNTS.values()) == 514


@pytest.mark.parametrize("code, name, kind", [
    ("63", "Provinsi Kalimantan Selatan", "province"),
    ("6310", "Kabupaten Tanah Bumbu", "regency"),
    ("6371", "Kota Banjarmasin", "city"),
    ("6372", "Kota Banjarbaru", "city"),
    ("31", "Provinsi DKI Jakarta", "province"),
    ("3101", "Kabupaten Administrasi Kepulauan Seribu", "regency"),
    ("3171", "Kota Administrasi Jakarta Selatan", "city"),
    ("3173", "Kota Administrasi Jakarta Pusat", "city"),
    ("34", "Provinsi Daerah Istimewa Yogyakarta", "province"),
    ("1405", "Kabupaten Siak", "regency"),
    ("6411", "Kabupaten Mahakam Ulu", "regency"),
    ("94", "Provinsi Papua", "province"),
    ("9471", "Kota Jayapura", "city"),
    ("91", "Provinsi Papua Barat", "province"),
    ("92", "Provinsi Papua Barat Daya", "province"),
    ("95", "Provinsi Papua Selatan", "province"),
    ("96", "Provinsi Papua Tengah", "province"),
    ("97", "Provinsi Papua Pegunungan", "province"),
])
def test_known_regions_carry_their_official_names(by_code, code, name, kind):
    assert (by_code[code].name, by_code[code].kind) == (name, kind)


def test_names_start_with_their_kind_and_are_unique(regions):
    prefix = {"province": "Provinsi ", "regency": "Kabupaten ", "city": "Kota "}
    assert all(r.name.startswith(prefix[r.kind]) for r in regions)
    assert len({r.name for r in regions}) == len(regions)  # Kabupaten Bogor and Kota Bogor differ by kind


@pytest.mark.parametrize("province, names", [
    # the four provinces of 2022, each with the regencies and city its founding law gives it
    ("92", {"Kota Sorong", "Kabupaten Sorong", "Kabupaten Sorong Selatan", "Kabupaten Raja Ampat",
            "Kabupaten Tambrauw", "Kabupaten Maybrat"}),
    ("95", {"Kabupaten Merauke", "Kabupaten Boven Digoel", "Kabupaten Mappi", "Kabupaten Asmat"}),
    ("96", {"Kabupaten Nabire", "Kabupaten Puncak Jaya", "Kabupaten Paniai", "Kabupaten Mimika", "Kabupaten Puncak",
            "Kabupaten Dogiyai", "Kabupaten Intan Jaya", "Kabupaten Deiyai"}),
    ("97", {"Kabupaten Jayawijaya", "Kabupaten Pegunungan Bintang", "Kabupaten Yahukimo", "Kabupaten Tolikara",
            "Kabupaten Mamberamo Tengah", "Kabupaten Yalimo", "Kabupaten Lanny Jaya", "Kabupaten Nduga"}),
    # and what stayed behind
    ("94", {"Kabupaten Jayapura", "Kabupaten Kepulauan Yapen", "Kabupaten Biak Numfor", "Kabupaten Sarmi",
            "Kabupaten Keerom", "Kabupaten Waropen", "Kabupaten Supiori", "Kabupaten Mamberamo Raya",
            "Kota Jayapura"}),
    ("91", {"Kabupaten Fakfak", "Kabupaten Kaimana", "Kabupaten Teluk Wondama", "Kabupaten Teluk Bintuni",
            "Kabupaten Manokwari", "Kabupaten Manokwari Selatan", "Kabupaten Pegunungan Arfak"}),
])
def test_the_papua_provinces_hold_the_regencies_of_the_2022_split(regions, province, names):
    assert {r.name for r in regions if r.parent_code == province} == names


def test_every_region_is_in_its_provinces_time_zone(regions):
    assert {r.code: r.timezone for r in regions if r.kind == "province"} == TIMEZONE_OF_PROVINCE
    assert all(r.timezone == TIMEZONE_OF_PROVINCE[r.province_code] for r in regions)


@pytest.mark.parametrize("code, tz", [
    ("61", WIB), ("62", WIB), ("63", WITA), ("64", WITA), ("65", WITA),  # Kalimantan splits by province
    ("51", WITA), ("52", WITA), ("53", WITA), ("73", WITA), ("81", WIT), ("97", WIT),
    ("6310", WITA), ("3171", WIB), ("6171", WIB), ("5171", WITA), ("9471", WIT),
])
def test_time_zones_of_some_regions(by_code, code, tz):
    assert by_code[code].timezone == tz


HEADER = "code,name,kind,timezone\n"
GOOD = (HEADER + "63,Provinsi Kalimantan Selatan,province,Asia/Makassar\n"
        "6310,Kabupaten Tanah Bumbu,regency,Asia/Makassar\n")


def test_a_small_good_list_parses():
    assert [(r.code, r.parent_code) for r in parse_regions(GOOD)] == [("63", ""), ("6310", "63")]


@pytest.mark.parametrize("text, message", [
    ("code,name,kind\n63,Provinsi X,province\n", "line 1: the columns"),
    (GOOD + "6310,Kabupaten Tanah Bumbu,regency,Asia/Makassar\n", "line 4: code 6310 appears twice"),
    (GOOD + "6311,Kabupaten Balangan,regency\n", "line 4: expected 4 fields"),
    (GOOD + "6311,Kabupaten Balangan,regency,Asia/Makassar,x\n", "line 4: expected 4 fields"),
    (GOOD + "631,Kabupaten Balangan,regency,Asia/Makassar\n", "line 4: code '631'"),
    (GOOD + "6311,Kabupaten Balangan,village,Asia/Makassar\n", "line 4: kind 'village'"),
    (GOOD + "6371,Kabupaten Banjarmasin,regency,Asia/Makassar\n", "line 4: code 6371 cannot be a regency"),
    (GOOD + "6300,Kabupaten Nol,regency,Asia/Makassar\n", "line 4: code 6300 cannot be a regency"),
    (GOOD + "6371,Banjarmasin,city,Asia/Makassar\n", "line 4: the name of a city is 'Kota '"),
    (GOOD + "6371,Kota Banjarmasin,city,Asia/Singapore\n", "line 4: timezone 'Asia/Singapore'"),
    (GOOD + "6401,Kabupaten Paser,regency,Asia/Makassar\n", "6401 Kabupaten Paser: its province 64"),
    (GOOD + "6371,Kota Banjarmasin,city,Asia/Jakarta\n", "differs from its province's (Asia/Makassar)"),
    (HEADER, "the list has no regions"),
])
def test_a_bad_list_is_refused_whole_and_says_where(text, message):
    with pytest.raises(RegionListError) as e:
        parse_regions(text)
    assert message in str(e.value)
