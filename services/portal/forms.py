"""The reporter's forms: what a browser sends, checked and turned into intake requests, with a
message for each field that cannot be accepted (in the request's language, see i18n).

Intake is the authority on every rule; the portal checks what a person can get wrong in the
form so that all the messages show at once, and translates intake's refusal of a field when
intake finds more (a phone number that is not a mobile number, a file that is not an image).
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from flask import request
from google.protobuf import timestamp_pb2

from services.plumbing import categories
from services.portal import regions
from services.portal.i18n import N_, _, current
from services.portal.sessions import Sessions
from sp4n.intake.v1 import intake_pb2

CHANNEL = "web"

TYPES = {  # form value: (report type, label)
    "pengaduan": (intake_pb2.REPORT_TYPE_COMPLAINT, N_("Pengaduan")),
    "aspirasi": (intake_pb2.REPORT_TYPE_ASPIRATION, N_("Aspirasi")),
    "permintaan-informasi": (intake_pb2.REPORT_TYPE_INFORMATION_REQUEST, N_("Permintaan informasi")),
}
CATEGORIES = categories.labelled({  # code: label, in the order of the shared codes
    "infrastruktur": N_("Infrastruktur"),
    "kesehatan": N_("Kesehatan"),
    "pendidikan": N_("Pendidikan"),
    "perhubungan": N_("Perhubungan"),
    "lingkungan": N_("Lingkungan hidup"),
    "administrasi-kependudukan": N_("Administrasi kependudukan"),
    "lainnya": N_("Lainnya"),
})

TITLE = (5, 150)
DESCRIPTION = (10, 5000)
MAX_LOCATION = 300
MAX_NAME = 120
BODY = (1, 5000)  # a reply or a completion
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"
# A report form with its files: the files at their limit plus the text fields and multipart framing.
MAX_UPLOAD_BYTES = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES + 256 * 1024
MAX_FILENAME = 200
EARLIEST_INCIDENT = date(2000, 1, 1)
LATEST_ZONE = timezone(timedelta(hours=9))  # WIT: where "today" in Indonesia ends last
WIB = timezone(timedelta(hours=7))
MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_EMAIL = 254

FORM_ERROR = "_form"
FORM_INVALID = N_("Formulir tidak dapat diproses. Muat ulang halaman, lalu kirim kembali laporan Anda.")
SESSION_EXPIRED = N_("Halaman ini sudah terlalu lama dibuka. Periksa isian Anda, lalu kirim kembali.")
CONTACT_REQUIRED = N_("Isi nomor ponsel atau alamat e-mail agar kami dapat mengabarkan perkembangan laporan Anda.")
PHONE_INVALID = N_("Nomor ponsel tidak valid. Contoh: 081234567890 atau +6281234567890.")
WRONG_ACCESS_CODE = N_("Kode akses salah. Periksa kembali kode yang Anda terima saat mengirim laporan.")
EMAIL_INVALID = N_("Alamat e-mail tidak valid. Contoh: nama@contoh.id.")
ATTACHMENT_REFUSED = N_("Lampiran ke-%(n)s tidak dapat diterima. Kirim gambar JPEG, PNG, atau WebP, atau berkas PDF, "
                        "paling besar 5 MiB.")
# What to tell a person when intake refuses a field, by intake's field name: (form field, wording, parameters).
INTAKE_FIELDS = {
    "type": ("type", N_("Pilih jenis laporan."), {}),
    "title": ("title", N_("Judul harus terdiri dari %(low)s sampai %(high)s karakter, dalam satu baris."),
              {"low": TITLE[0], "high": TITLE[1]}),
    "description": ("description", N_("Isi laporan harus terdiri dari %(low)s sampai %(high)s karakter."),
                    {"low": DESCRIPTION[0], "high": DESCRIPTION[1]}),
    "category": ("category", N_("Pilih kategori dari daftar."), {}),
    "region_code": ("region_code", N_("Pilih wilayah dari daftar."), {}),
    "location_text": ("location_text", N_("Lokasi paling banyak %(high)s karakter, dalam satu baris."),
                      {"high": MAX_LOCATION}),
    "incident_date": ("incident_date", N_("Tanggal kejadian harus antara 1 Januari 2000 dan hari ini."), {}),
    "reporter": ("contact", CONTACT_REQUIRED, {}),
    "reporter.name": ("name", N_("Nama paling banyak %(high)s karakter, dalam satu baris."), {"high": MAX_NAME}),
    "reporter.phone": ("phone", PHONE_INVALID, {}),
    "reporter.email": ("email", EMAIL_INVALID, {}),
}
ATTACHMENT_FIELD = re.compile(r"attachments(?:\[(\d+)\])?(?:\..*)?")

TEXT_FIELDS = ("type", "title", "description", "category", "region_code", "location_text", "incident_date", "name",
               "phone", "email")
FLAGS = ("anonymous", "confidential")


def number(value: int) -> str:
    """A whole number as the request's language writes it: 5.000 in Indonesian, 5,000 in English."""
    return f"{value:,}".replace(",", "." if current() == "id" else ",")


@dataclass
class Upload:
    filename: str
    content: bytes


@dataclass
class ReportForm:
    """What was typed (kept to show the form again), the files sent, and the message for each
    refused field."""
    values: dict[str, str] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    attachments: list[Upload] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, account: dict | None = None) -> "ReportForm":
        """A blank form; a signed-in reporter's name and contact filled in."""
        values = dict.fromkeys(TEXT_FIELDS, "")
        if account:
            values.update(name=account["name"], phone=account["phone"], email=account["email"])
        return cls(values=values, flags=dict.fromkeys(FLAGS, False))

    @classmethod
    def parse(cls, data, files, *, today: date) -> "ReportForm":
        """The form from a request's fields and files, checked against `today`; see `errors`."""
        form = cls(values={name: data.get(name, "").strip() for name in TEXT_FIELDS},
                   flags={name: data.get(name) == "ya" for name in FLAGS})
        form._read_attachments(files.getlist("attachments"))
        form._check(today)
        return form

    def _read_attachments(self, files) -> None:
        self.attachments = read_attachments(files, self.errors)

    def _check(self, today: date) -> None:
        v = self.values
        if v["type"] not in TYPES:
            self.errors["type"] = _("Pilih jenis laporan.")
        self._length("title", N_("Judul"), *TITLE)
        self._length("description", N_("Isi laporan"), *DESCRIPTION)
        if v["category"] not in CATEGORIES:
            self.errors["category"] = _("Pilih kategori laporan.")
        if v["region_code"] and v["region_code"] not in regions.of_app():
            self.refused_by_intake("region_code")
        self._length("location_text", N_("Lokasi"), 0, MAX_LOCATION)
        self._check_incident_date(today)
        self._length("name", N_("Nama"), 0, MAX_NAME)
        if not v["phone"] and not v["email"]:
            self.errors["contact"] = _(CONTACT_REQUIRED)

    def _check_incident_date(self, today: date) -> None:
        typed = self.values["incident_date"]
        if not typed:
            return
        day = incident_date(typed)
        if day is None:
            self.errors["incident_date"] = _("Tanggal kejadian tidak valid. Contoh: 16/03/2026.")
        elif not EARLIEST_INCIDENT <= day <= today:
            self.refused_by_intake("incident_date")
        else:
            self.values["incident_date"] = day.isoformat()

    def _length(self, name: str, label: str, low: int, high: int) -> None:
        length = len(self.values[name])
        if low and length == 0:
            self.errors[name] = _("%(label)s wajib diisi.", label=_(label))
        elif length < low:
            self.errors[name] = _("%(label)s minimal %(low)s karakter (sekarang %(length)s).", label=_(label),
                                  low=low, length=length)
        elif length > high:
            self.errors[name] = _("%(label)s maksimal %(high)s karakter (sekarang %(length)s).", label=_(label),
                                  high=number(high), length=number(length))

    def refused_by_intake(self, intake_field: str) -> None:
        """Shows intake's refusal of `intake_field` next to the form field it came from."""
        if attachment_refused(intake_field, self.errors):
            return
        name, wording, params = INTAKE_FIELDS.get(intake_field, (FORM_ERROR, FORM_INVALID, {}))
        self.errors[name] = _(wording, **{k: number(v) for k, v in params.items()})

    def to_request(self, key: str, *, language: str, account_id: str = "") -> intake_pb2.SubmitReportRequest:
        v = self.values
        request = intake_pb2.SubmitReportRequest(
            idempotency_key=key, channel=CHANNEL, type=TYPES[v["type"]][0], title=v["title"],
            description=v["description"], category=v["category"], region_code=v["region_code"],
            location_text=v["location_text"], anonymous=self.flags["anonymous"],
            confidential=self.flags["confidential"], language=language, account_id=account_id,
            reporter=intake_pb2.Reporter(name=v["name"], phone=v["phone"], email=v["email"]),
            attachments=uploads_pb(self.attachments))
        if v["incident_date"]:
            # A day as the reporter names it: its start in WIB, where most reporters live.
            start = timestamp_pb2.Timestamp()
            start.FromDatetime(datetime.combine(date.fromisoformat(v["incident_date"]), time(), WIB))
            request.incident_date.CopyFrom(start)
        return request


def read_attachments(files, errors: dict[str, str]) -> list[Upload]:
    """The files of a form's "attachments" input (a report's or a follow-up's), read up to the limits;
    what breaks them is said in `errors["attachments"]`."""
    uploads = []
    for sent in files:
        if not sent.filename:
            continue  # a file input left empty still sends a part
        content = sent.read(MAX_ATTACHMENT_BYTES + 1)
        name = re.split(r"[/\\]", sent.filename)[-1][-MAX_FILENAME:]
        if len(content) > MAX_ATTACHMENT_BYTES:
            errors["attachments"] = _("Berkas %(name)s lebih besar dari 5 MiB.", name=name)
        elif not content:
            errors["attachments"] = _("Berkas %(name)s kosong.", name=name)
        uploads.append(Upload(name, content))
    if len(uploads) > MAX_ATTACHMENTS:
        errors["attachments"] = _("Lampirkan paling banyak %(n)s berkas.", n=MAX_ATTACHMENTS)
    return uploads


def attachment_refused(intake_field: str, errors: dict[str, str]) -> bool:
    """Whether intake's refused field is one of the attachments; if so, said in `errors["attachments"]`."""
    if match := ATTACHMENT_FIELD.fullmatch(intake_field):
        errors["attachments"] = _(ATTACHMENT_REFUSED, n=int(match.group(1) or 0) + 1)
        return True
    return False


def uploads_pb(uploads: list[Upload]) -> list[intake_pb2.AttachmentUpload]:
    return [intake_pb2.AttachmentUpload(filename=a.filename, content=a.content) for a in uploads]


def incident_date(typed: str) -> date | None:
    """The day a person typed: 2026-03-16 (what a date input sends) or 16/03/2026 (16-03-2026)."""
    try:
        if match := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", typed):
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(typed) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", typed) else None
    except ValueError:
        return None


def today_in_indonesia(now: datetime) -> date:
    """The latest date anywhere in Indonesia at `now`."""
    return now.astimezone(LATEST_ZONE).date()


@dataclass
class TextForm:
    """A form of a few text fields (a reply, an access code, a sign-in), with its messages."""
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data, *names: str, keep_spaces: tuple[str, ...] = ()) -> "TextForm":
        return cls(values={n: data.get(n, "") if n in keep_spaces else data.get(n, "").strip() for n in names})


def reply_form(data) -> TextForm:
    """A reporter's reply to a follow-up, or the details a report sent back for completion asked for."""
    form = TextForm.parse(data, "body")
    length = len(form.values["body"])
    if length < BODY[0]:
        form.errors["body"] = _("Tulis tanggapan Anda.")
    elif length > BODY[1]:
        form.errors["body"] = _("Tanggapan maksimal %(high)s karakter (sekarang %(length)s).",
                                high=number(BODY[1]), length=number(length))
    return form


def access_code_form(data) -> TextForm:
    form = TextForm.parse(data, "access_code")
    if not form.values["access_code"]:
        form.errors["access_code"] = _("Isi kode akses laporan ini.")
    elif len(form.values["access_code"]) > 100:
        form.errors["access_code"] = _(WRONG_ACCESS_CODE)
    return form



def sign_in_form(data) -> TextForm:
    form = TextForm.parse(data, "email", "password", keep_spaces=("password",))
    if not form.values["email"]:
        form.errors["email"] = _("Isi alamat e-mail Anda.")
    if not form.values["password"]:
        form.errors["password"] = _("Isi kata sandi Anda.")
    return form


def registration_form(data) -> TextForm:
    form = TextForm.parse(data, "name", "email", "phone", "password", "password_again",
                          keep_spaces=("password", "password_again"))
    v = form.values
    if not v["name"]:
        form.errors["name"] = _("%(label)s wajib diisi.", label=_("Nama"))
    elif len(v["name"]) > MAX_NAME:
        form.errors["name"] = _("Nama paling banyak %(high)s karakter, dalam satu baris.", high=MAX_NAME)
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s.]+", v["email"]) or len(v["email"]) > MAX_EMAIL:
        form.errors["email"] = _(EMAIL_INVALID)
    if not MIN_PASSWORD <= len(v["password"]) <= MAX_PASSWORD:
        form.errors["password"] = _("Kata sandi harus terdiri dari %(low)s sampai %(high)s karakter.",
                                    low=MIN_PASSWORD, high=MAX_PASSWORD)
    elif v["password"] != v["password_again"]:
        form.errors["password_again"] = _("Kedua kata sandi tidak sama.")
    return form


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
        token, _sep, mac = nonce.partition(".")
        if not token or len(nonce) > 100 or not hmac.compare_digest(mac, self._mac(token)):
            return None
        return f"web-form:{token}"

    def posted_key(self, sessions: Sessions) -> str | None:
        """The posted form's idempotency key; None when its nonce is stale or forged, or when it does not
        carry the CSRF token of the request's session: either way a form to send again."""
        key = self.key(request.form.get("nonce", ""))
        return key if key is not None and sessions.csrf_ok() else None


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
