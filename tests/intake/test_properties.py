"""Properties of submission over generated requests, through a real gRPC server and PostgreSQL:
whatever arrives is either accepted with a well-formed tracking ID or refused as INVALID_ARGUMENT
naming a field, and a refusal writes nothing."""

import re
import uuid
from datetime import datetime, timezone

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import PORTAL, T0, at, field_violation, get, row_counts

TRACKING_ID = re.compile(r"LAP-[0-9A-HJKMNP-TV-Z]{8}")
FRESH = "fresh"  # replaced by a new key in the test: the database is not emptied between examples
FIELDS = {"idempotency_key", "channel", "type", "title", "description", "category", "region_code",
          "location_text", "reporter", "reporter.name", "reporter.phone", "reporter.email", "language",
          "incident_date", "has_location", "latitude", "longitude", "suggested_agency_id"}


# Characters a person types: no control characters, separators only inside the text.
typed = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
visible = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"))


def typed_text(low: int, high: int):
    return st.builds(lambda first, middle, last: first + middle + last,
                     visible, st.text(typed, min_size=max(0, low - 2), max_size=high - 2), visible)


VALID = {
    "idempotency_key": st.just(FRESH),
    "channel": st.sampled_from(["web", "sms", "x", "app", "open311", "agency"]),
    "type": st.sampled_from([1, 2, 3]),
    "title": typed_text(5, 150),
    "description": typed_text(10, 400),
    "category": st.sampled_from(["", "infrastruktur", "kesehatan", "administrasi-kependudukan"]),
    "region_code": st.sampled_from(["", "63", "6310", "6371", "31", "3171"]),
    "location_text": st.text(typed, max_size=300),
    "anonymous": st.booleans(),
    "confidential": st.booleans(),
    "name": st.text(typed, max_size=120),
    "phone": st.from_regex(r"(\+62|62|0)8[0-9]{7,12}", fullmatch=True),
    "email": st.from_regex(r"[a-z0-9._]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
    "language": st.sampled_from(["", "id", "en", "EN"]),
    "incident_date": st.one_of(st.none(), st.datetimes(datetime(2000, 1, 2), T0.replace(tzinfo=None),
                                                       timezones=st.just(timezone.utc)).map(at)),
    "location": st.one_of(st.just((False, 0.0, 0.0)),
                          st.tuples(st.just(True), st.floats(-11, 6), st.floats(95, 141.1))),
    "suggested_agency_id": st.sampled_from(["", "tanah-bumbu-pupr", "kemenkes"]),
}
ANYTHING = {
    "idempotency_key": st.one_of(st.just(""), st.text(min_size=201, max_size=210)),
    "channel": st.one_of(st.sampled_from(["", "fax", " WEB "]), st.text(max_size=8)),
    "type": st.integers(-5, 1000),
    "title": st.text(max_size=200),
    "description": st.one_of(st.text(max_size=20), st.text(min_size=4990, max_size=5010)),
    "category": st.text(max_size=110),
    "region_code": st.one_of(st.text("0123456789", max_size=5), st.text(max_size=4)),
    "location_text": st.text(max_size=320),
    "name": st.text(max_size=130),
    "phone": st.one_of(st.sampled_from(["", "0812-3456-7890", "+62 812 3456 7890", "0212345678", "08"]),
                       st.text(max_size=20)),
    "email": st.one_of(st.emails(), st.sampled_from(["", "siti@contoh", "siti.contoh.id"]), st.text(max_size=30)),
    "language": st.text(max_size=3),
    "incident_date": st.builds(Timestamp, seconds=st.integers(-2**40, 2**40), nanos=st.integers(-5, 10**9 + 5)),
    "location": st.tuples(st.booleans(), st.floats(), st.floats()),
    "suggested_agency_id": st.text(max_size=110),
}


@st.composite
def requests(draw) -> pb.SubmitReportRequest:
    """A plausible submission with up to three of its fields replaced by anything at all."""
    fields = {name: draw(strategy) for name, strategy in VALID.items()}
    for name in draw(st.sets(st.sampled_from(sorted(ANYTHING)), max_size=3)):
        fields[name] = draw(ANYTHING[name])
    reporter = pb.Reporter(name=fields.pop("name"), phone=fields.pop("phone"), email=fields.pop("email"))
    fields["has_location"], fields["latitude"], fields["longitude"] = fields.pop("location")
    if fields["incident_date"] is None:
        del fields["incident_date"]
    return pb.SubmitReportRequest(reporter=reporter, **fields)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_a_submission_is_accepted_or_refused_as_invalid_and_a_refusal_writes_nothing(stub, database_url, request):
    if request.idempotency_key == FRESH:
        request.idempotency_key = str(uuid.uuid4())
    before = row_counts(database_url)
    try:
        answer = stub.SubmitReport(request, metadata=PORTAL)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (e.code(), e.details())
        assert field_violation(e) in FIELDS
        event(f"refused: {field_violation(e)}")
        assert row_counts(database_url) == before
        return
    event("accepted")
    assert TRACKING_ID.fullmatch(answer.tracking_id)
    assert row_counts(database_url) == {table: n + 1 for table, n in before.items()}
    report = get(stub, answer.tracking_id)
    assert report.status == pb.REPORT_STATUS_IN_VERIFICATION
    assert report.title == request.title.strip() and 5 <= len(report.title) <= 150


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_submitting_the_same_request_twice_makes_at_most_one_report(stub, database_url, request):
    if request.idempotency_key == FRESH:
        request.idempotency_key = str(uuid.uuid4())
    before = row_counts(database_url)["reports"]
    outcomes = []
    for _ in range(2):
        try:
            answer = stub.SubmitReport(request, metadata=PORTAL)
            outcomes.append((answer.tracking_id, answer.submitted_at))
        except grpc.RpcError as e:
            outcomes.append(e.code())
    assert outcomes[0] == outcomes[1]  # the same report (with a new access code: see test_access)
    assert row_counts(database_url)["reports"] - before == (0 if isinstance(outcomes[0], grpc.StatusCode) else 1)
