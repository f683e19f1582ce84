"""The public feed: published reports, searchable and filtered, each with its public page and a
support ("dukung") button. Only intake's published-report calls are used, so a confidential report
or a reporter's identity cannot reach these pages."""

import re
import secrets

import grpc
from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from services.portal import forms, regions
from services.portal.intake_client import IntakeClient
from sp4n.intake.v1 import intake_pb2

PAGE_SIZE = 20
AGENCY_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")  # as routing's directory writes them
SUPPORTER_COOKIE = "sp4n_pendukung"
# What a person filters by, in their words, and the statuses it means.
STATUS_FILTERS = {
    "diproses": (intake_pb2.REPORT_STATUS_FORWARDED, intake_pb2.REPORT_STATUS_FOLLOWED_UP),
    "selesai": (intake_pb2.REPORT_STATUS_CLOSED,),
}


def blueprint(*, intake: IntakeClient) -> Blueprint:
    bp = Blueprint("feed", __name__)
    call = intake.call

    @bp.get("/publik")
    def feed():
        chosen = {"q": request.args.get("q", "").strip()[:200],
                  "kategori": request.args.get("kategori", ""), "wilayah": request.args.get("wilayah", ""),
                  "status": request.args.get("status", ""), "instansi": request.args.get("instansi", "")}
        if chosen["kategori"] not in ("", *forms.CATEGORIES) or chosen["status"] not in ("", *STATUS_FILTERS) \
                or (chosen["wilayah"] and chosen["wilayah"] not in regions.of_app()) \
                or (chosen["instansi"] and not AGENCY_ID.fullmatch(chosen["instansi"])):
            abort(400)
        query = intake_pb2.ListPublishedReportsRequest(
            query=chosen["q"], category=chosen["kategori"], region_code=chosen["wilayah"], agency_id=chosen["instansi"],
            statuses=STATUS_FILTERS.get(chosen["status"], ()), page_size=PAGE_SIZE,
            page_token=request.args.get("halaman", "")[:1000])
        try:
            page = call("ListPublishedReports", query)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                abort(400)  # a tampered or stale page link
            raise
        next_page = url_for("feed.feed", **{k: v for k, v in chosen.items() if v}, halaman=page.next_page_token) \
            if page.next_page_token else ""
        # The agency filter is reached from a report's agency; its name is on every report it finds.
        agency_name = next((r.agency_name for r in page.reports), chosen["instansi"]) if chosen["instansi"] else ""
        without_agency = url_for("feed.feed", **{k: v for k, v in chosen.items() if v and k != "instansi"})
        return render_template("feed.html", reports=page.reports, chosen=chosen, statuses=STATUS_FILTERS,
                               next_page=next_page, agency_name=agency_name, without_agency=without_agency)

    @bp.get("/publik/<tracking_id>")
    def published(tracking_id: str):
        if forms.tracking_id(tracking_id) != tracking_id:
            abort(404)
        report = _published(tracking_id)
        response = make_response(render_template("published_report.html", report=report))
        if not request.cookies.get(SUPPORTER_COOKIE):
            # SameSite=Strict: a support posted from another site arrives without it and is refused.
            response.set_cookie(SUPPORTER_COOKIE, secrets.token_urlsafe(24), max_age=365 * 24 * 3600,
                                httponly=True, samesite="Strict", secure=request.is_secure)
        return response

    @bp.post("/publik/<tracking_id>/dukung")
    def support(tracking_id: str):
        supporter = request.cookies.get(SUPPORTER_COOKIE, "")
        if forms.tracking_id(tracking_id) != tracking_id or not supporter or len(supporter) > 64:
            abort(400)
        try:
            call("SupportReport", intake_pb2.SupportReportRequest(
                idempotency_key=f"dukung:{tracking_id}:{supporter}", tracking_id=tracking_id,
                supporter=f"web:{supporter}"))
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                abort(404)
            raise
        return redirect(url_for("feed.published", tracking_id=tracking_id), 303)

    def _published(tracking_id: str) -> intake_pb2.PublishedReport:
        try:
            return call("GetPublishedReport", intake_pb2.GetPublishedReportRequest(tracking_id=tracking_id))
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                abort(404)
            raise

    return bp
