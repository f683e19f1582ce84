"""The e-mail as it goes over SMTP, read back the way a mail client reads it: what the e-mail is written
with (directly, not with the email package's message objects) must come out as it went in."""

import email
import email.policy
from datetime import datetime, timezone

import pytest

from services.notify.domain import Channel, Notification, Recipient, Status
from services.notify.senders import EmailSender, Mail
from services.plumbing.clock import Clock
from tests.notify.fakes import MAIL_FROM

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


class Stopped(Clock):
    def now(self) -> datetime:
        return NOW


def notification(subject: str, body: str, language: str = "id") -> Notification:
    return Notification("42", "LAP-AAAA0001", "forwarded", Recipient.REPORTER, "", Channel.EMAIL, language, subject,
                        body, Status.PENDING, 1, NOW, None, "")


def written(subject: str, body: str, to=("siti@example.id",)) -> tuple[Mail, email.message.EmailMessage]:
    mail = EmailSender(mailer=None, mail_from=MAIL_FROM, clock=Stopped()).message(
        notification(subject, body), list(to))
    return mail, email.message_from_bytes(mail.data, policy=email.policy.default)


def content(read: email.message.EmailMessage) -> str:
    """The text as a mail client shows it, whatever line ends it came with."""
    return read.get_content().replace("\r\n", "\n")


def test_the_headers_a_mail_client_reads():
    mail, read = written("Laporan LAP-AAAA0001 telah diteruskan", "Yth. Pelapor,\n\nSudah diteruskan.\n")
    assert (mail.mail_from, mail.to) == (MAIL_FROM, ("siti@example.id",))
    assert (read["From"], read["To"], read["Subject"]) == (MAIL_FROM, "siti@example.id",
                                                           "Laporan LAP-AAAA0001 telah diteruskan")
    assert read["Date"].datetime == NOW
    assert read["Message-ID"] == f"<sp4n-notify-42.{int(NOW.timestamp())}@lapor.go.id>"
    assert (read["Auto-Submitted"], read["X-SP4N-Tracking-ID"], read["Content-Language"]) == (
        "auto-generated", "LAP-AAAA0001", "id")
    assert read.get_content_type() == "text/plain" and read.get_content_charset() == "utf-8"
    assert content(read) == "Yth. Pelapor,\n\nSudah diteruskan.\n"
    assert read["Content-Transfer-Encoding"] == "7bit"
    assert all(len(line) <= 78 for line in mail.data.split(b"\r\n"))
    assert b"\r\n" in mail.data and b"\n" not in mail.data.replace(b"\r\n", b"")  # SMTP's line ends only


@pytest.mark.parametrize("subject, body", [
    ("Laporan diteruskan kepada Dinas Perhubungan Kota Bandung — bagian lalu lintas dan angkutan jalan raya",
     "Tindak lanjut: lampu jalan sudah diganti. Terima kasih atas laporan Anda, kami sangat menghargainya "
     "dan akan terus memantau perbaikannya.\n. a line starting with a dot\n"),
    ("Keluhan tentang Pelayanan Rumah Sakit Umum Daerah — ½ hari menunggu ☹", "Naïve café ☕ 日本語\nzweite Zeile\n"),
    ("=?utf-8?q?not_encoded?= text", "=41 is no escape\n\ttab and trailing space \n"),
])
def test_text_beyond_ascii_and_long_lines_come_out_as_they_went_in(subject, body):
    mail, read = written(subject, body)
    assert read["Subject"] == subject
    assert content(read) == body
    assert all(len(line) <= 78 for line in mail.data.split(b"\r\n"))
    assert mail.data.isascii()  # any server can carry it, 8BITMIME or not


def test_the_liaison_officers_are_all_in_one_email():
    officers = ("kabid.jalan@pupr.tanahbumbu.example", "pengaduan@pupr.tanahbumbu.example",
                "sekretariat.dinas.pekerjaan.umum@pupr.tanahbumbu.example")
    mail, read = written("Laporan baru untuk instansi Anda", "Ada laporan baru.\n", to=officers)
    assert mail.to == officers
    assert [a.addr_spec for a in read["To"].addresses] == list(officers)
    assert all(len(line) <= 78 for line in mail.data.split(b"\r\n"))
