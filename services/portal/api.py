"""The REST API at /api/v1: JSON for reporters' mobile apps and agencies' own systems, described by
the OpenAPI document in services/portal/openapi/ (served at /api/v1/openapi.json).

An app key submits reports, and acts for a reporter who proves access to a report with its access
code (X-Access-Code). An agency key acts as a liaison officer of its agency. The public feed, a
published report and the reference lists need no key. Every error is a problem document
(api_problems); intake must answer, sla's deadlines are left out when it does not.

Each key has a budget of REQUESTS_PER_KEY requests and SUBMISSIONS_PER_KEY reports a minute, and an
address that presented FAILED_KEYS_PER_ADDRESS keys that are not valid in FAILED_KEY_WINDOW is refused
until the window ends: 429 with Retry-After, counted in the portal's database for every replica.
"""

import hashlib
import json
import logging
import math
import secrets
from datetime import timedelta
from pathlib import Path

import grpc
from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException

from services.plumbing import channels, config, db, identity, process
from services.plumbing.clock import Clock, SystemClock
from services.plumbing.text import holds_lone_surrogate
from services.portal import api_keys, api_submissions, forms, rate_limits
from services.portal.regions import of_app as region_list
from services.portal import api_documents as documents
from services.portal.api_keys import AGENCY, APP, ApiKey
from services.portal.api_problems import Problem, from_grpc, invalid, unauthorized
from services.portal.api_problems import response as problem_response
from services.portal.rate_limits import RateLimit
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from sp4n.sla.v1 import sla_pb2, sla_pb2_grpc

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
OPENAPI = Path(__file__).with_name("openapi") / "openapi.json"
MAX_JSON_BYTES = 64 * 1024
# Five attachments of 5 MiB each, base64-encoded, and room for the rest of the report (or follow-up).
MAX_REPORT_BYTES = (documents.MAX_ATTACHMENTS * 4 * math.ceil(documents.MAX_ATTACHMENT_BYTES / 3)
                    + MAX_JSON_BYTES)
MAX_CLIENT_KEY = 100
# Every method a client may send (HEAD and OPTIONS Flask answers itself): one the path lacks is a 405
# in the API's own form, with Allow, rather than the site's HTML error page.
OTHER_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"]
MAX_ACCESS_CODE = 200
MAX_SUPPORTER = 150
JSON_TYPES = ("application/json",)
# An app key speaks for every user of that app, an agency key for one agency's system.
KEY_WINDOW = timedelta(minutes=1)
REQUESTS_PER_KEY = 600
SUBMISSIONS_PER_KEY = 120
# Generous: many people share one mobile network's address, and an app with a revoked key keeps trying.
FAILED_KEY_WINDOW = timedelta(minutes=15)
FAILED_KEYS_PER_ADDRESS = 100


def blueprint(*, intake, sla, pool, identity_key: str, public_url: str, clock: Clock | None = None,
              intake_timeout: float = 5.0, extra_timeout: float = 2.0) -> Blueprint:
    """The API over stubs of intake and sla (their channels carry the portal's identity) and the
    portal's database (API keys, and the keys' budgets counted by `clock`). Links to the tracking page
    start with `public_url`."""
    bp = Blueprint("api", __name__)
    openapi_document = OPENAPI.read_bytes()
    clock = clock or SystemClock()
    requests_per_key = RateLimit(pool=pool, clock=clock, name="api:key", limit=REQUESTS_PER_KEY, window=KEY_WINDOW)
    submissions_per_key = RateLimit(pool=pool, clock=clock, name="api:key-submissions", limit=SUBMISSIONS_PER_KEY,
                                    window=KEY_WINDOW)
    failed_keys = RateLimit(pool=pool, clock=clock, name="api:failed-key-address", limit=FAILED_KEYS_PER_ADDRESS,
                            window=FAILED_KEY_WINDOW)

    def ask(method, message, metadata=None):
        try:
            return method(message, timeout=intake_timeout, wait_for_ready=True, metadata=metadata)
        except grpc.RpcError as e:
            if (problem := from_grpc(e)) is not None:
                raise problem from None
            raise

    def api_key(*kinds: str) -> ApiKey:
        """The key the request came with, if it is active and of one of `kinds` (401 or 403 otherwise)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else request.headers.get("X-API-Key", "").strip()
        if not presented:
            raise unauthorized("an API key is required: Authorization: Bearer <key>, or X-API-Key", presented=False)
        address = rate_limits.address(request.remote_addr)
        if (wait := failed_keys.retry_after(address)) is not None:
            raise too_many("too many keys that are not valid came from this address", wait)
        with db.autocommit(pool) as conn:  # one statement: no BEGIN and COMMIT round trips
            key = api_keys.find(conn, presented)
        if key is None:
            failed_keys.hit(address)
            raise unauthorized("the API key is not valid or was revoked", presented=True)
        if (wait := requests_per_key.spend(str(key.id))) is not None:
            raise too_many(f"this API key has made its {REQUESTS_PER_KEY} requests of the minute", wait)
        if key.kind not in kinds:
            raise Problem(403, f"this needs an {' or '.join(kinds)} key, not an {key.kind} key")
        return key

    def json_body(limit: int = MAX_JSON_BYTES) -> dict:
        mimetype = request.mimetype
        if mimetype not in JSON_TYPES and not mimetype.endswith("+json"):
            raise Problem(415, "the body must be JSON (Content-Type: application/json)",
                          headers={"Accept-Post": "application/json"})
        if request.content_length is not None and request.content_length > limit:
            raise Problem(413, f"the body is larger than {limit} bytes")
        request.max_content_length = limit  # a body without Content-Length stops at the limit
        try:
            data = json.loads(request.get_data(cache=False), parse_constant=_no_constant)
        except ValueError as e:  # also UnicodeDecodeError: JSON is UTF-8
            raise Problem(400, f"the body is not valid JSON: {e}") from None
        except RecursionError:
            raise Problem(400, "the body is not valid JSON: nested too deep") from None
        if not isinstance(data, dict):
            raise Problem(400, "the body must be a JSON object")
        if holds_lone_surrogate(data):
            raise Problem(400, "the body is not valid JSON: a string holds a lone surrogate (\\ud800 to \\udfff)")
        return data

    def text_body(name: str, max_length: int = documents.MAX_TEXT) -> str:
        value, errors = documents.body_text(json_body(), name, max_length=max_length)
        if errors:
            raise invalid(errors)
        return value

    def client_key(key: ApiKey, *, required: bool) -> str:
        """The intake idempotency key for the request's Idempotency-Key, scoped to the API key."""
        given = request.headers.get("Idempotency-Key")
        if given is None:
            if required:
                raise invalid([("Idempotency-Key", "is required")])
            given = secrets.token_urlsafe(16)
        if not 0 < len(given) <= MAX_CLIENT_KEY or not (given.isascii() and given.isprintable()):
            raise invalid([("Idempotency-Key", f"1 to {MAX_CLIENT_KEY} printable ASCII characters")])
        return f"{key.id}:{given}"

    def report_id(tracking_id: str) -> str:
        if (canonical := forms.tracking_id(tracking_id)) is None:
            raise Problem(404, "no such report")
        return canonical

    def reporter(tracking_id: str) -> list[tuple[str, str]]:
        """Call metadata acting for the reporter, once the request's access code proves they are."""
        code = request.headers.get("X-Access-Code", "")
        if not code or len(code) > MAX_ACCESS_CODE:
            raise Problem(403, "an app acts for a reporter with the report's access code in X-Access-Code")
        ask(intake.VerifyReporterAccess, pb.VerifyReporterAccessRequest(tracking_id=tracking_id, access_code=code))
        return channels.as_caller(identity.Caller(subject=tracking_id, role=identity.REPORTER), identity_key)

    def agency(key: ApiKey) -> list[tuple[str, str]]:
        """Call metadata acting as a liaison officer of the key's agency."""
        return channels.as_caller(identity.Caller(subject=f"apikey:{key.name}", role=identity.LIAISON_OFFICER,
                                                  agency_id=key.agency_id), identity_key)

    def deadlines(tracking_id: str) -> list[sla_pb2.Deadline] | None:
        """The report's deadlines; none when sla has no case for it, None when it does not answer."""
        try:
            case = sla.GetCase(sla_pb2.GetCaseRequest(tracking_id=tracking_id), timeout=extra_timeout)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                return []
            log.warning("api: no deadlines for %s: sla answered %s", tracking_id, e.code().name)
            return None
        return sorted(case.deadlines, key=lambda d: (d.due_at.seconds, d.due_at.nanos))

    @bp.get("/openapi.json")
    def openapi():
        return Response(openapi_document, mimetype="application/json")

    @bp.post("/reports")
    def submit_report():
        key = api_key(APP)
        if (wait := submissions_per_key.spend(str(key.id))) is not None:
            raise too_many(f"this API key has submitted its {SUBMISSIONS_PER_KEY} reports of the minute", wait)
        scoped = client_key(key, required=True)
        data = json_body(MAX_REPORT_BYTES)
        message, errors = documents.submission(data, key=scoped)
        if errors:
            raise invalid(errors)
        fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).digest()
        with db.autocommit(pool) as conn:  # one statement: no BEGIN and COMMIT round trips
            earlier = api_submissions.earlier(conn, key_id=key.id, idempotency_key=scoped)
        if earlier is not None and earlier.request_sha256 != fingerprint:
            raise Problem(422, "this Idempotency-Key was used for a different report; use a new key for a new "
                               "report")
        answer = ask(intake.SubmitReport, message)
        with db.autocommit(pool) as conn:  # one statement: no BEGIN and COMMIT round trips
            first = api_submissions.record(conn, key_id=key.id, idempotency_key=scoped, request_sha256=fingerprint,
                                           tracking_id=answer.tracking_id)
        tracking_url = public_url.rstrip("/") + url_for("tracking", tracking_id=answer.tracking_id)
        return reply_json(documents.receipt(answer, tracking_url), 201 if first else 200,
                          {"Location": url_for(".report", tracking_id=answer.tracking_id)})

    @bp.get("/reports/<tracking_id>")
    def report(tracking_id: str):
        key = api_key(APP, AGENCY)
        tracking_id = report_id(tracking_id)
        metadata = reporter(tracking_id) if key.kind == APP else agency(key)
        found = ask(intake.GetReport, pb.GetReportRequest(tracking_id=tracking_id), metadata)
        return reply_json(documents.report(found, deadlines(tracking_id)))

    @bp.post("/reports/<tracking_id>/replies")
    def post_reply(tracking_id: str):
        key = api_key(APP)
        tracking_id = report_id(tracking_id)
        scoped = client_key(key, required=False)
        metadata = reporter(tracking_id)
        body = text_body("body")
        entry = ask(intake.PostReply, pb.PostReplyRequest(idempotency_key=scoped, tracking_id=tracking_id,
                                                          body=body), metadata)
        return reply_json(documents.entry(entry), 201)

    @bp.post("/reports/<tracking_id>/follow-ups")
    def post_follow_up(tracking_id: str):
        key = api_key(AGENCY)
        tracking_id = report_id(tracking_id)
        scoped = client_key(key, required=False)
        message, errors = documents.follow_up(json_body(MAX_REPORT_BYTES), key=scoped, tracking_id=tracking_id)
        if errors:
            raise invalid(errors)
        return reply_json(documents.entry(ask(intake.PostFollowUp, message, agency(key))), 201)

    @bp.get("/agency/reports")
    def agency_reports():
        key = api_key(AGENCY)
        errors: list[tuple[str, str]] = []
        message = pb.ListAgencyReportsRequest(
            agency_id=key.agency_id, statuses=documents.statuses(request.args.getlist("status"), errors),
            page_size=documents.page_size(request.args.get("page_size"), errors),
            page_token=documents.parameter(request.args, "page_token", errors))
        if errors:
            raise invalid(errors)
        answer = ask(intake.ListAgencyReports, message, agency(key))
        return reply_json(documents.page([documents.summary(s) for s in answer.reports], answer.next_page_token))

    @bp.get("/public/reports")
    def public_reports():
        errors: list[tuple[str, str]] = []
        args = request.args
        message = pb.ListPublishedReportsRequest(
            query=documents.parameter(args, "q", errors), agency_id=documents.parameter(args, "agency_id", errors),
            category=documents.parameter(args, "category", errors),
            region_code=documents.parameter(args, "region_code", errors),
            statuses=documents.statuses(args.getlist("status"), errors),
            page_size=documents.page_size(args.get("page_size"), errors),
            page_token=documents.parameter(args, "page_token", errors))
        if errors:
            raise invalid(errors)
        answer = ask(intake.ListPublishedReports, message)
        return reply_json(documents.page([documents.published(r, with_timeline=False) for r in answer.reports],
                                         answer.next_page_token))

    @bp.get("/public/reports/<tracking_id>")
    def public_report(tracking_id: str):
        found = ask(intake.GetPublishedReport, pb.GetPublishedReportRequest(tracking_id=report_id(tracking_id)))
        return reply_json(documents.published(found, with_timeline=True))

    @bp.post("/public/reports/<tracking_id>/support")
    def support_report(tracking_id: str):
        key = api_key(APP)
        tracking_id = report_id(tracking_id)
        scoped = client_key(key, required=False)
        supporter = text_body("supporter", max_length=MAX_SUPPORTER)
        # Supporters are the app's own ids: scoped to the API key, two apps' users never count as one.
        answer = ask(intake.SupportReport, pb.SupportReportRequest(
            idempotency_key=scoped, tracking_id=tracking_id, supporter=f"apikey:{key.id}:{supporter}"))
        return reply_json({"support_count": answer.support_count, "counted": answer.counted})

    @bp.get("/categories")
    def categories():
        return reply_json({"categories": [{"code": c, "name": n} for c, n in forms.CATEGORIES.items()]})

    @bp.get("/regions")
    def regions():
        return reply_json({"regions": [{"code": r.code, "name": r.name} for r in region_list()]})

    @bp.route("/", methods=OTHER_METHODS, defaults={"rest": ""})
    @bp.route("/<path:rest>", methods=OTHER_METHODS)
    def elsewhere(rest: str):
        """A path or method the API does not have, answered as a problem rather than a page."""
        if allowed := allowed_methods():
            raise Problem(405, f"{request.method} is not allowed on {request.path}",
                          headers={"Allow": ", ".join(allowed)})
        raise Problem(404, f"{request.path[:100]} is not part of the API; see {PREFIX}/openapi.json")

    @bp.after_request
    def options_allow_what_the_path_has(response: Response) -> Response:
        # Flask's own answer to OPTIONS would list every method `elsewhere` takes.
        if request.method == "OPTIONS" and (allowed := allowed_methods()):
            response.headers["Allow"] = ", ".join([*allowed, *(["HEAD"] if "GET" in allowed else []), "OPTIONS"])
        return response

    @bp.errorhandler(Problem)
    def problem(error: Problem):
        return problem_response(error)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return problem_response(Problem(error.code or 500, error.description or error.name))

    @bp.errorhandler(Exception)
    def internal_error(error: Exception):
        log.exception("%s %s failed", request.method, request.path)
        return problem_response(Problem(500, "internal error"))

    return bp


def allowed_methods() -> list[str]:
    """The methods the request's path has an operation for (GET, POST), not counting `elsewhere`."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "api.elsewhere":
            allowed.append(method)
    return allowed


def too_many(detail: str, retry_after: int) -> Problem:
    return Problem(429, f"{detail}; try again in {retry_after} s", headers={"Retry-After": str(retry_after)})


def reply_json(document: dict, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=status, mimetype="application/json",
                    headers=headers)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def from_context(ctx: process.Context) -> tuple[Blueprint, str]:
    """The API blueprint and its prefix for the portal process; with SP4N_DEMO_DATA=1 it makes sure
    the demo app key exists and logs it."""
    if config.get("SP4N_DEMO_DATA") == "1":
        api_keys.ensure_demo_key(ctx.pool, ctx.identity_key)
    return blueprint(intake=intake_pb2_grpc.IntakeServiceStub(ctx.channel("intake")),
                     sla=sla_pb2_grpc.SlaServiceStub(ctx.channel("sla")), pool=ctx.pool, clock=ctx.clock,
                     identity_key=ctx.identity_key, public_url=config.get("SP4N_PUBLIC_URL")), PREFIX
