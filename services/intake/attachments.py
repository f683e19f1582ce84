"""The rules of the attachments of a report and of an agency's follow-up: how many, how big, and
which kinds of file.

A file's kind is decided from its first bytes alone: the name and any type the sender declared are
not trusted, so a script named "foto.jpg" is refused and a PNG named "surat.pdf" is kept as a PNG.
"""

import re
import unicodedata
from dataclasses import replace

from services.intake.domain import AttachmentFile
from services.plumbing.errors import FailedPrecondition, InvalidArgument

MAX_ATTACHMENTS = 5
MAX_BYTES = 5 * 1024 * 1024
MAX_FILENAME = 200
ATTACHMENT_ID = re.compile(r"[1-9][0-9]{0,3}")  # an attachment's number within its report
MAX_NUMBER = 9999  # the report's own files are 1 to 5; its follow-ups' are numbered on

# The first bytes of each kind of file kept (a WebP file is "RIFF", its size in 4 bytes, then "WEBP").
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))
# The extension of a name made up for a file that came without one.
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}


def content_type(content: bytes) -> str | None:
    """The type of a file from its content; None when it is none of those intake keeps."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for signature, kind in _SIGNATURES if content.startswith(signature)), None)


def clean_filename(value: str) -> str:
    """The name without any folder, control or format characters (a right-to-left override, U+202E,
    can make an ".exe" read as a ".jpg"), trimmed; "" when nothing but dots is left."""
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf")).strip()
    return "" if name.strip(".") == "" else name


def check_attachment(file: AttachmentFile, number: int) -> AttachmentFile:
    """The file with its content type and a clean name (one made up from `number` when it has
    none), or InvalidArgument naming `attachments[number - 1]`."""
    field = f"attachments[{number - 1}]"
    if not file.content:
        raise InvalidArgument(field, "must not be empty")
    if len(file.content) > MAX_BYTES:
        raise InvalidArgument(field, "at most 5 MiB")
    kind = content_type(file.content)
    if kind is None:
        raise InvalidArgument(field, "must be a JPEG, PNG or WebP image or a PDF")
    filename = clean_filename(file.filename)
    if len(filename) > MAX_FILENAME:
        raise InvalidArgument(f"{field}.filename", f"at most {MAX_FILENAME} characters")
    return replace(file, filename=filename or f"lampiran-{number}.{EXTENSIONS[kind]}", content_type=kind)


def check_attachments(files: tuple[AttachmentFile, ...]) -> tuple[AttachmentFile, ...]:
    if len(files) > MAX_ATTACHMENTS:
        raise InvalidArgument("attachments", f"at most {MAX_ATTACHMENTS} files")
    return tuple(check_attachment(f, number) for number, f in enumerate(files, start=1))


def check_room(first: int, files: tuple[AttachmentFile, ...]) -> None:
    """FailedPrecondition when numbering `files` on from `first` would pass MAX_NUMBER (some 2,000
    follow-ups with files on one report)."""
    if files and first + len(files) - 1 > MAX_NUMBER:
        raise FailedPrecondition("the report holds as many attachments as it can")


def attachment_number(attachment_id: str) -> int | None:
    """The number an attachment id names; None when it names none."""
    return int(attachment_id) if ATTACHMENT_ID.fullmatch(attachment_id) else None
