"""Attachments sent with the report form, and the agency's follow-ups' files, downloaded from the tracking
page, through real HTTP."""

import pytest

from services.portal import forms
from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import LIAISON, forward, row_counts
from tests.portal.conftest import PDF, png
from tests.portal.test_pages import NOTHING, confirmed, enter_code, field_message, page, report_form


@pytest.fixture
def person(visitor):
    return visitor()


def send(person, *files: tuple[str, bytes], **fields):
    return person.post("/laporan", data=report_form(person, **fields),
                       files=[("attachments", (name, content, "application/octet-stream")) for name, content in files])


def attachment_links(person, tracking_id: str) -> dict[str, str]:
    html = page(person.get(f"/lacak/{tracking_id}"))
    return {a.text_content(): a.get("href") for a in html.xpath("//ul[@class='attachments']//a")}


def test_attachments_are_listed_and_downloaded_as_the_type_their_content_shows(person):
    image = png()
    tracking_id, _code = confirmed(person, send(person, ("foto jalan.png", image), ("surat.pdf", PDF),
                                                ("ternyata-gambar.pdf", image)))
    links = attachment_links(person, tracking_id)
    assert list(links) == ["foto jalan.png", "surat.pdf", "ternyata-gambar.pdf"]
    for name, content, content_type in [("foto jalan.png", image, "image/png"), ("surat.pdf", PDF, "application/pdf"),
                                        ("ternyata-gambar.pdf", image, "image/png")]:
        response = person.get(links[name])
        assert response.status_code == 200 and response.content == content
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert name.replace(" ", "%20") in response.headers["Content-Disposition"] \
            or name in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


def test_another_browser_gets_an_attachment_only_with_the_access_code(person, visitor):
    tracking_id, code = confirmed(person, send(person, ("foto.png", png())))
    link = attachment_links(person, tracking_id)["foto.png"]
    stranger = visitor()
    assert stranger.get(link).status_code == 404
    assert enter_code(stranger, tracking_id, code).status_code == 303
    assert stranger.get(link).status_code == 200
    assert stranger.get(link.rsplit("/", 1)[0] + "/99").status_code == 404


def test_a_form_sent_with_the_file_field_left_empty_has_no_attachments(person):
    tracking_id, _code = confirmed(person, send(person, ("", b"")))
    assert attachment_links(person, tracking_id) == {}


def test_a_file_that_is_not_an_image_or_pdf_is_refused_next_to_the_attachments(person, database_url):
    response = send(person, ("foto.png", png()), ("foto.jpg", b"#!/bin/sh\necho bukan gambar\n"))
    assert response.status_code == 400
    assert field_message(response, "attachments").startswith("Lampiran ke-2 tidak dapat diterima.")
    assert "pilih kembali sebelum mengirim" in page(response).get_element_by_id("attachments-hint").text_content()
    assert row_counts(database_url) == NOTHING


def test_at_most_five_files_are_taken(person, database_url):
    response = send(person, *[(f"foto-{n}.png", png()) for n in range(6)])
    assert response.status_code == 400
    assert field_message(response, "attachments") == "Lampirkan paling banyak 5 berkas."
    assert row_counts(database_url) == NOTHING


def test_a_file_over_five_mib_is_refused(person, database_url):
    big = png() + b"\x00" * forms.MAX_ATTACHMENT_BYTES
    response = send(person, ("besar.png", big))
    assert response.status_code == 400
    assert field_message(response, "attachments") == "Berkas besar.png lebih besar dari 5 MiB."
    assert row_counts(database_url) == NOTHING


def test_five_files_of_five_mib_are_taken(person):
    full = png() + b"\x00" * (forms.MAX_ATTACHMENT_BYTES - len(png()))
    tracking_id, _code = confirmed(person, send(person, *[(f"foto-{n}.png", full) for n in range(5)],
                                                ))
    assert len(attachment_links(person, tracking_id)) == 5


@pytest.mark.parametrize("language, heading", [("id", "Lampiran terlalu besar"), ("en", "Attachments too large")])
def test_an_upload_over_the_total_limit_is_refused_in_the_reporters_language(person, database_url, language, heading):
    person.get(f"/?lang={language}")
    response = send(person, *[(f"foto-{n}.png", b"\x00" * forms.MAX_ATTACHMENT_BYTES) for n in range(6)])
    assert response.status_code == 413
    assert page(response).xpath("string(//h1)") == heading
    assert page(response).xpath("//html/@lang") == [language]
    assert row_counts(database_url) == NOTHING



def followed_up_with_files(intake_stub, tracking_id: str, *files: tuple[str, bytes]) -> pb.TimelineEntry:
    """The report forwarded to the agency, which posts a follow-up with `files` (as intake's own tests do)."""
    forward(intake_stub, tracking_id)
    return intake_stub.PostFollowUp(pb.PostFollowUpRequest(
        idempotency_key="fu-1", tracking_id=tracking_id, body="Jalan sudah diperbaiki, foto terlampir.",
        attachments=[pb.AttachmentUpload(filename=name, content=content) for name, content in files]),
        metadata=LIAISON)


def follow_up_links(person, tracking_id: str) -> dict[str, str]:
    html = page(person.get(f"/lacak/{tracking_id}"))
    return {a.text_content(): a.get("href")
            for a in html.xpath("//li[contains(@class, 'entry-follow_up')]//ul[@class='entry-attachments']//a")}


def test_the_follow_ups_files_are_listed_in_the_timeline_and_downloaded(person, intake_stub):
    tracking_id, _code = confirmed(person, send(person, ("foto jalan.png", png())))
    entry = followed_up_with_files(intake_stub, tracking_id, ("sesudah.png", png(4, 4)), ("berita-acara.pdf", PDF))
    assert [a.id for a in entry.attachments] == ["2", "3"]
    links = follow_up_links(person, tracking_id)
    assert list(links) == ["sesudah.png", "berita-acara.pdf"]
    assert list(attachment_links(person, tracking_id)) == ["foto jalan.png"]  # the report's own stay apart
    for name, content, content_type in [("sesudah.png", png(4, 4), "image/png"),
                                        ("berita-acara.pdf", PDF, "application/pdf")]:
        response = person.get(links[name])
        assert response.status_code == 200 and response.content == content
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Cache-Control"] == "no-store"


def test_another_browser_gets_a_follow_ups_file_only_with_the_access_code(person, visitor, intake_stub):
    tracking_id, code = confirmed(person, send(person))
    followed_up_with_files(intake_stub, tracking_id, ("sesudah.png", png()))
    link = follow_up_links(person, tracking_id)["sesudah.png"]
    stranger = visitor()
    assert stranger.get(link).status_code == 404
    assert "sesudah.png" not in stranger.get(f"/lacak/{tracking_id}").text
    assert enter_code(stranger, tracking_id, code).status_code == 303
    assert stranger.get(link).content == png()
