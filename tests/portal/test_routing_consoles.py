"""The agency directory at /staf/direktori and the routing rules at /staf/aturan through real HTTP, over a
real routing server with the demo directory on the test database: national administrators list, read,
import (dry run first) and export the directory, and list, add, edit and delete rules; refusals are
shown beside their field and change nothing; other roles get the 403 page and change nothing."""

import csv
import io

import psycopg
import pytest

from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST
from services.routing import demo
from tests.portal.test_pages import field_message, hidden_in, page, text_of
from tests.portal.test_staff_sign_in import PUPR, accounts, people, signed_in, staff  # noqa: F401 (fixtures)

OTHER_ROLES = (AGENCY_ADMIN, LIAISON_OFFICER, PROCESS_ANALYST)


@pytest.fixture
def app(make_app, intake_address, others_address, routing_address):
    """The portal over a real routing server with the demo directory and rules."""
    return make_app(intake_address, others_address, others_address, routing=routing_address)


@pytest.fixture
def admin_subject(accounts) -> str:
    """Who the services record for the national administrator's changes."""
    return accounts[NATIONAL_ADMIN].subject


@pytest.fixture
def admin(people):
    return people(NATIONAL_ADMIN)


def routing_tables(database_url) -> list[list[tuple]]:
    """Everything the pages may change in routing, in full."""
    with psycopg.connect(database_url) as conn:
        return [conn.execute(f"SELECT * FROM routing.{t} ORDER BY 1").fetchall()
                for t in ("agencies", "liaison_officers", "directory_imports", "rules", "rule_changes")]


def rows_of(response, table: str) -> list[list[str]]:
    return [[" ".join(c.text_content().split()) for c in r.xpath("td")]
            for r in page(response).xpath(f"//table[@id='{table}']/tbody/tr")]


def rule_rows(person, query: str = "") -> list[tuple[str, str, str]]:
    return [tuple(r[:3]) for r in rows_of(person.get(f"/staf/aturan{query}"), "rules")]


def rule_id_of(person, category: str, region: str) -> str:
    html = page(person.get(f"/staf/aturan?kategori={category}"))
    for row in html.xpath("//table[@id='rules']/tbody/tr"):
        if row.xpath("string(td[2])").strip() == region:
            return row.get("id").removeprefix("rule-")
    raise AssertionError(f"no {category} rule for {region}")


# ---- who may open the pages ----

def test_the_staff_home_links_both_pages_for_national_administrators_only(people):
    links = page(people(NATIONAL_ADMIN).get("/staf")).xpath("//main//a/@href")
    assert "/staf/direktori" in links and "/staf/aturan" in links
    for role in OTHER_ROLES:
        links = page(people(role).get("/staf")).xpath("//main//a/@href")
        assert "/staf/direktori" not in links and "/staf/aturan" not in links


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_get_the_403_page_and_change_nothing(people, admin, role, database_url):
    person = people(role)
    rule = rule_id_of(admin, "kesehatan", "Semua wilayah")
    for path in ("/staf/direktori", "/staf/direktori/instansi/kab-tanah-bumbu", "/staf/direktori/ekspor/instansi.csv",
                 "/staf/aturan", f"/staf/aturan/{rule}"):
        assert person.get(path).status_code == 403, path
    before = routing_tables(database_url)
    # Forms with the CSRF token of their own session: refused by role, whatever they hold.
    form = hidden_in(person.get("/staf"), "/staf/keluar")
    posts = [("/staf/aturan", {"category": "lingkungan", "region_code": "", "agency_id": "badan-pom"}),
             (f"/staf/aturan/{rule}", {"category": "kesehatan", "region_code": "", "agency_id": "badan-pom"}),
             (f"/staf/aturan/{rule}/hapus", {}),
             ("/staf/direktori/impor/terapkan", {"agencies_csv": ""})]
    for path, fields in posts:
        response = person.post(path, data={**form, **fields})
        assert response.status_code == 403 and "Akses ditolak" in text_of(response), path
    assert routing_tables(database_url) == before


def test_a_visitor_not_signed_in_is_sent_to_sign_in(visitor):
    response = visitor().get("/staf/aturan")
    assert response.status_code == 303 and response.headers["Location"].startswith("/staf/masuk")


# ---- the directory ----

def test_the_directory_lists_filters_and_pages(admin):
    whole = admin.get("/staf/direktori")
    assert whole.status_code == 200
    assert page(whole).xpath("string(//p[@id='total'])") == f"{1 + len(demo.AGENCIES)} instansi"
    assert len(rows_of(whole, "agencies")) == 1 + len(demo.AGENCIES)  # fewer than a page
    ministries = rows_of(admin.get("/staf/direktori?tingkat=ministry"), "agencies")
    assert [r[2] for r in ministries] == ["Kementerian"] * 5
    in_tanah_bumbu = rows_of(admin.get("/staf/direktori?wilayah=6310&cari=dinas"), "agencies")
    assert len(in_tanah_bumbu) == 5 and all(r[3] == "Kabupaten Tanah Bumbu" for r in in_tanah_bumbu)
    assert page(admin.get("/staf/direktori?status=nonaktif")).get_element_by_id("no-agencies") is not None
    english = rows_of(admin.get("/staf/direktori?tingkat=ministry&lang=en"), "agencies")
    assert english[0][2] == "Ministry" and english[0][4] == "Active"


def test_the_directory_pages_keep_the_filters(admin):
    units = "".join(f"kab-tanah-bumbu-unit-{n},UNIT-{n},Unit Pelaksana {n:02},kab-tanah-bumbu,unit,,,\n"
                    for n in range(45))
    checked = dry_run(admin, exported(admin) + units)
    assert admin.post("/staf/direktori/impor/terapkan",
                      data=hidden_in(checked, "/staf/direktori/impor/terapkan")).status_code == 303
    first = admin.get("/staf/direktori?tingkat=unit")
    assert page(first).xpath("string(//p[@id='total'])") == "55 instansi"
    next_url = page(first).get_element_by_id("next-page").get("href")
    assert "tingkat=unit" in next_url and "halaman=" in next_url
    second = admin.get(next_url)
    names = [r[0] for r in rows_of(first, "agencies") + rows_of(second, "agencies")]
    assert len(rows_of(first, "agencies")) == 50 and len(names) == len(set(names)) == 55
    assert not page(second).xpath("//a[@id='next-page']")


@pytest.mark.parametrize("query", ["?tingkat=kabupaten", "?wilayah=6399", "?status=mungkin", "?halaman=rusak"])
def test_a_bad_filter_is_said_on_the_page(admin, query):
    response = admin.get(f"/staf/direktori{query}")
    assert response.status_code == 400
    assert page(response).get_element_by_id("page-message") is not None


def test_an_agencys_page_shows_its_ancestors_units_and_liaison_officers(admin):
    html = page(admin.get("/staf/direktori/instansi/kab-tanah-bumbu"))
    assert html.xpath("//nav[@id='ancestors']/a/text()") == [
        "Direktori instansi", "Administrator Nasional SP4N-LAPOR!", "Pemerintah Provinsi Kalimantan Selatan"]
    units = html.xpath("//ul[@id='units']/li/a/@href")
    assert f"/staf/direktori/instansi/{PUPR}" in units and len(units) == 5
    unit = page(admin.get(f"/staf/direktori/instansi/{PUPR}"))
    officers = [r.xpath("string(td[1])") for r in unit.xpath("//table[@id='liaison-officers']/tbody/tr")]
    assert officers == ["Agus Setiawan", "Siti Rahmawati"]
    assert admin.get("/staf/direktori/instansi/kab-atlantis").status_code == 404
    assert admin.get("/staf/direktori/instansi/Bad%20Id").status_code == 404


def test_the_export_downloads_both_files(admin):
    agencies = admin.get("/staf/direktori/ekspor/instansi.csv")
    assert agencies.status_code == 200 and agencies.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in agencies.headers["Content-Disposition"]
    ids = [row["id"] for row in csv.DictReader(io.StringIO(agencies.content.decode()))]
    assert sorted(ids) == sorted(a.id for a in demo.AGENCIES)
    officers = admin.get("/staf/direktori/ekspor/petugas-penghubung.csv")
    assert "Agus Setiawan" in officers.content.decode()
    assert admin.get("/staf/direktori/ekspor/lain.csv").status_code == 404


def exported(admin) -> str:
    return admin.get("/staf/direktori/ekspor/instansi.csv").content.decode()


def dry_run(admin, agencies_csv: str, **fields):
    form = hidden_in(admin.get("/staf/direktori"), "/staf/direktori/impor")
    return admin.post("/staf/direktori/impor", data={**form, **fields},
                      files={"agencies_csv": ("instansi.csv", agencies_csv.encode(), "text/csv")})


def test_an_import_shows_what_would_change_then_applies_it(admin, database_url, admin_subject):
    renamed = exported(admin).replace("Badan Pengawas Obat dan Makanan", "Badan POM RI")
    assert renamed != exported(admin)
    without_banjarmasin = "".join(line for line in renamed.splitlines(keepends=True)
                                  if not line.startswith("kota-banjarmasin,"))
    before = routing_tables(database_url)
    checked = dry_run(admin, without_banjarmasin)
    assert checked.status_code == 200, checked.text
    html = page(checked)
    assert html.xpath("//ul[@id='changed']/li/text()") == ["badan-pom"]
    assert html.xpath("//ul[@id='deleted']/li/text()") == ["kota-banjarmasin"]
    assert routing_tables(database_url) == before  # a dry run changes nothing

    applied = admin.post("/staf/direktori/impor/terapkan", data=hidden_in(checked, "/staf/direktori/impor/terapkan"))
    assert (applied.status_code, applied.headers["Location"]) == (303, "/staf/direktori")
    notice = page(admin.get("/staf/direktori")).get_element_by_id("notice").text_content()
    assert notice == "Direktori diimpor: 0 ditambah, 1 diubah, 0 dinonaktifkan, 1 dihapus."
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT name FROM routing.agencies WHERE id = 'badan-pom'").fetchone() == ("Badan POM RI",)
        assert conn.execute("SELECT count(*) FROM routing.agencies WHERE id = 'kota-banjarmasin'").fetchone() == (0,)
        assert conn.execute("SELECT imported_by FROM routing.directory_imports WHERE imported_by <> 'demo'"
                            ).fetchall() == [(admin_subject,)]


def test_a_bad_file_is_refused_with_its_lines_beside_the_field_and_changes_nothing(admin, database_url):
    before = routing_tables(database_url)
    bad = exported(admin) + "kab-baru,KAB BARU,,prov-kalimantan-selatan,regency,6399,,\n"
    response = dry_run(admin, bad)
    assert response.status_code == 400
    assert field_message(response, "agencies_csv").startswith("Berkas ditolak seluruhnya")
    problems = page(response).xpath("//ul[@id='import-problems']/li/text()")
    assert problems and all("line" in p for p in problems)
    assert routing_tables(database_url) == before
    missing = admin.post("/staf/direktori/impor", data=hidden_in(admin.get("/staf/direktori"),
                                                                  "/staf/direktori/impor"))
    assert missing.status_code == 400 and field_message(missing, "agencies_csv") == "Pilih berkas CSV daftar instansi."


def test_an_import_without_the_csrf_token_changes_nothing(admin, database_url):
    before = routing_tables(database_url)
    checked = dry_run(admin, exported(admin).replace("Badan Pengawas Obat dan Makanan", "Badan POM RI"))
    form = hidden_in(checked, "/staf/direktori/impor/terapkan")
    response = admin.post("/staf/direktori/impor/terapkan", data={**form, "csrf_token": "forged"})
    assert response.status_code == 400 and page(response).get_element_by_id("import-form-error") is not None
    assert routing_tables(database_url) == before


# ---- the rules ----

def test_the_rules_are_listed_with_filters(admin):
    rows = rule_rows(admin)
    assert len(rows) == len(demo.RULES)
    assert ("Kesehatan", "Kabupaten Tanah Bumbu", "Dinas Kesehatan Kabupaten Tanah Bumbu") in rows
    assert rule_rows(admin, "?kategori=lainnya&wilayah=63") == [
        ("Lainnya", "Provinsi Kalimantan Selatan", "Dinas Komunikasi dan Informatika Provinsi Kalimantan Selatan"),
        ("Lainnya", "Kabupaten Tanah Bumbu", "Dinas Komunikasi dan Informatika Kabupaten Tanah Bumbu")]
    assert [r[0] for r in rule_rows(admin, f"?instansi={PUPR}")] == ["Infrastruktur"]
    response = admin.get("/staf/aturan?kategori=banjir")
    assert response.status_code == 400 and page(response).get_element_by_id("page-message") is not None


def posted_form(response, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, nonce) of the form posting to `action` (the filters get the same path)."""
    form = page(response).xpath(f"//form[@method='post' and @action='{action}']")[0]
    return {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}


def post_rule(person, path: str, form_page: str, **fields):
    return person.post(path, data={**posted_form(person.get(form_page), path), **fields})


def test_adding_a_rule_then_editing_then_deleting_it(admin, database_url, admin_subject):
    added = post_rule(admin, "/staf/aturan", "/staf/aturan", category="lingkungan", region_code="63",
                      agency_id="prov-kalimantan-selatan-dinas-pupr")
    assert (added.status_code, added.headers["Location"]) == (303, "/staf/aturan")
    listing = admin.get("/staf/aturan?kategori=lingkungan")
    assert page(listing).get_element_by_id("notice").text_content() == "Aturan ditambahkan."
    assert [r[:3] for r in rows_of(listing, "rules")] == [
        ["Lingkungan hidup", "Provinsi Kalimantan Selatan", "Dinas Pekerjaan Umum dan Penataan Ruang Provinsi "
                                                            "Kalimantan Selatan"]]
    rule = rule_id_of(admin, "lingkungan", "Provinsi Kalimantan Selatan")
    assert rows_of(listing, "rules")[0][3].startswith(admin_subject + ", ")

    edit = admin.get(f"/staf/aturan/{rule}")
    assert page(edit).xpath("string(//select[@id='region_code']//option[@selected]/@value)") == "63"
    changed = post_rule(admin, f"/staf/aturan/{rule}", f"/staf/aturan/{rule}", category="lingkungan",
                        region_code="6310", agency_id="kab-tanah-bumbu")
    assert changed.status_code == 303
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT region_prefix, agency_id, changed_by FROM routing.rules WHERE id = %s",
                            (int(rule),)).fetchone() == ("6310", "kab-tanah-bumbu", admin_subject)

    delete_form = posted_form(admin.get(f"/staf/aturan/{rule}"), f"/staf/aturan/{rule}/hapus")
    deleted = admin.post(f"/staf/aturan/{rule}/hapus", data=delete_form)
    assert deleted.status_code == 303
    assert admin.post(f"/staf/aturan/{rule}/hapus", data=delete_form).status_code == 303  # sent twice: one delete
    assert page(admin.get("/staf/aturan")).get_element_by_id("notice").text_content() == "Aturan dihapus."
    assert rule_rows(admin, "?kategori=lingkungan") == []
    with psycopg.connect(database_url) as conn:
        actions = conn.execute("SELECT action FROM routing.rule_changes WHERE rule_id = %s ORDER BY id",
                               (int(rule),)).fetchall()
    assert actions == [("create",), ("update",), ("delete",)]


@pytest.mark.parametrize("fields, field, message", [
    (dict(category="", region_code="", agency_id="badan-pom"), "category", "Pilih kategori dari daftar."),
    (dict(category="banjir", region_code="", agency_id="badan-pom"), "category", "Pilih kategori dari daftar."),
    (dict(category="lingkungan", region_code="6399", agency_id="badan-pom"), "region_code",
     "Pilih wilayah dari daftar, atau Semua wilayah."),
    (dict(category="lingkungan", region_code="", agency_id="kab-atlantis"), "agency_id",
     "Tidak ada instansi dengan id ini di direktori. Contoh: kab-tanah-bumbu-dinas-pupr."),
    (dict(category="kesehatan", region_code="6310", agency_id="badan-pom"), "region_code",
     "Sudah ada aturan untuk kategori dan wilayah ini. Ubah atau hapus aturan itu."),
    (dict(category="lingkungan", region_code="", agency_id="inactive"), "agency_id",
     "Instansi ini nonaktif, dan routing tidak pernah memilih instansi nonaktif. Pilih instansi yang aktif."),
])
def test_a_refused_rule_is_shown_beside_its_field_and_changes_nothing(admin, database_url, fields, field, message):
    if fields["agency_id"] == "inactive":
        with psycopg.connect(database_url) as conn:
            conn.execute("UPDATE routing.agencies SET active = false WHERE id = 'badan-pom'")
        fields = {**fields, "agency_id": "badan-pom"}
    before = routing_tables(database_url)
    response = post_rule(admin, "/staf/aturan", "/staf/aturan", **fields)
    assert response.status_code == 400
    assert field_message(response, field) == message
    assert page(response).xpath("string(//input[@id='agency_id']/@value)") == fields["agency_id"]  # kept
    assert routing_tables(database_url) == before


def test_an_edit_into_another_rules_place_is_refused_beside_the_region(admin, database_url):
    rule = rule_id_of(admin, "kesehatan", "Provinsi Kalimantan Selatan")
    before = routing_tables(database_url)
    response = post_rule(admin, f"/staf/aturan/{rule}", f"/staf/aturan/{rule}", category="kesehatan",
                         region_code="6310", agency_id="kab-tanah-bumbu")
    assert response.status_code == 400
    assert field_message(response, "region_code").startswith("Sudah ada aturan")
    assert routing_tables(database_url) == before


@pytest.mark.parametrize("path", ["/staf/aturan", "RULE", "RULE/hapus"])
def test_a_rule_form_without_the_csrf_token_or_nonce_changes_nothing(admin, database_url, path):
    rule = rule_id_of(admin, "kesehatan", "Semua wilayah")
    path = path.replace("RULE", f"/staf/aturan/{rule}")
    form_page = "/staf/aturan" if path == "/staf/aturan" else f"/staf/aturan/{rule}"
    before = routing_tables(database_url)
    form = posted_form(admin.get(form_page), path)
    fields = dict(category="lingkungan", region_code="", agency_id="badan-pom")
    for forged in ({**form, "csrf_token": "forged"}, {**form, "nonce": "forged.nonce"}):
        response = admin.post(path, data={**forged, **fields})
        assert response.status_code == 400
        assert page(response).get_element_by_id("rule-form-error") is not None
    assert routing_tables(database_url) == before


def test_a_rule_that_is_not_there_is_404(admin):
    assert admin.get("/staf/aturan/999999").status_code == 404
    assert admin.get("/staf/aturan/abc").status_code == 404


def test_two_rules_deleted_from_the_same_list_are_both_deleted(admin):
    listing = admin.get("/staf/aturan?kategori=kesehatan")
    ids = [r.get("id").removeprefix("rule-") for r in page(listing).xpath("//table[@id='rules']/tbody/tr")]
    assert len(ids) == 3
    for rule in ids[:2]:
        path = f"/staf/aturan/{rule}/hapus"
        assert admin.post(path, data=posted_form(listing, path)).status_code == 303
    assert [r[1] for r in rule_rows(admin, "?kategori=kesehatan")] == ["Kabupaten Tanah Bumbu"]
