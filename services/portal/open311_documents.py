"""What the Open311 GeoReport v2 API says in SP4N's terms: services are the report categories,
a service request is a published report, and a posted service request is a submission to intake.

Everything here is data in and data out (protobuf messages, dicts); HTTP stays in `open311`.
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from google.protobuf import timestamp_pb2

from services.portal import forms, labels, regions
from sp4n.intake.v1 import intake_pb2
from sp4n.sla.v1 import sla_pb2

CHANNEL = "open311"
JURISDICTION_ID = "lapor.go.id"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When the services or their definitions last changed: clients refresh what they cache when it moves.
CHANGESET = "2026-11-28T00:00:00Z"
CONTACT = "Pengelola SP4N-LAPOR!, Kementerian PANRB"
KEY_SERVICE = "API key untuk mengirim laporan lewat Open311 diberikan oleh pengelola SP4N-LAPOR!."

MAX_DESCRIPTION = 4000  # GeoReport v2's limit on a request's description, both ways
MAX_REQUEST_IDS = 100
MAX_RESULTS = 1000  # GeoReport v2: at most 1000 requests, over at most 90 days
MAX_SPAN = timedelta(days=90)
FINEST_TIME = timedelta(microseconds=1)  # what intake (and PostgreSQL) tell apart

CLOSED_STATUSES = frozenset({intake_pb2.REPORT_STATUS_CLOSED, intake_pb2.REPORT_STATUS_ARCHIVED,
                             intake_pb2.REPORT_STATUS_DUPLICATE})
OPEN_STATUSES = tuple(s for s in intake_pb2.ReportStatus.values()
                      if s not in CLOSED_STATUSES and s != intake_pb2.REPORT_STATUS_UNSPECIFIED)
# The deadline a report is expected to be dealt with by, in order of preference (timer ids in the BPMN model).
EXPECTED_BY = ("follow_up_overdue", "verification_overdue")

YES, NO = "ya", "tidak"
DEFAULT_TYPE = "pengaduan"
_ATTRIBUTE = re.compile(r"attribute\[([^\]]*)\]")

# intake's names for the fields it refuses, as the client sent them.
PARAMETERS = {
    "type": "attribute[type]", "title": "attribute[title]", "description": "description",
    "category": "service_code", "region_code": "attribute[region_code]", "location_text": "address_string",
    "reporter": "email", "reporter.name": "first_name", "reporter.phone": "phone", "reporter.email": "email",
    "latitude": "lat", "longitude": "long", "has_location": "lat", "incident_date": "attribute[incident_date]",
    "submitted_after": "start_date", "submitted_before": "end_date", "statuses": "status",
}


class Refused(Exception):
    """A request the API answers with a GeoReport error: an HTTP status and a description."""

    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


def _choices(values: dict[str, str]) -> list[dict]:
    return [{"key": key, "name": name} for key, name in values.items()]


ATTRIBUTES = (  # the same for every service: what a report has beyond GeoReport's own fields
    {"code": "type", "datatype": "singlevaluelist", "description": "Jenis laporan (bila kosong: pengaduan).",
     "values": _choices({key: label for key, (_, label) in forms.TYPES.items()})},
    {"code": "title", "datatype": "string",
     "description": f"Judul laporan, {forms.TITLE[0]} sampai {forms.TITLE[1]} karakter (bila kosong: baris "
                    "pertama isi laporan)."},
    # Its values, the reference list of regions, are filled in from the portal's list when asked.
    {"code": "region_code", "datatype": "singlevaluelist", "description": "Wilayah kejadian (kode BPS)."},
    {"code": "incident_date", "datatype": "datetime",
     "description": "Waktu kejadian, ISO 8601 dengan zona waktu, mis. 2026-03-16T10:00:00+07:00."},
    {"code": "anonymous", "datatype": "singlevaluelist",
     "description": "Anonim: identitas pelapor tidak ditampilkan kepada instansi maupun publik.",
     "values": _choices({YES: "Ya", NO: "Tidak"})},
    {"code": "confidential", "datatype": "singlevaluelist",
     "description": "Rahasia: laporan tidak pernah dipublikasikan.",
     "values": _choices({YES: "Ya", NO: "Tidak"})},
)
_BY_CODE = {a["code"]: a for a in ATTRIBUTES}


def discovery(endpoint_url: str) -> dict:
    return {"changeset": CHANGESET, "contact": CONTACT, "key_service": KEY_SERVICE,
            "endpoints": [{"specification": SPECIFICATION, "url": endpoint_url, "changeset": CHANGESET,
                           "type": "production", "formats": ["application/json", "text/xml"]}]}


def services() -> list[dict]:
    return [{"service_code": code, "service_name": name, "metadata": True, "type": "realtime"}
            for code, name in forms.CATEGORIES.items()]


def service_definition(service_code: str) -> dict:
    if service_code not in forms.CATEGORIES:
        raise Refused(404, f"service_code {service_code} not found")
    return {"service_code": service_code,
            "attributes": [{"variable": True, "code": a["code"], "datatype": a["datatype"], "required": False,
                            "order": order, "description": a["description"], "values": _values(a)}
                           for order, a in enumerate(ATTRIBUTES, start=1)]}


def _values(attribute: dict) -> list[dict] | None:
    if attribute["code"] == "region_code":
        return [{"key": r.code, "name": r.name} for r in regions.of_app()]
    return attribute.get("values")


# Service requests out: published reports as the public may see them.

def iso(value: timestamp_pb2.Timestamp | datetime | None) -> str | None:
    """A W3C date-time with its offset, in WIB as the portal shows times."""
    if isinstance(value, timestamp_pb2.Timestamp):
        value = value.ToDatetime(tzinfo=timezone.utc) if value.ByteSize() else None
    return value.astimezone(labels.WIB).isoformat(timespec="seconds") if value else None


def expected_at(case: sla_pb2.Case) -> timestamp_pb2.Timestamp | None:
    """When the report's open deadline falls: the agency's follow-up, else verification."""
    for name in EXPECTED_BY:
        open_ = [d for d in case.deadlines if d.name == name and d.state == "open"]
        if open_:
            return max(open_, key=lambda d: d.started_at.ToDatetime()).due_at
    return None


def service_request(report: intake_pb2.PublishedReport, expected: timestamp_pb2.Timestamp | None = None) -> dict:
    """A published report as a GeoReport service request: redacted text, never the reporter."""
    closed = report.status in CLOSED_STATUSES
    category = report.category or "lainnya"
    return {
        "service_request_id": report.tracking_id,
        "status": "closed" if closed else "open",
        "status_notes": labels.status(report.status),
        "service_name": forms.CATEGORIES.get(category) or labels.humanize(category, {}),
        "service_code": category,
        "description": public_description(report.title, report.description),
        "agency_responsible": report.agency_name or None,
        "requested_datetime": iso(report.submitted_at),
        "updated_datetime": iso(report.updated_at) or iso(report.published_at) or iso(report.submitted_at),
        "expected_datetime": None if closed else iso(expected),
        "address": report.location_text or None,
        "lat": report.latitude if report.has_location else None,
        "long": report.longitude if report.has_location else None,
    }


def public_description(title: str, description: str) -> str:
    """Title and description in GeoReport's one field (the title once, when the description begins with it)."""
    text = description if description.startswith(title.rstrip("…")) else f"{title}: {description}"
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION - 1] + "…"


# Queries: GET requests' filters.

@dataclass(frozen=True)
class Query:
    categories: tuple[str, ...]  # empty: every category
    statuses: tuple[int, ...]  # empty: every status
    start: datetime
    end: datetime


def requested_ids(values) -> list[str] | None:
    """The tracking IDs asked for by service_request_id (comma delimited); None when not given."""
    typed = _declared(values, "service_request_id")
    if not typed:
        return None
    if len(typed) > MAX_REQUEST_IDS:
        raise Refused(400, f"service_request_id: at most {MAX_REQUEST_IDS} ids at once")
    ids = [forms.tracking_id(t) for t in typed]
    return list(dict.fromkeys(i for i in ids if i))  # one that cannot be a tracking ID matches nothing


def query(values, now: datetime) -> Query:
    codes = _declared(values, "service_code")
    unknown = [c for c in codes if c not in forms.CATEGORIES]
    if unknown:
        raise Refused(400, f"service_code {unknown[0]} not found")
    names = {s.lower() for s in _declared(values, "status")}
    if names - {"open", "closed"}:
        raise Refused(400, "status must be open, closed or both (comma delimited)")
    statuses = OPEN_STATUSES if names == {"open"} else tuple(CLOSED_STATUSES) if names == {"closed"} else ()
    start, end = date_time(values, "start_date"), date_time(values, "end_date")
    if start and end:
        if end < start:
            raise Refused(400, "end_date must not be before start_date")
        if end - start > MAX_SPAN:
            raise Refused(400, f"start_date to end_date may span at most {MAX_SPAN.days} days")
    elif start:
        end = start + MAX_SPAN
    else:
        end = end or now
        start = end - MAX_SPAN
    return Query(categories=tuple(dict.fromkeys(codes)), statuses=statuses, start=start, end=end)


def _declared(values, name: str) -> list[str]:
    """A filter's values: it may be declared more than once, each time comma delimited."""
    return [part.strip() for value in values.getlist(name) for part in value.split(",") if part.strip()]


def date_time(values, name: str) -> datetime | None:
    text = values.get(name, "").strip()
    return w3c_time(text, name) if text else None


def w3c_time(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise Refused(400, f"{name} must be a W3C date-time with its time zone, e.g. 2026-03-16T10:00:00+07:00")
    return value


# Service requests in: a POST turned into a submission to intake.

def submission(values, *, key: str) -> intake_pb2.SubmitReportRequest:
    """The submission a POSTed service request stands for; Refused (400) for what intake could never accept."""
    code = values.get("service_code", "").strip()
    if not code:
        raise Refused(400, "service_code is required")
    if code not in forms.CATEGORIES:
        raise Refused(400, f"service_code {code} not found")
    attributes = _attributes(values)
    address = values.get("address_string", "").strip()
    lat, long = _coordinate(values, "lat", 90), _coordinate(values, "long", 180)
    if (lat is None) != (long is None):
        raise Refused(400, "lat and long must be given together")
    if lat is None and not address:
        raise Refused(400, "a location is required: lat and long, or address_string"
                           + (" (address_id is not supported)" if values.get("address_id") else ""))
    description = values.get("description", "").strip()
    if not description:
        raise Refused(400, "description is required")
    if len(description) > MAX_DESCRIPTION:
        raise Refused(400, f"description: at most {MAX_DESCRIPTION} characters")
    name = " ".join(part for part in (values.get("first_name", "").strip(), values.get("last_name", "").strip())
                    if part)
    request = intake_pb2.SubmitReportRequest(
        idempotency_key=key, channel=CHANNEL, type=forms.TYPES[attributes.get("type") or DEFAULT_TYPE][0],
        title=attributes.get("title") or title_of(description, forms.CATEGORIES[code]), description=description,
        category=code, region_code=attributes.get("region_code", ""), location_text=address,
        anonymous=attributes.get("anonymous") == YES, confidential=attributes.get("confidential") == YES,
        language="id", reporter=intake_pb2.Reporter(name=name, phone=values.get("phone", "").strip(),
                                                    email=values.get("email", "").strip()),
        has_location=lat is not None, latitude=lat or 0.0, longitude=long or 0.0)
    if incident := attributes.get("incident_date"):
        request.incident_date.FromDatetime(w3c_time(incident, "attribute[incident_date]").astimezone(timezone.utc))
    return request


def title_of(description: str, service_name: str) -> str:
    """The report's title when the client gives none: the description's first line, cut at a word."""
    line = " ".join(description.splitlines()[0].split())
    if len(line) > forms.TITLE[1]:
        line = line[:forms.TITLE[1] - 1].rsplit(" ", 1)[0] + "…"
    return line if len(line) >= forms.TITLE[0] else service_name


def _attributes(values) -> dict[str, str]:
    given = {}
    for name in values.keys():
        if not name.startswith("attribute["):
            continue
        match = _ATTRIBUTE.fullmatch(name)
        attribute = _BY_CODE.get(match.group(1)) if match else None
        if attribute is None:
            raise Refused(400, f"{name} is not an attribute of this service")
        value = values.get(name, "").strip()
        if value and "values" in attribute and value not in {v["key"] for v in attribute["values"]}:
            raise Refused(400, f"{name} must be one of " + ", ".join(v["key"] for v in attribute["values"]))
        if value and attribute["code"] == "region_code" and value not in regions.of_app():
            raise Refused(400, f"{name} must be the BPS code of a province, regency or city (see the service "
                               "definition)")
        if value and attribute["datatype"] == "datetime":
            w3c_time(value, name)
        if value:
            given[attribute["code"]] = value
    return given


def _coordinate(values, name: str, bound: float) -> float | None:
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        raise Refused(400, f"{name} must be a WGS84 coordinate between -{bound:g} and {bound:g}")
    return value


def refusal(field: str, reason: str) -> str:
    """intake's refusal of a field, in the client's parameter names."""
    return f"{PARAMETERS.get(field, field)}: {reason}" if field else reason
