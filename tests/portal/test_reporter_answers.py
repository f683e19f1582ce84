"""The reporter's reply to a follow-up and completion of a report sent back to them, from the
tracking page, through real HTTP; the report is moved along through intake's API as sla and the
agency would."""

import pytest

from sp4n.intake.v1 import intake_pb2
from tests.intake.reports import LIAISON, follow_up, forward, row_counts, set_status
from tests.portal.test_pages import field_message, hidden, hidden_in, page, submitted, text_of


@pytest.fixture
def person(visitor):
    return visitor()


def answer_form(person, tracking_id: str, kind: str) -> dict:
    return hidden(person, f"/lacak/{tracking_id}", action=f"/lacak/{tracking_id}/{kind}")


def followed_up(person, intake_stub) -> str:
    tracking_id = submitted(person)
    forward(intake_stub, tracking_id)
    follow_up(intake_stub, tracking_id, body="Perbaikan dijadwalkan pekan depan.", metadata=LIAISON)
    return tracking_id


def timeline(person, tracking_id: str) -> list[str]:
    html = page(person.get(f"/lacak/{tracking_id}"))
    return [" ".join(e.text_content().split()).split(" WIB ", 1)[1] for e in html.xpath("//ol[@class='timeline']/li")]


def test_a_report_waiting_for_nothing_from_the_reporter_has_no_answer_box(person):
    html = page(person.get(f"/lacak/{submitted(person)}"))
    assert not html.xpath("//textarea[@id='body']")


def test_the_reporter_replies_to_a_follow_up(person, intake_stub):
    tracking_id = followed_up(person, intake_stub)
    html = page(person.get(f"/lacak/{tracking_id}"))
    assert html.xpath("string(//h2[@id='answer-heading'])") == "Tanggapi tindak lanjut"
    form = {**answer_form(person, tracking_id, "tanggapan"), "body": "Sampai sekarang belum diperbaiki."}
    response = person.post(f"/lacak/{tracking_id}/tanggapan", data=form)
    assert (response.status_code, response.headers["Location"]) == (303, f"/lacak/{tracking_id}#riwayat")
    assert timeline(person, tracking_id)[-1] == "Tanggapan pelapor Sampai sekarang belum diperbaiki."
    assert not page(person.get(f"/lacak/{tracking_id}")).xpath("//textarea[@id='body']")  # the agency's turn
    again = person.post(f"/lacak/{tracking_id}/tanggapan", data=form)  # the same form sent twice
    assert again.status_code == 303 and len(timeline(person, tracking_id)) == 4


def test_an_empty_reply_is_told_next_to_the_box(person, intake_stub, database_url):
    tracking_id = followed_up(person, intake_stub)
    before = row_counts(database_url)
    response = person.post(f"/lacak/{tracking_id}/tanggapan",
                           data={**answer_form(person, tracking_id, "tanggapan"), "body": "  "})
    assert response.status_code == 400
    assert field_message(response, "body") == "Tulis tanggapan Anda."
    assert row_counts(database_url) == before


def test_a_reply_without_the_sessions_csrf_token_is_refused_and_kept(person, intake_stub, database_url):
    tracking_id = followed_up(person, intake_stub)
    before = row_counts(database_url)
    response = person.post(f"/lacak/{tracking_id}/tanggapan", data={
        **answer_form(person, tracking_id, "tanggapan"), "csrf_token": "palsu", "body": "Belum diperbaiki."})
    assert response.status_code == 400
    assert page(response).get_element_by_id("body").text_content() == "Belum diperbaiki."
    assert row_counts(database_url) == before


def test_a_stranger_cannot_reply(person, visitor, intake_stub, database_url):
    tracking_id = followed_up(person, intake_stub)
    stranger = visitor()
    fields = {**hidden(stranger, f"/lacak/{tracking_id}", action=f"/lacak/{tracking_id}"),
              "nonce": hidden(stranger)["nonce"], "body": "Saya bukan pelapornya."}
    before = row_counts(database_url)
    response = stranger.post(f"/lacak/{tracking_id}/tanggapan", data=fields)
    assert response.status_code == 403
    assert page(response).xpath("//input[@id='access_code']")
    assert row_counts(database_url) == before


def test_a_reply_to_a_report_not_waiting_for_one_is_told_so(person, intake_stub, database_url):
    tracking_id = followed_up(person, intake_stub)
    form = {**answer_form(person, tracking_id, "tanggapan"), "body": "Belum diperbaiki."}
    set_status(intake_stub, tracking_id, intake_pb2.REPORT_STATUS_CLOSED)  # closed while the page was open
    before = row_counts(database_url)
    response = person.post(f"/lacak/{tracking_id}/tanggapan", data=form)
    assert response.status_code == 409
    assert "Laporan ini sedang tidak menunggu tanggapan Anda." in text_of(response)
    assert row_counts(database_url) == before


def test_the_reporter_completes_a_report_sent_back_to_them(person, intake_stub):
    tracking_id = submitted(person)
    set_status(intake_stub, tracking_id, intake_pb2.REPORT_STATUS_NEEDS_COMPLETION,
               reason="Sebutkan lokasi persisnya.")
    html = page(person.get(f"/lacak/{tracking_id}"))
    assert html.xpath("string(//h2[@id='answer-heading'])") == "Lengkapi laporan"
    response = person.post(f"/lacak/{tracking_id}/kelengkapan", data={
        **hidden_in(person.get(f"/lacak/{tracking_id}"), f"/lacak/{tracking_id}/kelengkapan"),
        "body": "Di depan SDN 2 Batulicin."})
    assert response.status_code == 303
    assert timeline(person, tracking_id)[-1] == "Pelapor melengkapi laporan Di depan SDN 2 Batulicin."
    html = page(person.get(f"/lacak/{tracking_id}"))
    assert html.get_element_by_id("status").text_content().strip() == "Status: Menunggu verifikasi"
