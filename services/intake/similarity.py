"""Candidate duplicates: how alike two reports are, and why. Types and rules only; no I/O.

Words are the lexemes of a report's search document (its public text, stemmed for Indonesian), without
common function words. Two texts are compared by the Dice coefficient of their word sets: the share of
words they have in common, 0 (none) to 1 (the same words). pg_trgm is not used: the embedded PostgreSQL
(pgserver) does not ship it, and stemmed words already catch "berlubang" and "lubang" as one.
"""

import enum
import math
from dataclasses import dataclass
from datetime import timedelta

from services.intake.domain import Coordinates
from services.plumbing.errors import InvalidArgument

WINDOW = timedelta(days=90)  # candidates are submitted at most this long before or after the report
NEARBY_METERS = 500.0
TEXT_THRESHOLD = 0.3  # text at least this alike is a reason on its own
PLACE_TEXT_THRESHOLD = 0.5  # location texts in the same region at least this alike
CANDIDATES_PER_WAY = 500  # each way of finding candidates reads at most this many, newest first
DEFAULT_LIMIT, MAX_LIMIT = 10, 50
# How much the text and the place weigh in the score.
TEXT_WEIGHT, PLACE_WEIGHT = 0.6, 0.4

# Function words and complaint boilerplate that say nothing about what a report is about. PostgreSQL
# stems them as it stems the documents, so they are given here as written.
STOPWORDS = (
    "yang di ke dari dan atau ini itu untuk dengan pada dalam tidak tak belum sudah telah sedang akan ada adalah "
    "juga karena oleh sejak saya aku kami kita mereka ia dia anda kamu beliau bapak ibu pak bu mohon tolong agar "
    "supaya bisa dapat harus sangat lebih masih hanya saja sekali lagi para pun nya bagi hingga sampai tersebut "
    "kepada serta namun tetapi tapi jika kalau bahwa seperti banyak semua setiap tanpa antara terhadap sebagai "
    "yg dgn tdk utk dr sdh blm krn tsb lapor laporan melapor terima kasih"
)


class Reason(enum.Enum):
    SIMILAR_TEXT = "similar_text"
    NEARBY = "nearby"
    SAME_PLACE_TEXT = "same_place_text"


@dataclass(frozen=True)
class Words:
    """A report's words: of its title, of its title and description, of its location text."""
    title: frozenset[str]
    body: frozenset[str]
    place: frozenset[str]


@dataclass(frozen=True)
class Overlap:
    """How many words a candidate has in one part, and how many of them the report has too."""
    size: int
    shared: int


@dataclass(frozen=True)
class Candidate:
    tracking_id: str
    region_code: str
    coordinates: Coordinates | None
    title: Overlap
    body: Overlap
    place: Overlap


@dataclass(frozen=True)
class Match:
    tracking_id: str
    score: float
    reasons: tuple[Reason, ...]
    text_similarity: float
    location_similarity: float
    distance_meters: float | None


def check_limit(value: int) -> int:
    if value < 0 or value > MAX_LIMIT:
        raise InvalidArgument("limit", f"must be between 0 (the default, {DEFAULT_LIMIT}) and {MAX_LIMIT}")
    return value or DEFAULT_LIMIT


def dice(shared: int, size_a: int, size_b: int) -> float:
    """The Dice coefficient of two sets of these sizes sharing `shared` members."""
    return 2 * shared / (size_a + size_b) if size_a + size_b else 0.0


def distance_meters(a: Coordinates, b: Coordinates) -> float:
    """Great-circle distance (haversine, mean Earth radius): within a few metres at these distances."""
    lat_a, lat_b = math.radians(a.latitude), math.radians(b.latitude)
    d_lat, d_lon = lat_b - lat_a, math.radians(b.longitude - a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(lat_a) * math.cos(lat_b) * math.sin(d_lon / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def bounding_box(centre: Coordinates, meters: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a square that holds every point within `meters` of `centre`."""
    d_lat = math.degrees(meters / 6_371_008.8)
    d_lon = d_lat / max(math.cos(math.radians(centre.latitude)), 0.01)
    return centre.longitude - d_lon, centre.latitude - d_lat, centre.longitude + d_lon, centre.latitude + d_lat


def tsquery(words: frozenset[str], operator: str) -> str:
    """A tsquery (text form) for any (`|`) or all (`&`) of `words`, each quoted as a lexeme, not parsed
    again: they are stemmed already."""
    quoted = ("'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in sorted(words))
    return f" {operator} ".join(quoted)


def match(report_words: Words, report_region: str, report_coordinates: Coordinates | None,
          candidate: Candidate) -> Match | None:
    """How alike a candidate is to the report, and why; None when it is not alike enough for any reason."""
    body = dice(candidate.body.shared, len(report_words.body), candidate.body.size)
    title = dice(candidate.title.shared, len(report_words.title), candidate.title.size)
    text = max(body, (body + title) / 2)  # a matching title lifts the score; a different one does not sink it
    same_region = bool(report_region) and candidate.region_code == report_region
    place_text = dice(candidate.place.shared, len(report_words.place), candidate.place.size) if same_region else 0.0
    distance = (distance_meters(report_coordinates, candidate.coordinates)
                if report_coordinates and candidate.coordinates else None)
    reasons = []
    if text >= TEXT_THRESHOLD:
        reasons.append(Reason.SIMILAR_TEXT)
    if distance is not None and distance <= NEARBY_METERS:
        reasons.append(Reason.NEARBY)
    if place_text >= PLACE_TEXT_THRESHOLD:
        reasons.append(Reason.SAME_PLACE_TEXT)
    if not reasons:
        return None
    proximity = 1 - distance / (2 * NEARBY_METERS) if Reason.NEARBY in reasons else 0.0  # 1 here, 0.5 at the edge
    place = max(proximity, 0.8 * place_text)
    score = TEXT_WEIGHT * text + PLACE_WEIGHT * place
    return Match(candidate.tracking_id, round(score, 3), tuple(reasons), round(text, 3), round(place_text, 3),
                 round(distance, 1) if distance is not None else None)


def ranked(matches: list[Match], limit: int) -> list[Match]:
    """The best `limit` matches: highest score first, then nearest, then by tracking ID."""
    far = float("inf")
    return sorted(matches, key=lambda m: (-m.score, m.distance_meters if m.distance_meters is not None else far,
                                          m.tracking_id))[:limit]
