"""Downloading a report's attachment (its own or a follow-up's) from the pages that list them: the
agency console and the reporter's tracking page. Each page asks intake as its own person, and intake
decides who may have the file; the file is then handed over the same way from both.

A file is served as a download of the type intake recognised from its content (never shown inline,
never as a type the sender declared), without caching.
"""

import io
import re
from typing import Callable

from flask import abort, send_file

from services.portal import forms
from sp4n.intake.v1 import intake_pb2

ATTACHMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
SERVED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


def download(tracking_id: str, attachment_id: str,
             fetch: Callable[[intake_pb2.GetAttachmentRequest], intake_pb2.Attachment | None]):
    """The file `fetch` gets from intake (None: not for this person, which is a 404 like a link no page
    makes); `fetch` may also abort with the page's own refusal."""
    if forms.tracking_id(tracking_id) != tracking_id or not ATTACHMENT_ID.fullmatch(attachment_id):
        abort(404)
    found = fetch(intake_pb2.GetAttachmentRequest(tracking_id=tracking_id, attachment_id=attachment_id))
    if found is None:
        abort(404)
    content_type = found.info.content_type if found.info.content_type in SERVED_TYPES else "application/octet-stream"
    return send_file(io.BytesIO(found.content), mimetype=content_type, as_attachment=True,
                     download_name=found.info.filename or attachment_id, etag=False, max_age=0)
