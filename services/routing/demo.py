"""Demo data: a few ministries and a national agency, Provinsi Kalimantan Selatan with some of its units,
Kabupaten Tanah Bumbu (WITA) with its units, Kota Banjarmasin, DKI Jakarta, liaison officers, and the
routing rules between them. Loaded at start with SP4N_DEMO_DATA=1, after the reference list of regions.

The directory comes from data/demo_agencies.csv and data/demo_liaison_officers.csv through the same
import as any directory file (so every `make run` exercises it): the directory becomes the demo's,
and loading twice changes nothing."""

from pathlib import Path

from psycopg_pool import ConnectionPool

from services.plumbing.clock import Clock, SystemClock
from services.routing import directory_csv
from services.routing.directory_rules import check_directory
from services.routing.directory_service import DirectoryService, ImportSummary
from services.routing.domain import Agency, RuleDraft
from services.routing.regions import read_regions
from services.routing.rules_service import RuleService

AGENCIES_CSV = Path(__file__).with_name("data") / "demo_agencies.csv"
LIAISON_OFFICERS_CSV = Path(__file__).with_name("data") / "demo_liaison_officers.csv"
TANAH_BUMBU = "kab-tanah-bumbu"
KALSEL = "prov-kalimantan-selatan"

# (category, region, agency): local units first, then the province's, the ministry anywhere else.
RULES: tuple[tuple[str, str, str], ...] = (
    ("infrastruktur", "6310", f"{TANAH_BUMBU}-dinas-pupr"),
    ("kesehatan", "6310", f"{TANAH_BUMBU}-dinas-kesehatan"),
    ("pendidikan", "6310", f"{TANAH_BUMBU}-dinas-pendidikan"),
    ("perhubungan", "6310", f"{TANAH_BUMBU}-dinas-perhubungan"),
    ("lainnya", "6310", f"{TANAH_BUMBU}-diskominfo"),
    ("kesehatan", "63", f"{KALSEL}-dinas-kesehatan"),
    ("pendidikan", "63", f"{KALSEL}-dinas-pendidikan"),  # senior high schools are the province's
    ("lainnya", "63", f"{KALSEL}-diskominfo"),
    ("infrastruktur", "", "kementerian-pupr"),
    ("kesehatan", "", "kementerian-kesehatan"),
    ("pendidikan", "", "kementerian-pendidikan"),
)


def _agencies() -> tuple[Agency, ...]:
    rows, problems = directory_csv.read_agencies(AGENCIES_CSV.read_bytes())
    return check_directory(rows, {r.code: r for r in read_regions()}, reading_problems=problems).agencies


# The demo agencies as the import writes them (parents first, regions and time zones settled).
AGENCIES: tuple[Agency, ...] = _agencies()


def load(pool: ConnectionPool, clock: Clock | None = None) -> ImportSummary:
    """Imports the demo directory, then adds the demo rules that are missing (through the same checks and
    record of changes as a national administrator's); each in a transaction of its own."""
    clock = clock or SystemClock()
    summary = DirectoryService(pool=pool, clock=clock).apply(
        agencies_csv=AGENCIES_CSV.read_bytes(), liaison_officers_csv=LIAISON_OFFICERS_CSV.read_bytes(),
        imported_by="demo")
    RuleService(pool=pool, clock=clock).add_missing([RuleDraft(*rule) for rule in RULES], changed_by="demo")
    return summary
