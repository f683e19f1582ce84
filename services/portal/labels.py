"""The words the pages use for what the services send: statuses, timeline entries, deadlines,
notifications and times, in Indonesian."""

from datetime import datetime, timedelta, timezone

from google.protobuf import timestamp_pb2

from sp4n.intake.v1 import intake_pb2

# Reporters read times in WIB; a deadline still ends when its owner's calendar says.
WIB = timezone(timedelta(hours=7), "WIB")
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")

STATUSES = {
    intake_pb2.REPORT_STATUS_IN_VERIFICATION: "Menunggu verifikasi",
    intake_pb2.REPORT_STATUS_NEEDS_COMPLETION: "Perlu dilengkapi pelapor",
    intake_pb2.REPORT_STATUS_ON_HOLD: "Ditunda",
    intake_pb2.REPORT_STATUS_FORWARDED: "Diteruskan ke instansi",
    intake_pb2.REPORT_STATUS_FOLLOWED_UP: "Sudah ditindaklanjuti",
    intake_pb2.REPORT_STATUS_CLOSED: "Selesai",
    intake_pb2.REPORT_STATUS_ARCHIVED: "Diarsipkan",
    intake_pb2.REPORT_STATUS_DUPLICATE: "Duplikat laporan lain",
}
TYPES = {
    intake_pb2.REPORT_TYPE_COMPLAINT: "Pengaduan",
    intake_pb2.REPORT_TYPE_ASPIRATION: "Aspirasi",
    intake_pb2.REPORT_TYPE_INFORMATION_REQUEST: "Permintaan informasi",
}
AUTHORS = {"reporter": "Pelapor", "administrator": "Administrator nasional", "system": "Sistem"}
DEADLINES = {  # by the id of the timer in bpmn/report_lifecycle.bpmn
    "verification_overdue": "Batas verifikasi laporan",
    "completion_expired": "Batas melengkapi laporan",
    "follow_up_overdue": "Batas tindak lanjut instansi",
    "quiet_period_over": "Laporan ditutup otomatis bila tidak ada tanggapan",
}
DEADLINE_STATES = {"met": "terpenuhi", "breached": "terlambat"}  # an open one needs no word
NOTIFICATION_EVENTS = {
    "received": "Laporan diterima",
    "needs_completion": "Laporan perlu dilengkapi",
    "forwarded": "Laporan diteruskan ke instansi",
    "follow_up_posted": "Tindak lanjut baru dari instansi",
    "closed": "Laporan selesai",
    "archived": "Laporan diarsipkan",
    "duplicate": "Laporan ditandai duplikat",
    "deadline_approaching": "Batas waktu segera berakhir",
    "deadline_missed": "Batas waktu terlewati",
}
NOTIFICATION_CHANNELS = {"email": "E-mail", "sms": "SMS", "in_app": "Aplikasi"}
NOTIFICATION_STATUSES = {"pending": "Menunggu dikirim", "sent": "Terkirim", "failed": "Gagal dikirim"}


def status(value: int) -> str:
    return STATUSES.get(value, "Sedang diproses")


def when(value: timestamp_pb2.Timestamp | datetime | None) -> str:
    """'16 Maret 2026, 10.00 WIB'; empty for an unset time."""
    if isinstance(value, timestamp_pb2.Timestamp):
        value = value.ToDatetime(tzinfo=timezone.utc) if value.ByteSize() else None
    if value is None:
        return ""
    local = value.astimezone(WIB)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H.%M} WIB"


def humanize(name: str, known: dict[str, str]) -> str:
    """The label for a name another service sends; a name not yet known still reads as words."""
    return known.get(name) or name.replace("_", " ").capitalize()


def entry_heading(entry: intake_pb2.TimelineEntry) -> str:
    if entry.kind == "submitted":
        return "Laporan dikirim"
    if entry.kind == "status":
        if entry.status == intake_pb2.REPORT_STATUS_FORWARDED:
            return f"Diteruskan ke {entry.body}" if entry.body else status(entry.status)
        return f"Status: {status(entry.status)}"
    if entry.kind == "follow_up":
        return f"Tindak lanjut dari {entry.author}"
    if entry.kind == "reply":
        return f"Tanggapan {AUTHORS.get(entry.author, entry.author).lower()}"
    if entry.kind == "completion":
        return "Pelapor melengkapi laporan"
    return humanize(entry.kind, {})


def entry_text(entry: intake_pb2.TimelineEntry) -> str:
    """The body worth showing under the heading (a forwarding's body is the agency, already said)."""
    if entry.kind == "status" and entry.status == intake_pb2.REPORT_STATUS_FORWARDED:
        return ""
    return entry.body
