"""A report's attachments: recognised by their content, bounded, stored with the report and given only to
those who may see it. The rules alone, then through a real gRPC server and PostgreSQL."""

import hashlib
import unicodedata

import grpc
import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake import attachments, grpc_api
from services.intake.domain import AttachmentFile
from services.intake.service import IntakeService
from services.plumbing import channels, identity
from services.plumbing.errors import InvalidArgument
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from tests.intake.reports import (JPEG, PDF, PNG, PORTAL, WEBP, attachment, field_violation, get, publish, published,
                                  refused, report_request, reporter, row_counts, submit)
from tests.support import IDENTITY_KEY

MiB = 1024 * 1024
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"%PDF-", b"RIFF")


def upload(content: bytes, filename: str = "") -> pb.AttachmentUpload:
    return pb.AttachmentUpload(filename=filename, content=content)


def stored_attachments(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.attachments").fetchone()[0]


@pytest.mark.parametrize("content, kind", [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp"),
                                           (PDF, "application/pdf")])
def test_the_kind_of_a_file_is_read_from_its_first_bytes(content, kind):
    assert attachments.content_type(content) == kind


@pytest.mark.parametrize("content", [b"hello", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a" + bytes(20),
                                     b"RIFF\x00\x00\x00\x00WAVEfmt ", b"RIFF", b"\xff\xd8", b"MZ\x90\x00",
                                     b" %PDF-1.7", b"PK\x03\x04"])
def test_other_kinds_of_file_are_none_intake_keeps(content):
    assert attachments.content_type(content) is None


@given(content=st.binary(max_size=64).filter(lambda b: not b.startswith(SIGNATURES)))
def test_content_without_a_known_signature_is_always_refused(content):
    with pytest.raises(InvalidArgument) as e:
        attachments.check_attachment(AttachmentFile("foto.jpg", content), 1)
    assert e.value.field == "attachments[0]"


@pytest.mark.parametrize("typed, kept", [
    ("foto.jpg", "foto.jpg"), ("  Foto Jalan.JPG ", "Foto Jalan.JPG"), (r"C:\Users\siti\Desktop\foto.jpg", "foto.jpg"),
    ("../../etc/passwd", "passwd"), ("/tmp/", ""), ("..", ""), ("lapor\x00an.pdf", "laporan.pdf"),
    ("line\nbreak.png", "linebreak.png"), ("gambar\u202egpj.exe", "gambargpj.exe"), ("", ""),
])
def test_a_filename_keeps_its_base_name_without_control_or_format_characters(typed, kept):
    assert attachments.clean_filename(typed) == kept


@given(name=st.text(max_size=300))
def test_a_kept_filename_is_one_clean_line_without_folders(name):
    try:
        kept = attachments.check_attachment(AttachmentFile(name, PNG), 3).filename
    except InvalidArgument as e:
        assert e.field == "attachments[2].filename"
        return
    assert 0 < len(kept) <= 200 and "/" not in kept and "\\" not in kept and kept == kept.strip()
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in kept)


def test_a_file_without_a_name_is_named_for_its_number_and_kind():
    checked = attachments.check_attachments((AttachmentFile("", PNG), AttachmentFile("..", PDF)))
    assert [(f.filename, f.content_type) for f in checked] == [("lampiran-1.png", "image/png"),
                                                              ("lampiran-2.pdf", "application/pdf")]


@pytest.mark.parametrize("files, field, reason", [
    ((AttachmentFile("a.png", PNG),) * 6, "attachments", "at most 5 files"),
    ((AttachmentFile("a.png", PNG), AttachmentFile("b.png", b"")), "attachments[1]", "must not be empty"),
    ((AttachmentFile("a.png", PNG + bytes(5 * MiB - len(PNG) + 1)),), "attachments[0]", "at most 5 MiB"),
    ((AttachmentFile("catatan.jpg", b"bukan gambar"),), "attachments[0]",
     "must be a JPEG, PNG or WebP image or a PDF"),
    ((AttachmentFile("x" * 197 + ".png", PNG),), "attachments[0].filename", "at most 200 characters"),
])
def test_refused_files_name_the_one_at_fault(files, field, reason):
    with pytest.raises(InvalidArgument) as e:
        attachments.check_attachments(files)
    assert (e.value.field, e.value.reason) == (field, reason)


def test_five_files_of_five_mebibytes_and_names_of_two_hundred_characters_are_kept():
    files = (AttachmentFile("x" * 196 + ".png", PNG + bytes(5 * MiB - len(PNG))),) * 5
    assert len(attachments.check_attachments(files)) == 5


@pytest.fixture
def big_stub(stub, serve):
    """The intake server through a channel that takes answers as large as the server sends."""
    channel = grpc.insecure_channel(serve.addresses["intake"],
                                    options=[("grpc.max_receive_message_length", 32 * MiB)])
    yield intake_pb2_grpc.IntakeServiceStub(channel)
    channel.close()


def test_attachments_are_stored_with_the_report_and_listed_on_it(stub, database_url):
    tracking_id = submit(stub, attachments=[upload(JPEG, "jalan.jpg"), upload(PNG, "surat.pdf"), upload(WEBP),
                                            upload(PDF, "C:\\dokumen\\surat.pdf")])
    listed = get(stub, tracking_id).attachments
    assert [(a.id, a.filename, a.content_type, a.size) for a in listed] == [
        ("1", "jalan.jpg", "image/jpeg", len(JPEG)), ("2", "surat.pdf", "image/png", len(PNG)),
        ("3", "lampiran-3.webp", "image/webp", len(WEBP)), ("4", "surat.pdf", "application/pdf", len(PDF))]
    got = attachment(stub, tracking_id, "2", reporter(tracking_id))
    assert (got.info.content_type, got.info.filename, got.content) == ("image/png", "surat.pdf", PNG)
    with psycopg.connect(database_url) as conn:
        digests = [bytes(r[0]) for r in conn.execute("SELECT sha256 FROM intake.attachments ORDER BY number")]
    assert digests == [hashlib.sha256(c).digest() for c in (JPEG, PNG, WEBP, PDF)]


def test_five_files_of_five_mebibytes_go_through_and_come_back_whole(big_stub):
    files = [PNG + bytes([i]) * (5 * MiB - len(PNG)) for i in range(5)]
    tracking_id = submit(big_stub, attachments=[upload(f, f"foto-{i}.png") for i, f in enumerate(files)])
    assert [a.size for a in get(big_stub, tracking_id).attachments] == [5 * MiB] * 5
    assert attachment(big_stub, tracking_id, "5").content == files[4]


@pytest.mark.parametrize("files, field", [
    ([upload(PNG, "a.png"), upload(b"ini hanya teks, bukan foto\n", "foto.jpg")], "attachments[1]"),
    ([upload(PNG, "a.png")] * 6, "attachments"),
    ([upload(b"", "kosong.png")], "attachments[0]"),
    ([upload(b"<html><script>alert(1)</script>", "halaman.pdf")], "attachments[0]"),
])
def test_a_refused_attachment_refuses_the_submission_and_stores_nothing(stub, database_url, files, field):
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, stub.SubmitReport, report_request(attachments=files),
                    metadata=PORTAL)
    assert field_violation(error) == field
    assert row_counts(database_url) == {"reports": 0, "reporters": 0, "timeline": 0, "outbox": 0}
    assert stored_attachments(database_url) == 0


def test_a_six_mebibyte_file_reaches_intake_and_is_refused_as_too_big(stub, database_url):
    error = refused(grpc.StatusCode.INVALID_ARGUMENT, stub.SubmitReport,
                    report_request(attachments=[upload(JPEG + bytes(6 * MiB), "foto.jpg")]), metadata=PORTAL)
    assert (field_violation(error), error.details()) == ("attachments[0]", "attachments[0]: at most 5 MiB")
    assert row_counts(database_url)["reports"] == stored_attachments(database_url) == 0


def test_a_repeated_submission_stores_its_attachments_once(stub, database_url):
    first = submit(stub, attachments=[upload(PNG, "a.png")])
    assert submit(stub, attachments=[upload(PNG, "a.png"), upload(PDF, "b.pdf")]) == first
    assert stored_attachments(database_url) == 1


def test_attachments_are_never_published(stub):
    tracking_id = publish(stub, attachments=[upload(PNG, "a.png")])
    public = published(stub, tracking_id)
    assert "attachments" not in pb.PublishedReport.DESCRIPTOR.fields_by_name
    assert b"a.png" not in public.SerializeToString()


def test_service_channels_take_messages_as_large_as_the_setting_allows(stub, serve):
    channel = channels.connect(serve.addresses["intake"], identity.ServiceSigner("sla", IDENTITY_KEY))
    through_channel = intake_pb2_grpc.IntakeServiceStub(channel)
    content = PNG + bytes(5 * MiB - len(PNG))  # more than gRPC's default of 4 MiB
    tracking_id = submit(through_channel, attachments=[upload(content)])
    assert attachment(through_channel, tracking_id).content == content
    channel.close()


def test_the_message_size_limit_is_a_setting(serve, pool, clock, monkeypatch):
    monkeypatch.setenv("SP4N_GRPC_MAX_MESSAGE_BYTES", str(MiB))
    small = intake_pb2_grpc.IntakeServiceStub(serve("small", grpc_api.register(IntakeService(pool=pool, clock=clock))))
    request = report_request(attachments=[upload(PNG + bytes(2 * MiB))])
    refused(grpc.StatusCode.RESOURCE_EXHAUSTED, small.SubmitReport, request, metadata=PORTAL)
    channel = channels.connect(serve.addresses["small"], identity.ServiceSigner("portal", IDENTITY_KEY))
    refused(grpc.StatusCode.RESOURCE_EXHAUSTED, intake_pb2_grpc.IntakeServiceStub(channel).SubmitReport, request)
    channel.close()
