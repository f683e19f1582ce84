"""The REST API's JSON documents: request bodies and query parameters checked and turned into
intake requests, and intake's answers turned into JSON, as services/portal/openapi/ describes them.

The portal checks the shape (types, required and unknown fields, base64, attachment count and size)
and names every field it refuses at once; intake is the authority on the rules of a report and
names the first field it refuses.
"""

import base64
import binascii
import math
from datetime import datetime, timezone

from services.plumbing.wire import timestamp
from services.portal import forms, regions
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.sla.v1 import sla_pb2

CHANNEL = "app"
TYPES = {"complaint": pb.REPORT_TYPE_COMPLAINT, "aspiration": pb.REPORT_TYPE_ASPIRATION,
         "information_request": pb.REPORT_TYPE_INFORMATION_REQUEST}
STATUSES = {pb.ReportStatus.Name(v).removeprefix("REPORT_STATUS_").lower(): v
            for v in pb.ReportStatus.values() if v != pb.REPORT_STATUS_UNSPECIFIED}
MAX_TEXT = 10_000  # far above any of intake's limits: only keeps absurd strings from travelling
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_PAGE_SIZE = 100
MAX_PARAMETER = 500
REPORT_FIELDS = ("type", "title", "description", "incident_date", "region_code", "location_text", "latitude",
                 "longitude", "category", "suggested_agency_id", "anonymous", "confidential", "reporter", "language",
                 "attachments")
REPORTER_FIELDS = ("name", "phone", "email")
ATTACHMENT_FIELDS = ("filename", "content_base64")
FOLLOW_UP_FIELDS = ("body", "attachments")


class Fields:
    """Reads the fields of a JSON object, keeping a message for each that cannot be accepted."""

    def __init__(self, data: dict, *, prefix: str = "", errors: list[tuple[str, str]] | None = None):
        self.errors = [] if errors is None else errors
        self.prefix = prefix
        self.data = data

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def refuse(self, key: str, detail: str) -> None:
        self.errors.append((self.name(key), detail))

    def only(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                self.refuse(key, "is not a field of this request")

    def string(self, key: str, *, required: bool = False, max_length: int = MAX_TEXT) -> str:
        value = self.data.get(key)
        if value is None:
            if required:
                self.refuse(key, "is required")
            return ""
        if not isinstance(value, str):
            self.refuse(key, "must be a string")
            return ""
        if required and not value.strip():
            self.refuse(key, "is required")
        elif len(value) > max_length:
            self.refuse(key, f"at most {max_length} characters")
            return ""
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self.refuse(key, "must be true or false")
            return False
        return value

    def number(self, key: str) -> float | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.refuse(key, "must be a number")
            return None
        return float(value)

    def choice(self, key: str, choices, *, required: bool = False) -> str:
        value = self.string(key, required=required, max_length=100)
        if value and value not in choices:
            self.refuse(key, f"must be one of: {', '.join(choices)}")
            return ""
        return value

    def region(self, key: str) -> str:
        """A region's BPS code from the reference list (GET /regions lists them)."""
        value = self.string(key, max_length=10)
        if value and value not in regions.of_app():
            self.refuse(key, "must be the BPS code of a province, regency or city (see /regions)")
            return ""
        return value

    def time(self, key: str) -> datetime | None:
        value = self.string(key, max_length=40)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.refuse(key, "must be a date and time with its offset, e.g. 2026-03-10T08:00:00+07:00")
            return None
        return moment.astimezone(timezone.utc)

    def nested(self, key: str) -> "Fields | None":
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.refuse(key, "must be an object")
            return None
        return Fields(value, prefix=self.name(key) + ".", errors=self.errors)

    def items(self, key: str, *, max_items: int) -> list["Fields"]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.refuse(key, "must be an array")
            return []
        if len(value) > max_items:
            self.refuse(key, f"at most {max_items} items")
            return []
        found = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.errors.append((f"{self.name(key)}[{i}]", "must be an object"))
            else:
                found.append(Fields(item, prefix=f"{self.name(key)}[{i}].", errors=self.errors))
        return found


def submission(data: dict, *, key: str) -> tuple[pb.SubmitReportRequest, list[tuple[str, str]]]:
    """The intake request for a report's JSON body, and the fields refused (none: the request is good)."""
    fields = Fields(data)
    fields.only(REPORT_FIELDS)
    request = pb.SubmitReportRequest(
        idempotency_key=key, channel=CHANNEL, title=fields.string("title", required=True),
        description=fields.string("description", required=True), category=fields.choice("category", forms.CATEGORIES),
        region_code=fields.region("region_code"), location_text=fields.string("location_text"),
        suggested_agency_id=fields.string("suggested_agency_id", max_length=200),
        anonymous=fields.boolean("anonymous"), confidential=fields.boolean("confidential"),
        language=fields.string("language", max_length=20))
    if kind := fields.choice("type", TYPES, required=True):
        request.type = TYPES[kind]
    if (incident := fields.time("incident_date")) is not None:
        request.incident_date.CopyFrom(timestamp(incident))
    given = [k for k in ("latitude", "longitude") if data.get(k) is not None]
    if len(given) == 1:
        fields.refuse({"latitude": "longitude", "longitude": "latitude"}[given[0]], f"is required with {given[0]}")
    latitude, longitude = fields.number("latitude"), fields.number("longitude")
    if latitude is not None and longitude is not None:
        request.has_location, request.latitude, request.longitude = True, latitude, longitude
    if (reporter := fields.nested("reporter")) is not None:
        reporter.only(REPORTER_FIELDS)
        request.reporter.CopyFrom(pb.Reporter(name=reporter.string("name", max_length=500),
                                              phone=reporter.string("phone", max_length=100),
                                              email=reporter.string("email", max_length=500)))
    request.attachments.extend(_attachments(fields))
    return request, fields.errors


def follow_up(data: dict, *, key: str, tracking_id: str) -> tuple[pb.PostFollowUpRequest, list[tuple[str, str]]]:
    """The intake request for a follow-up's JSON body (its text and any files, as a report takes them),
    and the fields refused."""
    fields = Fields(data)
    fields.only(FOLLOW_UP_FIELDS)
    request = pb.PostFollowUpRequest(idempotency_key=key, tracking_id=tracking_id,
                                     body=fields.string("body", required=True))
    request.attachments.extend(_attachments(fields))
    return request, fields.errors


def _attachments(fields: Fields) -> list[pb.AttachmentUpload]:
    found = []
    for attachment in fields.items("attachments", max_items=MAX_ATTACHMENTS):
        attachment.only(ATTACHMENT_FIELDS)
        filename = attachment.string("filename", required=True, max_length=255)
        found.append(pb.AttachmentUpload(filename=filename, content=_content(attachment)))
    return found


def _content(attachment: Fields) -> bytes:
    encoded = attachment.string("content_base64", required=True, max_length=2 * MAX_ATTACHMENT_BYTES)
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        attachment.refuse("content_base64", "must be base64 (RFC 4648, with padding)")
        return b""
    if encoded and not content:
        attachment.refuse("content_base64", "is empty")
    elif len(content) > MAX_ATTACHMENT_BYTES:
        attachment.refuse("content_base64", "at most 5 MiB once decoded")
    return content


def body_text(data: dict, name: str, *, max_length: int = MAX_TEXT) -> tuple[str, list[tuple[str, str]]]:
    """The one text field `name` of a body such as {"body": "..."} (a reply, a follow-up, a supporter)."""
    fields = Fields(data)
    fields.only((name,))
    return fields.string(name, required=True, max_length=max_length), fields.errors


def statuses(values: list[str], errors: list[tuple[str, str]]) -> list[int]:
    """Report statuses from `status` parameters, each one status or several separated by commas."""
    found = []
    for value in (v.strip() for given in values for v in given.split(",")):
        if value not in STATUSES:
            errors.append(("status", f"must be one of: {', '.join(STATUSES)}"))
            return []
        found.append(STATUSES[value])
    return found


def page_size(value: str | None, errors: list[tuple[str, str]]) -> int:
    if value is None:
        return 0
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE_SIZE):
        errors.append(("page_size", f"a whole number from 1 to {MAX_PAGE_SIZE}"))
        return 0
    return int(value)


def parameter(args, name: str, errors: list[tuple[str, str]]) -> str:
    value = args.get(name, "")
    if len(value) > MAX_PARAMETER:
        errors.append((name, f"at most {MAX_PARAMETER} characters"))
        return ""
    return value


# Answers

def moment(value) -> str:
    """A protobuf Timestamp as RFC 3339 in UTC."""
    return value.ToDatetime(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")


def _name(enum, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix).lower()


def report_type(value: int) -> str:
    return _name(pb.ReportType, value, "REPORT_TYPE_")


def report_status(value: int) -> str:
    return _name(pb.ReportStatus, value, "REPORT_STATUS_")


def receipt(answer: pb.SubmitReportResponse, tracking_url: str) -> dict:
    return {"tracking_id": answer.tracking_id, "access_code": answer.access_code,
            "submitted_at": moment(answer.submitted_at), "tracking_url": tracking_url}


def entry(e: pb.TimelineEntry, *, public: bool = False) -> dict:
    """A timeline entry; a follow-up's files listed unless `public` (the public never sees them)."""
    doc = {"id": e.id, "kind": e.kind, "author": e.author, "body": e.body, "created_at": moment(e.created_at)}
    if e.status != pb.REPORT_STATUS_UNSPECIFIED:
        doc["status"] = report_status(e.status)
    if e.attachments and not public:
        doc["attachments"] = [attachment_info(a) for a in e.attachments]
    return doc


def attachment_info(a: pb.AttachmentInfo) -> dict:
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}


def _location(report, doc: dict) -> dict:
    if report.has_location:
        doc |= {"latitude": report.latitude, "longitude": report.longitude}
    return doc


def _agency(report, doc: dict) -> dict:
    if report.agency_id:
        doc |= {"agency_id": report.agency_id, "agency_name": report.agency_name}
    return doc


def report(r: pb.Report, deadlines: list[sla_pb2.Deadline] | None) -> dict:
    """A report as its reporter or its agency sees it; deadlines left out when sla did not answer."""
    doc = {"tracking_id": r.tracking_id, "type": report_type(r.type), "title": r.title,
           "description": r.description, "category": r.category, "region_code": r.region_code,
           "location_text": r.location_text, "anonymous": r.anonymous, "confidential": r.confidential,
           "status": report_status(r.status), "channel": r.channel, "language": r.language,
           "submitted_at": moment(r.submitted_at), "published": r.published}
    _location(r, doc)
    _agency(r, doc)
    if r.HasField("incident_date"):
        doc["incident_date"] = moment(r.incident_date)
    if r.published and r.HasField("published_at"):
        doc["published_at"] = moment(r.published_at)
    if r.suggested_agency_id:
        doc["suggested_agency_id"] = r.suggested_agency_id
    if r.reporter_name:
        doc["reporter_name"] = r.reporter_name
    doc["timeline"] = [entry(e) for e in r.timeline]
    doc["attachments"] = [attachment_info(a) for a in r.attachments]
    if deadlines is not None:
        doc["deadlines"] = [deadline(d) for d in deadlines]
    return doc


def deadline(d: sla_pb2.Deadline) -> dict:
    doc = {"name": d.name, "state": d.state, "due_at": moment(d.due_at)}
    if d.owner:
        doc["owner"] = d.owner
    return doc


def summary(s: pb.ReportSummary) -> dict:
    doc = {"tracking_id": s.tracking_id, "type": report_type(s.type), "title": s.title, "category": s.category,
           "region_code": s.region_code, "status": report_status(s.status), "submitted_at": moment(s.submitted_at),
           "updated_at": moment(s.updated_at), "anonymous": s.anonymous, "confidential": s.confidential}
    return _agency(s, doc)


def published(r: pb.PublishedReport, *, with_timeline: bool) -> dict:
    doc = {"tracking_id": r.tracking_id, "type": report_type(r.type), "title": r.title,
           "description": r.description, "category": r.category, "region_code": r.region_code,
           "location_text": r.location_text, "status": report_status(r.status),
           "submitted_at": moment(r.submitted_at), "published_at": moment(r.published_at),
           "updated_at": moment(r.updated_at), "support_count": r.support_count, "anonymous": r.anonymous}
    _location(r, doc)
    _agency(r, doc)
    if with_timeline:
        doc["timeline"] = [entry(e, public=True) for e in r.timeline]
    return doc


def page(items: list[dict], next_page_token: str) -> dict:
    doc = {"reports": items}
    if next_page_token:
        doc["next_page_token"] = next_page_token
    return doc
