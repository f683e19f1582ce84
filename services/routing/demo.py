"""Demo data: national bodies, Kalimantan Selatan with Kabupaten Tanah Bumbu and its units, DKI Jakarta,
and the routing rules between them. Loaded at start with SP4N_DEMO_DATA=1; loading twice changes nothing."""

from psycopg_pool import ConnectionPool

from services.routing import repository
from services.routing.domain import NATIONAL_DESK, Agency

WIB, WITA = "Asia/Jakarta", "Asia/Makassar"
TANAH_BUMBU = "kab-tanah-bumbu"


def _unit(slug: str, code: str, name: str) -> Agency:
    return Agency(f"{TANAH_BUMBU}-{slug}", code, f"{name} Kabupaten Tanah Bumbu", TANAH_BUMBU, "unit", "6310", WITA)


# Parents come before their children.
AGENCIES: tuple[Agency, ...] = (
    Agency("kementerian-pupr", "KEMENPUPR", "Kementerian Pekerjaan Umum dan Perumahan Rakyat", NATIONAL_DESK.id,
           "ministry", "", WIB),
    Agency("kementerian-kesehatan", "KEMENKES", "Kementerian Kesehatan", NATIONAL_DESK.id, "ministry", "", WIB),
    Agency("kementerian-pendidikan", "KEMENDIKDASMEN", "Kementerian Pendidikan Dasar dan Menengah",
           NATIONAL_DESK.id, "ministry", "", WIB),
    Agency("prov-kalimantan-selatan", "PROV-KALSEL", "Pemerintah Provinsi Kalimantan Selatan", NATIONAL_DESK.id,
           "province", "63", WITA),
    Agency(TANAH_BUMBU, "KAB-TANBU", "Pemerintah Kabupaten Tanah Bumbu", "prov-kalimantan-selatan", "regency",
           "6310", WITA),
    _unit("diskominfo", "DISKOMINFO-TANBU", "Dinas Komunikasi dan Informatika"),
    _unit("dinas-pupr", "DPUPR-TANBU", "Dinas Pekerjaan Umum dan Penataan Ruang"),
    _unit("dinas-kesehatan", "DINKES-TANBU", "Dinas Kesehatan"),
    _unit("dinas-pendidikan", "DISDIK-TANBU", "Dinas Pendidikan"),
    _unit("dinas-perhubungan", "DISHUB-TANBU", "Dinas Perhubungan"),
    Agency("kota-banjarmasin", "KOTA-BJM", "Pemerintah Kota Banjarmasin", "prov-kalimantan-selatan", "city", "6371",
           WITA),
    Agency("prov-dki-jakarta", "PROV-DKI", "Pemerintah Provinsi DKI Jakarta", NATIONAL_DESK.id, "province", "31",
           WIB),
    Agency("kota-jakarta-selatan", "KOTA-JAKSEL", "Pemerintah Kota Administrasi Jakarta Selatan", "prov-dki-jakarta",
           "city", "3171", WIB),
)

# (category, region prefix, agency, priority): local units first, the ministry anywhere else.
RULES: tuple[tuple[str, str, str, int], ...] = (
    ("infrastruktur", "6310", f"{TANAH_BUMBU}-dinas-pupr", 0),
    ("kesehatan", "6310", f"{TANAH_BUMBU}-dinas-kesehatan", 0),
    ("pendidikan", "6310", f"{TANAH_BUMBU}-dinas-pendidikan", 0),
    ("perhubungan", "6310", f"{TANAH_BUMBU}-dinas-perhubungan", 0),
    ("lainnya", "6310", f"{TANAH_BUMBU}-diskominfo", 0),
    ("infrastruktur", "", "kementerian-pupr", 0),
    ("kesehatan", "", "kementerian-kesehatan", 0),
    ("pendidikan", "", "kementerian-pendidikan", 0),
)


def load_into(conn) -> None:
    """Writes the demo agencies and rules in the caller's transaction."""
    repository.ensure_national_desk(conn)
    for agency in AGENCIES:
        repository.put_agency(conn, agency)
    for category, prefix, agency_id, priority in RULES:
        repository.put_rule(conn, category=category, region_prefix=prefix, agency_id=agency_id, priority=priority)


def load(pool: ConnectionPool) -> None:
    """Loads the demo data in a transaction of its own."""
    with pool.connection() as conn, conn.transaction():
        load_into(conn)
