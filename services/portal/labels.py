"""The words the pages use for what the services send: statuses, timeline entries, deadlines,
notifications and times. The tables hold Indonesian wordings; the functions give them in the
request's language (services.portal.i18n)."""

from datetime import datetime, timedelta, timezone

from google.protobuf import timestamp_pb2

from services.portal import forms, regions
from services.portal.i18n import N_, _, current
from sp4n.intake.v1 import intake_pb2

# Reporters read times in WIB; a deadline still ends when its owner's calendar says.
WIB = timezone(timedelta(hours=7), "WIB")
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}

STATUSES = {
    intake_pb2.REPORT_STATUS_IN_VERIFICATION: N_("Menunggu verifikasi"),
    intake_pb2.REPORT_STATUS_NEEDS_COMPLETION: N_("Perlu dilengkapi pelapor"),
    intake_pb2.REPORT_STATUS_ON_HOLD: N_("Ditunda"),
    intake_pb2.REPORT_STATUS_FORWARDED: N_("Diteruskan ke instansi"),
    intake_pb2.REPORT_STATUS_FOLLOWED_UP: N_("Sudah ditindaklanjuti"),
    intake_pb2.REPORT_STATUS_CLOSED: N_("Selesai"),
    intake_pb2.REPORT_STATUS_ARCHIVED: N_("Diarsipkan"),
    intake_pb2.REPORT_STATUS_DUPLICATE: N_("Duplikat laporan lain"),
}
TYPES = {
    intake_pb2.REPORT_TYPE_COMPLAINT: N_("Pengaduan"),
    intake_pb2.REPORT_TYPE_ASPIRATION: N_("Aspirasi"),
    intake_pb2.REPORT_TYPE_INFORMATION_REQUEST: N_("Permintaan informasi"),
}
AUTHORS = {"reporter": N_("Pelapor"), "administrator": N_("Administrator nasional"), "system": N_("Sistem")}
DEADLINES = {  # by the id of the timer in bpmn/report_lifecycle.bpmn
    "verification_overdue": N_("Batas verifikasi laporan"),
    "completion_expired": N_("Batas melengkapi laporan"),
    "follow_up_overdue": N_("Batas tindak lanjut instansi"),
    "quiet_period_over": N_("Laporan ditutup otomatis bila tidak ada tanggapan"),
}
DEADLINE_STATES = {"met": N_("terpenuhi"), "breached": N_("terlambat")}  # an open one needs no word
NOTIFICATION_EVENTS = {
    "received": N_("Laporan diterima"),
    "needs_completion": N_("Laporan perlu dilengkapi"),
    "forwarded": N_("Laporan diteruskan ke instansi"),
    "follow_up_posted": N_("Tindak lanjut baru dari instansi"),
    "closed": N_("Laporan selesai"),
    "archived": N_("Laporan diarsipkan"),
    "duplicate": N_("Laporan ditandai duplikat"),
    "deadline_approaching": N_("Batas waktu segera berakhir"),
    "deadline_missed": N_("Batas waktu terlewati"),
    "on_hold": N_("Laporan ditunda"),
    "new_assignment": N_("Laporan baru untuk instansi"),
    "escalation": N_("Laporan dieskalasi"),
}
NOTIFICATION_CHANNELS = {"email": N_("E-mail"), "sms": N_("SMS"), "x": "X", "in_app": N_("Aplikasi")}
NOTIFICATION_STATUSES = {"pending": N_("Menunggu dikirim"), "sending": N_("Sedang dikirim"), "sent": N_("Terkirim"),
                         "failed": N_("Gagal dikirim")}
NOTIFICATION_RECIPIENTS = {"reporter": N_("Pelapor"), "agency": N_("Instansi"),
                           "national_admins": N_("Administrator nasional")}


def status(value: int) -> str:
    return _(STATUSES.get(value, N_("Sedang diproses")))


def report_type(value: int) -> str:
    return _(TYPES[value]) if value in TYPES else ""


def when(value: timestamp_pb2.Timestamp | datetime | None) -> str:
    """'16 Maret 2026, 10.00 WIB' ('16 March 2026, 10:00 WIB' in English); empty for an unset time."""
    if isinstance(value, timestamp_pb2.Timestamp):
        value = value.ToDatetime(tzinfo=timezone.utc) if value.ByteSize() else None
    if value is None:
        return ""
    local = value.astimezone(WIB)
    language = current()
    clock = f"{local:%H.%M}" if language == "id" else f"{local:%H:%M}"
    return f"{local.day} {MONTHS[language][local.month - 1]} {local.year}, {clock} WIB"


def humanize(name: str, known: dict[str, str]) -> str:
    """The label for a name another service sends; a name not yet known still reads as words."""
    return _(known[name]) if name in known else name.replace("_", " ").capitalize()


def entry_heading(entry: intake_pb2.TimelineEntry) -> str:
    if entry.kind == "submitted":
        return _("Laporan dikirim")
    if entry.kind == "status":
        if entry.status == intake_pb2.REPORT_STATUS_FORWARDED:
            return _("Diteruskan ke %(agency)s", agency=entry.body) if entry.body else status(entry.status)
        return _("Status: %(status)s", status=status(entry.status))
    if entry.kind == "follow_up":
        return _("Tindak lanjut dari %(agency)s", agency=entry.author)
    if entry.kind == "reply":
        return _("Tanggapan %(author)s", author=author(entry.author).lower())
    if entry.kind == "completion":
        return _("Pelapor melengkapi laporan")
    return humanize(entry.kind, {})


def author(name: str) -> str:
    """Who wrote a timeline entry: a role in words, or the agency's own name."""
    return _(AUTHORS[name]) if name in AUTHORS else name


def category(code: str) -> str:
    return _(forms.CATEGORIES[code]) if code in forms.CATEGORIES else code


def region(code: str) -> str:
    """A region's name (proper names are not translated; the word for its kind is)."""
    return regions.of_app().name(code)


def entry_text(entry: intake_pb2.TimelineEntry) -> str:
    """The body worth showing under the heading (a forwarding's body is the agency, already said)."""
    if entry.kind == "status" and entry.status == intake_pb2.REPORT_STATUS_FORWARDED:
        return ""
    return entry.body
