"""Full-text search of the public feed with PostgreSQL's `indonesian` configuration (a Snowball
stemmer, no stop words), through a real gRPC server: what it finds, what it does not, its order, and
that it can never find a report by what redaction hides."""

from datetime import timedelta

import pytest

from services.intake import publication
from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import feed, feed_ids, publish


@pytest.fixture
def reports(stub, clock):
    """Published reports by name, one minute apart (the last is the newest)."""
    made = {}
    for name, title, description, location in [
        ("jalan", "Jalan berlubang belum diperbaiki", "Lubang besar membahayakan pengendara motor.", "Batulicin"),
        ("jembatan", "Jembatan kayu rapuh", "Warga minta segera memperbaiki jembatan desa.", "Simpang Empat"),
        ("banjir", "Banjir setiap hujan", "Saluran air tersumbat sampah, rumah warga kebanjiran.", "Kusan Hilir"),
        ("lampu", "Lampu jalan mati", "Jalan gelap, tidak terang sejak sebulan.", "Jl. Raya Pagatan"),
        ("puskesmas", "Pelayanan puskesmas lambat", "Pasien dilayani setelah tiga jam menunggu.", "Sungai Loban"),
        ("sekolah", "Biaya persekolahan mahal", "Pungutan seragam tanpa dasar hukum.", "Angsana"),
        ("rusak", "Gedung sekolah rusak", "Atap kelas bocor, kerusakan dibiarkan.", "Satui"),
    ]:
        made[name] = publish(stub, name, title=title, description=description, location_text=location)
        clock.advance(timedelta(minutes=1))
    return made


def found(stub, reports, query, **fields) -> list[str]:
    names = {v: k for k, v in reports.items()}
    return [names[t] for t in feed_ids(stub, query=query, **fields)]


@pytest.mark.parametrize("query, expected", [
    ("perbaikan", {"jalan", "jembatan"}),  # perbaikan, diperbaiki and memperbaiki all stem to "baik"
    ("kerusakan", {"rusak"}),  # kerusakan and rusak: "rusak"
    ("pelayanan", {"puskesmas"}),  # pelayanan and dilayani: "layan"
    ("banjir", {"banjir"}),  # banjir and kebanjiran: "banjir"
    ("berlubang", {"jalan"}),
    ("lubangnya", {"jalan"}),  # a suffixed word finds its root
    ("JEMBATAN", {"jembatan"}),
])
def test_search_finds_the_inflections_that_the_indonesian_stemmer_joins(stub, reports, query, expected):
    assert set(found(stub, reports, query)) == expected


@pytest.mark.parametrize("query, missed", [
    ("penerangan", "lampu"),  # stems to "erang", not "terang"
    ("sekolah", "sekolah"),  # "sekolah" stems to "seko" but "persekolahan" to "sekolah"
    ("kendaraan", "jalan"),  # "ndara" and "endara" (pengendara) are different stems
])
def test_search_does_not_join_what_the_stemmer_keeps_apart(stub, reports, query, missed):
    assert missed not in found(stub, reports, query)


def test_every_word_must_match_and_search_syntax_is_understood(stub, reports):
    assert found(stub, reports, "jalan mati") == ["lampu"]
    assert set(found(stub, reports, "jalan")) == {"lampu", "jalan"}
    assert found(stub, reports, "jalan -mati") == ["jalan"]
    assert set(found(stub, reports, "banjir or jembatan")) == {"banjir", "jembatan"}
    assert found(stub, reports, '"jalan gelap"') == ["lampu"]
    assert found(stub, reports, '"gelap jalan"') == []


def test_a_match_in_the_title_ranks_above_one_in_the_description_or_location(stub, clock):
    in_location = publish(stub, "c", title="Air PDAM keruh", description="Air berwarna coklat sejak kemarin.",
                          location_text="Dekat jembatan Batulicin")
    clock.advance(timedelta(minutes=1))
    in_title = publish(stub, "a", title="Jembatan putus", description="Akses desa terputus total.")
    clock.advance(timedelta(minutes=1))
    in_description = publish(stub, "b", title="Akses desa terputus", description="Jembatan desa putus diterjang arus.")
    assert feed_ids(stub, query="jembatan") == [in_title, in_description, in_location]


def test_equally_relevant_reports_come_newest_first(stub, clock):
    made = []
    for i in range(4):
        made.append(publish(stub, f"k{i}", title="Sampah menumpuk", description="Sampah menumpuk di pasar."))
        clock.advance(timedelta(minutes=1))
    assert feed_ids(stub, query="sampah") == made[::-1]


def test_search_combines_with_filters(stub, reports):
    assert found(stub, reports, "warga", category="infrastruktur") == ["banjir", "jembatan"]
    assert found(stub, reports, "warga", agency_id="kalsel-pupr") == []


def test_hidden_text_cannot_be_searched_for(stub):
    tracking_id = publish(stub, title="Pungli di kantor kelurahan",
                          description="Saya Siti Rahmah, NIK 3201234567890001, dimintai uang. Hubungi "
                                      "0812-3456-7890 atau siti.rahmah@contoh.id.",
                          reporter=pb.Reporter(name="Siti Rahmah", phone="081234567890", email="siti@contoh.id"))
    assert feed_ids(stub, query="pungli kelurahan") == [tracking_id]
    for query in ("Rahmah", "Siti", "3201234567890001", "081234567890", "0812-3456-7890", "3456", "7890",
                  "siti.rahmah@contoh.id", "contoh.id", "siti"):
        assert feed_ids(stub, query=query) == [], query


def test_a_query_without_words_finds_nothing_and_is_not_an_error(stub, reports):
    for query in ("!!!", "- -", '""', "&|"):
        assert feed(stub, query=query).reports == []
    assert len(feed_ids(stub, query="   ")) == len(reports)  # blank: no query at all


def test_a_search_ranks_the_newest_matches_and_pages_stay_within_them(stub, clock, monkeypatch):
    monkeypatch.setattr(publication, "SEARCH_WINDOW", 5)
    made = []
    for i in range(8):  # the older, the more relevant: "sampah" more often
        made.append(publish(stub, f"k{i}", title="Sampah " * (8 - i) + "menumpuk", description="Bau sekali."))
        clock.advance(timedelta(minutes=1))
    first = feed(stub, query="sampah", page_size=2)
    assert [r.tracking_id for r in first.reports] == [made[3], made[4]]  # the five newest, most relevant first
    publish(stub, "late", title="Sampah " * 9 + "lagi", description="Bau sekali.")  # the most relevant of all
    token, rest = first.next_page_token, []
    while token:
        page = feed(stub, query="sampah", page_size=2, page_token=token)
        rest += [r.tracking_id for r in page.reports]
        token = page.next_page_token
    assert rest == [made[5], made[6], made[7]]  # the same window: the late report waits for a new search
    assert feed_ids(stub, query="sampah", page_size=1)[0] != made[3]  # a new search starts a new window


def test_the_redaction_marker_is_not_a_word_to_search_for(stub):
    publish(stub, title="Pungli, hubungi 0812-3456-7890", description="Bukti ada di siti@contoh.id semua.")
    assert feed_ids(stub, query="disembunyikan") == []
    assert len(feed_ids(stub, query="pungli")) == 1
