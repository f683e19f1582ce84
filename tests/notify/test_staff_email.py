"""Staff are e-mailed too: at the addresses of their agency's liaison officers in routing's agency directory
(the national desk's for national administrators), asked when queueing and again when sending, never stored.
A real SMTP server; the directory is a fake routing over gRPC."""

from datetime import timedelta

import psycopg

from tests.notify.fakes import send

PUPR = "kab-tanah-bumbu-dinas-pupr"


def rows(database_url) -> list[dict]:
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM notify.notifications WHERE channel = 'email' ORDER BY id").fetchall()


def test_an_agency_is_emailed_at_its_liaison_officers_addresses_of_the_moment(stub, worker, smtp, directory,
                                                                              database_url):
    send(stub, event="new_assignment", recipient="agency", agency_id=PUPR)
    directory.officers[PUPR] = ["kabid.jalan@pupr.tanahbumbu.example", "pengaduan@pupr.tanahbumbu.example"]
    assert worker.run_once() == 1
    [mail] = smtp.mailbox.messages
    assert mail["To"] == "kabid.jalan@pupr.tanahbumbu.example, pengaduan@pupr.tanahbumbu.example"
    assert mail["Subject"].startswith("Laporan baru untuk instansi Anda")
    assert directory.asked == [PUPR, PUPR]  # when queued, and when sent
    [row] = rows(database_url)
    assert row["status"] == "sent"
    stored = " ".join(str(v) for v in row.values())
    assert "@pupr.tanahbumbu.example" not in stored, "no address is kept"


def test_national_administrators_are_emailed_at_the_national_desk(stub, worker, smtp, directory):
    send(stub, event="deadline_missed", recipient="national_admins", agency_id=PUPR,
         params={"deadline": "tindak lanjut", "agency": "Dinas PUPR"})
    worker.run_once()
    [mail] = smtp.mailbox.messages
    assert mail["To"] == "admin.nasional@lapor.example"
    assert directory.asked == ["nasional", "nasional"]


def test_an_escalation_reaches_the_parent_agencys_officers(stub, worker, smtp):
    send(stub, event="escalation", recipient="agency", agency_id="kab-tanah-bumbu",
         params={"deadline": "tindak lanjut", "agency": "Dinas PUPR Kabupaten Tanah Bumbu"})
    worker.run_once()
    [mail] = smtp.mailbox.messages
    assert mail["To"] == "pengaduan@tanahbumbukab.example"
    assert "Dinas PUPR Kabupaten Tanah Bumbu" in mail.get_content()


def test_an_agency_whose_officers_have_no_address_is_told_in_app_only(stub, directory, database_url):
    directory.officers[PUPR] = []
    got = send(stub, event="new_assignment", recipient="agency", agency_id=PUPR)
    assert got.channel == "in_app" and rows(database_url) == []
    send(stub, event="new_assignment", recipient="agency", agency_id="kota-banjarmasin")  # not in the directory
    assert rows(database_url) == []


def test_staff_email_is_not_queued_when_email_is_not_configured_and_the_directory_is_not_asked(
        make_stub, directory, database_url):
    stub = make_stub(channels=frozenset())
    send(stub, event="new_assignment", recipient="agency", agency_id=PUPR)
    assert rows(database_url) == [] and directory.asked == []


def test_a_directory_outage_holds_up_neither_the_lifecycle_nor_the_email(stub, worker, smtp, directory, clock,
                                                                        database_url):
    directory.failing = True
    got = send(stub, event="new_assignment", recipient="agency", agency_id=PUPR)  # answered, not UNAVAILABLE
    assert got.channel == "in_app"
    [row] = rows(database_url)
    assert row["status"] == "pending"  # queued without knowing the addresses: the delivery asks again
    assert worker.run_once() == 1
    [row] = rows(database_url)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "the agency directory did not give" in row["last_error"]
    directory.failing = False
    clock.advance(timedelta(minutes=2))
    assert worker.run_once() == 1
    assert rows(database_url)[0]["status"] == "sent"
    assert [m["To"] for m in smtp.mailbox.messages] == [
        "pengaduan@pupr.tanahbumbu.example, kasi.jalan@pupr.tanahbumbu.example"]


def test_officers_removed_before_sending_leave_a_dead_letter_not_a_lost_message(stub, worker, smtp, directory,
                                                                                database_url):
    send(stub, event="deadline_approaching", recipient="agency", agency_id=PUPR, params={"deadline": "tindak lanjut"})
    directory.officers[PUPR] = ["not an address"]
    worker.run_once()
    [row] = rows(database_url)
    assert row["status"] == "failed" and "no usable e-mail address" in row["last_error"]
    assert smtp.mailbox.messages == []
