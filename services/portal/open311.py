"""Open311 GeoReport v2 at /open311/v2/: discovery, services (the report categories), their
definitions, service requests (published reports) by filter or id, tokens, and new service
requests from API clients, each as JSON or XML.

What anyone may read is what the public feed shows: published reports only, redacted, never a
confidential report or who reported. Posting needs an API key; a retried POST makes one report.
Each api_key posts at most POSTS_PER_KEY requests in POST_WINDOW (counted in the portal's database,
for every replica); the next is answered with the error 429 and Retry-After until the window ends.
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from datetime import timedelta

import grpc
from flask import Blueprint, current_app, request, url_for
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

from services.plumbing.clock import Clock
from services.plumbing.wire import timestamp
from services.portal import forms
from services.portal import open311_documents as documents
from services.portal.open311_documents import Refused
from services.portal.intake_client import UNAVAILABLE, violation
from services.portal.open311_formats import FORMATS, render
from services.portal.rate_limits import RateLimit
from sp4n.intake.v1 import intake_pb2
from sp4n.sla.v1 import sla_pb2

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
GONE = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)  # no such report, or none it may show
PAGE_SIZE = 100
MAX_CLIENT_KEY = 100
# Every method a client may send (HEAD and OPTIONS Flask answers itself): one the path lacks is a 405
# in the API's own form, with Allow, rather than the site's HTML error page.
OTHER_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"]
RETRY_AFTER_SECONDS = "5"
# A key belongs to one client system (a city's app, a partner's integration), not to one person.
POST_WINDOW = timedelta(minutes=1)
POSTS_PER_KEY = 120


class TooManyRequests(Refused):
    def __init__(self, description: str, retry_after: int):
        super().__init__(429, description)
        self.retry_after = retry_after


def blueprint(*, intake, sla, api_keys: Iterable[str], clock: Clock, token_key: str,
              pool: ConnectionPool, intake_timeout: float = 5.0, extra_timeout: float = 2.0) -> Blueprint:
    """The API over stubs of intake and sla; `api_keys` are the keys that may post service requests,
    `token_key` signs the tokens a POST answers with, `pool` holds the posts counted per key.

    Intake must answer (up to `intake_timeout`); sla's deadlines (`expected_datetime`) are left out
    when it does not answer within `extra_timeout`."""
    bp = Blueprint("open311", __name__)
    keys = tuple(k.strip().encode() for k in api_keys if k.strip())
    tokens = Tokens(token_key)
    posts_per_key = RateLimit(pool=pool, clock=clock, name="open311:key", limit=POSTS_PER_KEY, window=POST_WINDOW)

    def ask_intake(method, message):
        try:
            return method(message, timeout=intake_timeout, wait_for_ready=True)
        except grpc.RpcError as e:
            raise_if_unavailable(e)
            raise

    @bp.before_request
    def check_format_and_jurisdiction():
        fmt = (request.view_args or {}).get("fmt")
        if fmt is not None and fmt not in FORMATS:
            raise Refused(404, "unknown format: ask for .json or .xml")
        jurisdiction = request.values.get("jurisdiction_id", "").strip()
        if jurisdiction and jurisdiction != documents.JURISDICTION_ID:
            raise Refused(404, f"jurisdiction_id {jurisdiction[:60]} not found")

    @bp.after_request
    def readable_from_other_sites(response):
        if request.method in ("GET", "HEAD"):  # public data, never with credentials
            response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @bp.get("/discovery.<fmt>")
    def discovery(fmt: str):
        endpoint = url_for(".discovery", fmt=fmt, _external=True).rsplit("/", 1)[0]
        return render(documents.discovery(endpoint), fmt, root="discovery")

    @bp.get("/services.<fmt>")
    def services(fmt: str):
        return render(documents.services(), fmt, root="services", item="service")

    @bp.get("/services/<service_code>.<fmt>")
    def service_definition(service_code: str, fmt: str):
        return render(documents.service_definition(service_code), fmt, root="service_definition")

    @bp.get("/requests.<fmt>")
    def service_requests(fmt: str):
        ids = documents.requested_ids(request.args)  # overrides every other filter
        reports = published(ids) if ids is not None else listed(documents.query(request.args, clock.now()))
        return render(with_deadlines(reports), fmt, root="service_requests", item="request")

    @bp.get("/requests/<service_request_id>.<fmt>")
    @bp.get("/request/<service_request_id>.<fmt>")  # the path as the Swagger description spells it
    def service_request(service_request_id: str, fmt: str):
        tracking_id = forms.tracking_id(service_request_id)
        reports = published([tracking_id]) if tracking_id else []
        if not reports:
            raise Refused(404, f"service_request_id {service_request_id[:40]} not found")
        return render(with_deadlines(reports), fmt, root="service_requests", item="request")

    @bp.get("/tokens/<token>.<fmt>")
    def token(token: str, fmt: str):
        """A POST answers with the service_request_id at once and a token for it; the token names its
        request by itself, so resolving it asks no service and tells nothing of other reports."""
        if (tracking_id := tokens.tracking_id(token)) is None:
            raise Refused(404, f"token {token[:40]} not found")
        return render([{"service_request_id": tracking_id, "token": token}], fmt, root="service_requests",
                      item="request")

    @bp.post("/requests.<fmt>")
    def post_service_request(fmt: str):
        api_key = request.values.get("api_key", "")
        if not any([hmac.compare_digest(api_key.encode(), key) for key in keys]):
            raise Refused(403, "api_key is missing or not valid")
        if (wait := posts_per_key.spend(api_key)) is not None:
            raise TooManyRequests(f"this api_key has posted its {POSTS_PER_KEY} requests of the minute; "
                                  f"try again in {wait} s", wait)
        key = idempotency_key(api_key, request.values, request.headers.get("Idempotency-Key"))
        try:
            answer = ask_intake(intake.SubmitReport, documents.submission(request.values, key=key))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise Refused(400, documents.refusal(*violation(e))) from None
            raise
        page = url_for("tracking", tracking_id=answer.tracking_id, _external=True)
        notice = (f"Laporan diterima dengan nomor pelacakan {answer.tracking_id} dan kode akses {answer.access_code}. "
                  f"Simpan kode akses ini: dengan kode itu pelapor memantau perkembangan laporan di {page}. "
                  "Laporan yang tidak rahasia tampil di daftar publik setelah diverifikasi dan diteruskan ke instansi.")
        return render([{"service_request_id": answer.tracking_id, "token": tokens.issue(answer.tracking_id),
                        "service_notice": notice}], fmt, root="service_requests", item="request")

    @bp.route("/", methods=OTHER_METHODS, defaults={"rest": ""})
    @bp.route("/<path:rest>", methods=OTHER_METHODS)
    def elsewhere(rest: str):
        """A path or method the API does not have, answered as an API error rather than a page."""
        adapter = current_app.url_map.bind_to_environ(request.environ)
        for method in ("GET", "POST"):
            try:
                endpoint, _ = adapter.match(method=method)
            except HTTPException:
                continue
            if endpoint != request.endpoint:
                raise Refused(405, f"{request.method} is not allowed on {request.path}")
        raise Refused(404, f"{request.path[:100]} not found; see {PREFIX}/discovery.json")

    def published(ids: list[str]) -> list[intake_pb2.PublishedReport]:
        """The published reports among `ids`, in that order; an id not found (or not published) is left out."""
        calls = [intake.GetPublishedReport.future(intake_pb2.GetPublishedReportRequest(tracking_id=i),
                                                  timeout=intake_timeout, wait_for_ready=True) for i in ids]
        reports = []
        for call in calls:
            try:
                reports.append(call.result())
            except grpc.RpcError as e:
                raise_if_unavailable(e)
                if e.code() not in GONE:
                    raise
        return reports

    def listed(query: documents.Query) -> list[intake_pb2.PublishedReport]:
        """The newest published reports matching `query` (as intake's feed orders them), at most 1000."""
        reports = []
        for category in query.categories or ("",):
            found, token = 0, ""
            while found < documents.MAX_RESULTS:
                try:
                    answer = ask_intake(intake.ListPublishedReports, intake_pb2.ListPublishedReportsRequest(
                        category=category, statuses=query.statuses, page_size=PAGE_SIZE, page_token=token,
                        # end_date is the latest time to include; intake's submitted_before is the first to leave out.
                        submitted_after=timestamp(query.start),
                        submitted_before=timestamp(query.end + documents.FINEST_TIME)))
                except grpc.RpcError as e:
                    if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                        raise Refused(400, documents.refusal(*violation(e))) from None
                    raise
                reports.extend(answer.reports)
                found += len(answer.reports)
                if not (token := answer.next_page_token):
                    break
        reports.sort(key=lambda r: (r.published_at.seconds, r.published_at.nanos, r.tracking_id), reverse=True)
        return reports[:documents.MAX_RESULTS]

    def with_deadlines(reports: list[intake_pb2.PublishedReport]) -> list[dict]:
        """The reports as service requests, each open one with the deadline sla holds for it, if any."""
        calls = {r.tracking_id: sla.GetCase.future(sla_pb2.GetCaseRequest(tracking_id=r.tracking_id),
                                                   timeout=extra_timeout)
                 for r in reports if r.status not in documents.CLOSED_STATUSES}
        unanswered = []
        found = []
        for report in reports:
            expected = None
            if (call := calls.get(report.tracking_id)) is not None:
                try:
                    expected = documents.expected_at(call.result())
                except grpc.RpcError as e:
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        unanswered.append(e.code().name)
            found.append(documents.service_request(report, expected))
        if unanswered:
            log.warning("no expected_datetime for %d of %d requests: sla answered %s", len(unanswered),
                        len(reports), unanswered[0])
        return found

    @bp.errorhandler(Refused)
    def refused(error: Refused):
        response = render([{"code": error.code, "description": error.description}], response_format(),
                          root="errors", item="error", status=error.code)
        if error.code == 503:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        elif isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return refused(Refused(error.code or 500, error.description or error.name))

    @bp.errorhandler(Exception)
    def internal_error(error: Exception):
        log.exception("%s %s failed", request.method, request.path)
        return refused(Refused(500, "internal error"))

    return bp


def raise_if_unavailable(error: grpc.RpcError) -> None:
    if error.code() in UNAVAILABLE:
        log.warning("open311: intake answered %s", error.code().name)
        raise Refused(503, "the service is busy; try again shortly") from None


def response_format() -> str:
    """json or xml, as the path asks (json when it asks for neither)."""
    fmt = (request.view_args or {}).get("fmt") or request.path.rsplit(".", 1)[-1]
    return fmt if fmt in FORMATS else "json"


def idempotency_key(api_key: str, values, client_key: str | None) -> str:
    """The submission's key: per API client, the client's Idempotency-Key header if it sends one,
    else a digest of what it posted, so that a retried POST makes one report."""
    client = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    if client_key is not None:
        if not 0 < len(client_key) <= MAX_CLIENT_KEY or not (client_key.isascii() and client_key.isprintable()):
            raise Refused(400, f"Idempotency-Key: 1 to {MAX_CLIENT_KEY} printable ASCII characters")
        return f"open311:{client}:key:{client_key}"
    fields = sorted((name, value) for name in values.keys() if name != "api_key" for value in values.getlist(name))
    digest = hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()
    return f"open311:{client}:sha256:{digest}"


class Tokens:
    """Tokens for posted requests: the tracking ID with a MAC, so only this portal can issue one."""

    def __init__(self, key: str):
        self._key = hmac.new(key.encode(), b"sp4n-open311-token", hashlib.sha256).digest()

    def _mac(self, tracking_id: str) -> str:
        return hmac.new(self._key, tracking_id.encode(), hashlib.sha256).hexdigest()[:24]

    def issue(self, tracking_id: str) -> str:
        return f"{tracking_id}.{self._mac(tracking_id)}"

    def tracking_id(self, token: str) -> str | None:
        """The tracking ID a token names; None if this portal did not issue it."""
        tracking_id, _, mac = token.rpartition(".")
        if forms.tracking_id(tracking_id) != tracking_id or not hmac.compare_digest(mac, self._mac(tracking_id)):
            return None
        return tracking_id
