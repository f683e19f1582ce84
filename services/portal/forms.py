"""The reporter's forms: what a browser sends, checked and turned into intake requests, with a
message in Indonesian for each field that cannot be accepted.

Intake is the authority on every rule; the portal checks what a person can get wrong in the
form so that all the messages show at once, and translates intake's refusal of a field when
intake finds more (a phone number that is not a mobile number, say).
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from sp4n.intake.v1 import intake_pb2

CHANNEL = "web"

TYPES = {  # form value: (report type, label)
    "pengaduan": (intake_pb2.REPORT_TYPE_COMPLAINT, "Pengaduan"),
    "aspirasi": (intake_pb2.REPORT_TYPE_ASPIRATION, "Aspirasi"),
    "permintaan-informasi": (intake_pb2.REPORT_TYPE_INFORMATION_REQUEST, "Permintaan informasi"),
}
CATEGORIES = {
    "infrastruktur": "Infrastruktur",
    "kesehatan": "Kesehatan",
    "pendidikan": "Pendidikan",
    "perhubungan": "Perhubungan",
    "lingkungan": "Lingkungan hidup",
    "administrasi-kependudukan": "Administrasi kependudukan",
    "lainnya": "Lainnya",
}
REGIONS = {  # BPS codes
    "63": "Provinsi Kalimantan Selatan",
    "6310": "Kabupaten Tanah Bumbu",
    "6371": "Kota Banjarmasin",
    "31": "Provinsi DKI Jakarta",
    "3171": "Kota Administrasi Jakarta Selatan",
}

TITLE = (5, 150)
DESCRIPTION = (10, 5000)
MAX_LOCATION = 300
MAX_NAME = 120

# What to tell a person when intake refuses a field, by intake's field name: (form field, message).
FORM_ERROR = "_form"
INTAKE_FIELDS = {
    "type": ("type", "Pilih jenis laporan."),
    "title": ("title", f"Judul harus terdiri dari {TITLE[0]} sampai {TITLE[1]} karakter, dalam satu baris."),
    "description": ("description", f"Isi laporan harus terdiri dari {DESCRIPTION[0]} sampai "
                                   f"{DESCRIPTION[1]:,} karakter.".replace(",", ".")),
    "category": ("category", "Pilih kategori dari daftar."),
    "region_code": ("region_code", "Pilih wilayah dari daftar."),
    "location_text": ("location_text", f"Lokasi paling banyak {MAX_LOCATION} karakter, dalam satu baris."),
    "reporter": ("contact", "Isi nomor ponsel atau alamat e-mail agar kami dapat mengabarkan perkembangan "
                            "laporan Anda."),
    "reporter.name": ("name", f"Nama paling banyak {MAX_NAME} karakter, dalam satu baris."),
    "reporter.phone": ("phone", "Nomor ponsel tidak valid. Contoh: 081234567890 atau +6281234567890."),
    "reporter.email": ("email", "Alamat e-mail tidak valid. Contoh: nama@contoh.id."),
}
FORM_INVALID = "Formulir tidak dapat diproses. Muat ulang halaman, lalu kirim kembali laporan Anda."

TEXT_FIELDS = ("type", "title", "description", "category", "region_code", "location_text", "name", "phone", "email")
FLAGS = ("anonymous", "confidential")


@dataclass
class ReportForm:
    """What was typed (kept to show the form again) and the message for each refused field."""
    values: dict[str, str] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data) -> "ReportForm":
        """The form from a request's fields, checked; see `errors`."""
        form = cls(values={name: data.get(name, "").strip() for name in TEXT_FIELDS},
                   flags={name: data.get(name) == "ya" for name in FLAGS})
        form._check()
        return form

    def _check(self) -> None:
        v = self.values
        if v["type"] not in TYPES:
            self.errors["type"] = "Pilih jenis laporan."
        self._length("title", "Judul", *TITLE)
        self._length("description", "Isi laporan", *DESCRIPTION)
        if v["category"] not in CATEGORIES:
            self.errors["category"] = "Pilih kategori laporan."
        if v["region_code"] and v["region_code"] not in REGIONS:
            self.errors["region_code"] = INTAKE_FIELDS["region_code"][1]
        self._length("location_text", "Lokasi", 0, MAX_LOCATION)
        self._length("name", "Nama", 0, MAX_NAME)
        if not v["phone"] and not v["email"]:
            self.errors["contact"] = INTAKE_FIELDS["reporter"][1]

    def _length(self, name: str, label: str, low: int, high: int) -> None:
        length = len(self.values[name])
        if low and length == 0:
            self.errors[name] = f"{label} wajib diisi."
        elif length < low:
            self.errors[name] = f"{label} minimal {low} karakter (sekarang {length})."
        elif length > high:
            self.errors[name] = f"{label} maksimal {high:,} karakter (sekarang {length:,}).".replace(",", ".")

    def refused_by_intake(self, intake_field: str) -> None:
        """Shows intake's refusal of `intake_field` next to the form field it came from."""
        name, message = INTAKE_FIELDS.get(intake_field, (FORM_ERROR, FORM_INVALID))
        self.errors[name] = message

    def to_request(self, key: str) -> intake_pb2.SubmitReportRequest:
        v = self.values
        return intake_pb2.SubmitReportRequest(
            idempotency_key=key, channel=CHANNEL, type=TYPES[v["type"]][0], title=v["title"],
            description=v["description"], category=v["category"], region_code=v["region_code"],
            location_text=v["location_text"], anonymous=self.flags["anonymous"],
            confidential=self.flags["confidential"], language="id",
            reporter=intake_pb2.Reporter(name=v["name"], phone=v["phone"], email=v["email"]))


class Nonces:
    """One nonce per form shown, signed so that only nonces this portal issued are accepted.

    The nonce is the submission's idempotency key: sending the form twice makes one report. Its
    random part is also what lets a repeat see the first report's tracking ID, so a browser must
    not be able to pick one of its own."""

    def __init__(self, identity_key: str):
        self._key = hmac.new(identity_key.encode(), b"sp4n-portal-form-nonce", hashlib.sha256).digest()

    def _mac(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        token = secrets.token_urlsafe(18)
        return f"{token}.{self._mac(token)}"

    def key(self, nonce: str) -> str | None:
        """The idempotency key a nonce stands for; None if this portal did not issue it."""
        token, _, mac = nonce.partition(".")
        if not token or len(nonce) > 100 or not hmac.compare_digest(mac, self._mac(token)):
            return None
        return f"web-form:{token}"


_CROCKFORD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")


def tracking_id(typed: str) -> str | None:
    """A tracking ID as intake writes it, from what a person typed (any case, spaces, O for 0,
    I or L for 1, with or without the LAP- prefix); None if it cannot be one."""
    text = re.sub(r"[\s-]", "", typed.upper())
    if text.startswith("LAP") and len(text) == 11:
        text = text[3:]
    text = "LAP-" + text.translate(_CROCKFORD)
    return text if _TRACKING_ID.fullmatch(text) else None
