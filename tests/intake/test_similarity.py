"""How alike two reports are, and why: the rules without I/O."""

import math

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.domain import Coordinates
from services.intake.similarity import (NEARBY_METERS, Candidate, Overlap, Reason, Words, bounding_box, dice,
                                        distance_meters, match, ranked, tsquery)

BATULICIN = Coordinates(-3.45, 115.99)
WORDS = Words(title=frozenset({"jalan", "lubang", "batulicin"}),
              body=frozenset({"jalan", "lubang", "batulicin", "pasar", "besar", "motor"}),
              place=frozenset({"jl", "raya", "batulicin", "km", "3"}))


def candidate(title=(0, 0), body=(0, 0), place=(0, 0), region="6310", coordinates=None, tracking_id="LAP-AAAA0002"):
    return Candidate(tracking_id, region, coordinates, Overlap(*title), Overlap(*body), Overlap(*place))


def test_dice_is_the_share_of_words_in_common():
    assert dice(3, 3, 3) == 1.0
    assert dice(0, 3, 5) == 0.0
    assert dice(2, 4, 6) == 0.4
    assert dice(0, 0, 0) == 0.0


def test_distances_are_great_circle_metres():
    one_degree = distance_meters(Coordinates(0, 100), Coordinates(1, 100))
    assert 111_100 < one_degree < 111_300
    assert distance_meters(BATULICIN, BATULICIN) == 0


@given(st.floats(-11, 6), st.floats(95, 141), st.floats(0, 2 * math.pi), st.floats(0, NEARBY_METERS))
def test_the_box_holds_every_point_within_the_radius(lat, lon, bearing, meters):
    centre = Coordinates(lat, lon)
    d_lat = math.degrees(meters * math.cos(bearing) / 6_371_008.8)
    d_lon = math.degrees(meters * math.sin(bearing) / 6_371_008.8) / math.cos(math.radians(lat))
    point = Coordinates(lat + d_lat, lon + d_lon)
    west, south, east, north = bounding_box(centre, NEARBY_METERS)
    assert west <= point.longitude <= east and south <= point.latitude <= north


def test_a_tsquery_quotes_each_word_as_a_lexeme(migrated_url):
    query = tsquery(frozenset({"jalan", "jum'at", "a\\b"}), "|")
    assert query == "'a\\\\b' | 'jalan' | 'jum''at'"
    with psycopg.connect(migrated_url) as conn:
        assert conn.execute("SELECT %s::tsquery::text", (query,)).fetchone()[0] == "'a\\\\b' | 'jalan' | 'jum''at'"


def test_similar_text_alone_is_a_reason():
    m = match(WORDS, "6310", None, candidate(title=(3, 2), body=(6, 4)))
    assert m.reasons == (Reason.SIMILAR_TEXT,)
    assert m.text_similarity == round(max(4 / 6, (4 / 6 + 2 / 3) / 2), 3)
    assert m.distance_meters is None


def test_a_matching_title_lifts_the_text_but_a_different_one_does_not_sink_it():
    same_title = match(WORDS, "", None, candidate(title=(3, 3), body=(12, 4)))
    other_title = match(WORDS, "", None, candidate(title=(3, 0), body=(12, 4)))
    assert same_title.text_similarity > other_title.text_similarity == round(8 / 18, 3)


def test_a_place_within_500_m_is_a_reason_and_nearer_scores_higher():
    near = match(WORDS, "6310", BATULICIN, candidate(coordinates=Coordinates(-3.4495, 115.99)))
    farther = match(WORDS, "6310", BATULICIN, candidate(coordinates=Coordinates(-3.4460, 115.99)))
    assert near.reasons == farther.reasons == (Reason.NEARBY,)
    assert near.score > farther.score
    assert match(WORDS, "6310", BATULICIN, candidate(coordinates=Coordinates(-3.4450, 115.99))) is None  # 556 m


def test_a_similar_location_text_counts_only_in_the_same_region():
    assert match(WORDS, "6310", None, candidate(place=(5, 4))).reasons == (Reason.SAME_PLACE_TEXT,)
    assert match(WORDS, "6310", None, candidate(place=(5, 4), region="6371")) is None
    assert match(WORDS, "", None, candidate(place=(5, 4), region="")) is None


def test_an_unrelated_report_is_no_candidate():
    assert match(WORDS, "6310", BATULICIN, candidate(title=(3, 0), body=(10, 1), place=(4, 0),
                                                     coordinates=Coordinates(-3.40, 115.99))) is None


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_ranked_is_best_first_then_nearest(limit):
    far = match(WORDS, "6310", BATULICIN, candidate(title=(3, 3), body=(6, 6), tracking_id="LAP-AAAA0003"))
    near = match(WORDS, "6310", BATULICIN, candidate(title=(3, 3), body=(6, 6), tracking_id="LAP-AAAA0004",
                                                     coordinates=BATULICIN))
    place = match(WORDS, "6310", None, candidate(place=(5, 5), tracking_id="LAP-AAAA0002"))
    assert [m.tracking_id for m in ranked([place, far, near], limit)] == [
        "LAP-AAAA0004", "LAP-AAAA0003", "LAP-AAAA0002"][:limit]
