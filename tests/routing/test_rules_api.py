"""Routing rules through the real gRPC server over the demo directory: any staff member reads them, only
national administrators change them, every change is checked against what routing will do with it and
recorded with who and when, and routing follows at once."""

from datetime import datetime, timedelta, timezone

import grpc
import psycopg
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.plumbing import db
from services.routing import demo
from sp4n.routing.v1 import routing_pb2 as pb
from tests.routing.test_directory_api import ADMIN, NOT_ADMINS, READERS, refused
from tests.routing.test_directory_import import HEADER
from tests.support import ROOT, field_violation, service_caller

SLA = service_caller("sla")


def rules_table(database_url) -> list[tuple]:
    """Every rule and every recorded change, in full: what a refused write must leave as it was."""
    with psycopg.connect(database_url) as conn:
        return [conn.execute(f"SELECT * FROM routing.{t} ORDER BY id").fetchall() for t in ("rules", "rule_changes")]


def routed_to(stub, category: str, region_code: str, tracking_id: str) -> tuple[str, str]:
    got = stub.AssignReport(pb.AssignReportRequest(idempotency_key=f"assign-{tracking_id}", tracking_id=tracking_id,
                                                   category=category, region_code=region_code), metadata=SLA)
    return got.agency.id, got.matched_by


def rules(stub, metadata=ADMIN, **fields) -> list[tuple[str, str, str]]:
    found = stub.ListRules(pb.ListRulesRequest(page_size=1000, **fields), metadata=metadata).rules
    return [(r.category, r.region_code, r.agency_id) for r in found]


def create(stub, key="c1", metadata=ADMIN, **fields) -> pb.Rule:
    return stub.CreateRule(pb.CreateRuleRequest(idempotency_key=key, **fields), metadata=metadata)


def rule_id(stub, category: str, region_code: str) -> str:
    return next(r.id for r in stub.ListRules(pb.ListRulesRequest(category=category, page_size=1000),
                                             metadata=ADMIN).rules if r.region_code == region_code)


def precondition_subject(error: grpc.RpcError) -> str:
    """The field a FAILED_PRECONDITION names in its google.rpc.PreconditionFailure detail."""
    failure = error_details_pb2.PreconditionFailure()
    assert rpc_status.from_call(error).details[0].Unpack(failure)
    return failure.violations[0].subject


def test_the_demo_rules_are_listed_by_category_then_region_with_who_wrote_them(stub):
    found = stub.ListRules(pb.ListRulesRequest(), metadata=ADMIN)
    assert [(r.category, r.region_code, r.agency_id) for r in found.rules] == sorted(demo.RULES)
    assert found.total_size == len(demo.RULES) and found.next_page_token == ""
    assert all(r.changed_by == "demo" and r.changed_at.seconds > 0 and r.agency_name for r in found.rules)


@pytest.mark.parametrize("metadata", READERS)
def test_any_staff_member_or_service_reads_the_rules(stub, metadata):
    assert len(rules(stub, metadata)) == len(demo.RULES)


@pytest.mark.parametrize("fields, expected", [
    (dict(category="kesehatan"), [("kesehatan", "", "kementerian-kesehatan"),
                                  ("kesehatan", "63", "prov-kalimantan-selatan-dinas-kesehatan"),
                                  ("kesehatan", "6310", "kab-tanah-bumbu-dinas-kesehatan")]),
    (dict(region_code="63", category="lainnya"), [("lainnya", "63", "prov-kalimantan-selatan-diskominfo"),
                                                  ("lainnya", "6310", "kab-tanah-bumbu-diskominfo")]),
    (dict(region_code="6310", agency_id="kab-tanah-bumbu-dinas-pupr"),
     [("infrastruktur", "6310", "kab-tanah-bumbu-dinas-pupr")]),
    (dict(agency_id="badan-pom"), []),
    (dict(region_code="31"), []),
])
def test_the_list_filters(stub, fields, expected):
    assert rules(stub, **fields) == expected


def test_paging_walks_the_whole_list_once(stub):
    seen, token = [], ""
    while True:
        page = stub.ListRules(pb.ListRulesRequest(page_size=4, page_token=token), metadata=ADMIN)
        assert page.total_size == len(demo.RULES) and len(page.rules) <= 4
        seen += [(r.category, r.region_code, r.agency_id) for r in page.rules]
        if not (token := page.next_page_token):
            break
    assert seen == sorted(demo.RULES)


@pytest.mark.parametrize("request_, field", [
    (pb.ListRulesRequest(category="banjir"), "category"),
    (pb.ListRulesRequest(region_code="6a"), "region_code"),
    (pb.ListRulesRequest(agency_id="Bad Id"), "agency_id"),
    (pb.ListRulesRequest(page_size=-1), "page_size"),
    (pb.ListRulesRequest(page_token="not-a-token"), "page_token"),
])
def test_bad_list_requests_name_the_field(stub, request_, field):
    e = refused(lambda: stub.ListRules(request_, metadata=ADMIN))
    assert (e.code(), field_violation(e)) == (grpc.StatusCode.INVALID_ARGUMENT, field)


def test_a_reporter_reads_no_rules(stub):
    e = refused(lambda: rules(stub, metadata=NOT_ADMINS[3]))
    assert e.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_created_rule_routes_reports_at_once_and_its_change_is_recorded(stub, database_url, clock):
    moment = clock.set(datetime(2030, 1, 7, 2, 0, tzinfo=timezone.utc))
    assert routed_to(stub, "perhubungan", "6371", "LAP-AAAA0001") == ("kota-banjarmasin", "region")
    made = create(stub, category="perhubungan", region_code="63", agency_id="prov-kalimantan-selatan-dinas-pupr")
    assert (made.category, made.region_code, made.agency_id, made.agency_active, made.changed_by) == (
        "perhubungan", "63", "prov-kalimantan-selatan-dinas-pupr", True, "admin-1")
    assert routed_to(stub, "perhubungan", "6371", "LAP-AAAA0002") == ("prov-kalimantan-selatan-dinas-pupr", "rule")
    assert routed_to(stub, "perhubungan", "6310", "LAP-AAAA0003") == ("kab-tanah-bumbu-dinas-perhubungan", "rule")
    with psycopg.connect(database_url) as conn:
        changes = conn.execute("SELECT rule_id::text, action, category, region_prefix, agency_id, changed_by, "
                               "changed_at FROM routing.rule_changes WHERE idempotency_key = 'c1'").fetchall()
    assert changes[0][:-1] == (made.id, "create", "perhubungan", "63", "prov-kalimantan-selatan-dinas-pupr", "admin-1")
    assert timedelta(0) <= changes[0][-1] - moment < timedelta(minutes=1)  # by the service's clock
    assert made.changed_at.ToDatetime(tzinfo=timezone.utc) == changes[0][-1]


def test_an_updated_rule_changes_routing_and_keeps_its_history(stub, database_url):
    target = rule_id(stub, "infrastruktur", "6310")
    changed = stub.UpdateRule(pb.UpdateRuleRequest(idempotency_key="u1", rule_id=target, category="infrastruktur",
                                                   region_code="6310", agency_id="kab-tanah-bumbu"), metadata=ADMIN)
    assert (changed.id, changed.agency_id, changed.changed_by) == (target, "kab-tanah-bumbu", "admin-1")
    assert routed_to(stub, "infrastruktur", "6310", "LAP-AAAA0001") == ("kab-tanah-bumbu", "rule")
    with psycopg.connect(database_url) as conn:
        history = conn.execute("SELECT action, agency_id, changed_by FROM routing.rule_changes WHERE rule_id = %s "
                               "ORDER BY id", (int(target),)).fetchall()
    assert history == [("create", "kab-tanah-bumbu-dinas-pupr", "demo"), ("update", "kab-tanah-bumbu", "admin-1")]


def test_a_deleted_rule_no_longer_routes_and_the_next_rule_takes_over(stub, database_url):
    assert routed_to(stub, "infrastruktur", "6310", "LAP-AAAA0001") == ("kab-tanah-bumbu-dinas-pupr", "rule")
    target = rule_id(stub, "infrastruktur", "6310")
    gone = stub.DeleteRule(pb.DeleteRuleRequest(idempotency_key="d1", rule_id=target), metadata=ADMIN)
    assert (gone.id, gone.agency_id) == (target, "kab-tanah-bumbu-dinas-pupr")
    assert routed_to(stub, "infrastruktur", "6310", "LAP-AAAA0002") == ("kementerian-pupr", "rule")
    assert len(rules(stub)) == len(demo.RULES) - 1
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT action, changed_by FROM routing.rule_changes WHERE idempotency_key = 'd1'"
                            ).fetchall() == [("delete", "admin-1")]
    e = refused(lambda: stub.GetRule(pb.GetRuleRequest(rule_id=target), metadata=ADMIN))
    assert e.code() == grpc.StatusCode.NOT_FOUND


def test_a_repeated_key_returns_the_first_answer_and_changes_nothing(stub, database_url):
    first = create(stub, key="same", category="lingkungan", region_code="", agency_id="kementerian-dalam-negeri")
    before = rules_table(database_url)
    again = create(stub, key="same", category="lingkungan", region_code="", agency_id="kementerian-dalam-negeri")
    assert again == first and rules_table(database_url) == before
    deleted = stub.DeleteRule(pb.DeleteRuleRequest(idempotency_key="del", rule_id=first.id), metadata=ADMIN)
    after_delete = rules_table(database_url)
    assert stub.DeleteRule(pb.DeleteRuleRequest(idempotency_key="del", rule_id=first.id),
                           metadata=ADMIN).id == deleted.id
    assert rules_table(database_url) == after_delete
    e = refused(lambda: stub.DeleteRule(pb.DeleteRuleRequest(idempotency_key="same", rule_id=first.id),
                                        metadata=ADMIN))
    assert (e.code(), field_violation(e)) == (grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key")
    assert rules_table(database_url) == after_delete


@pytest.mark.parametrize("metadata", NOT_ADMINS)
def test_only_national_administrators_change_rules(stub, database_url, metadata):
    before = rules_table(database_url)
    target = rule_id(stub, "kesehatan", "")
    for call in (lambda: create(stub, metadata=metadata, category="lingkungan", agency_id="kementerian-pupr"),
                 lambda: stub.UpdateRule(pb.UpdateRuleRequest(idempotency_key="u", rule_id=target,
                                                              category="kesehatan", agency_id="badan-pom"),
                                         metadata=metadata),
                 lambda: stub.DeleteRule(pb.DeleteRuleRequest(idempotency_key="d", rule_id=target),
                                         metadata=metadata)):
        assert refused(call).code() == grpc.StatusCode.PERMISSION_DENIED
    assert rules_table(database_url) == before


def make_inactive(database_url, agency_id: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE routing.agencies SET active = false WHERE id = %s", (agency_id,))


@pytest.mark.parametrize("fields, code, field", [
    (dict(category="banjir", agency_id="kementerian-pupr"), grpc.StatusCode.INVALID_ARGUMENT, "category"),
    (dict(category="", agency_id="kementerian-pupr"), grpc.StatusCode.INVALID_ARGUMENT, "category"),
    (dict(category="lingkungan", region_code="6399", agency_id="kementerian-pupr"),
     grpc.StatusCode.INVALID_ARGUMENT, "region_code"),                                  # not on the list
    (dict(category="lingkungan", region_code="631001", agency_id="kementerian-pupr"),
     grpc.StatusCode.INVALID_ARGUMENT, "region_code"),                                  # finer than the list
    (dict(category="lingkungan", region_code="6a", agency_id="kementerian-pupr"),
     grpc.StatusCode.INVALID_ARGUMENT, "region_code"),
    (dict(category="lingkungan", agency_id="kab-atlantis"), grpc.StatusCode.INVALID_ARGUMENT, "agency_id"),
    (dict(category="lingkungan", agency_id=""), grpc.StatusCode.INVALID_ARGUMENT, "agency_id"),
    (dict(category="lingkungan", agency_id="Dinas PUPR"), grpc.StatusCode.INVALID_ARGUMENT, "agency_id"),
    (dict(category="lingkungan", agency_id="badan-pom", key=""), grpc.StatusCode.INVALID_ARGUMENT,
     "idempotency_key"),
    (dict(category="infrastruktur", region_code="6310", agency_id="kab-tanah-bumbu"),
     grpc.StatusCode.FAILED_PRECONDITION, "region_code"),                               # the rule exists
    (dict(category="lingkungan", agency_id="badan-pom", inactive=True), grpc.StatusCode.FAILED_PRECONDITION,
     "agency_id"),
])
def test_a_rule_routing_could_not_use_is_refused_naming_the_field(stub, database_url, fields, code, field):
    fields = dict(fields)
    if fields.pop("inactive", False):
        make_inactive(database_url, fields["agency_id"])
    before = rules_table(database_url)
    e = refused(lambda: create(stub, **{"key": "k", **fields}))
    assert e.code() == code
    assert (field_violation(e) if code == grpc.StatusCode.INVALID_ARGUMENT else precondition_subject(e)) == field
    assert rules_table(database_url) == before


def test_an_update_may_not_take_the_category_and_region_of_another_rule(stub, database_url):
    before = rules_table(database_url)
    target = rule_id(stub, "kesehatan", "63")
    e = refused(lambda: stub.UpdateRule(pb.UpdateRuleRequest(
        idempotency_key="u", rule_id=target, category="kesehatan", region_code="6310",
        agency_id="kab-tanah-bumbu"), metadata=ADMIN))
    assert (e.code(), precondition_subject(e)) == (grpc.StatusCode.FAILED_PRECONDITION, "region_code")
    assert "kab-tanah-bumbu-dinas-kesehatan" in e.details()
    same = stub.UpdateRule(pb.UpdateRuleRequest(idempotency_key="u2", rule_id=target, category="kesehatan",
                                                region_code="63", agency_id="prov-kalimantan-selatan"), metadata=ADMIN)
    assert same.id == target  # keeping its own category and region is no clash
    assert len(rules_table(database_url)[1]) == len(before[1]) + 1


@pytest.mark.parametrize("rule_id_, code", [("", grpc.StatusCode.INVALID_ARGUMENT),
                                            ("12a", grpc.StatusCode.INVALID_ARGUMENT),
                                            ("999999", grpc.StatusCode.NOT_FOUND)])
def test_updating_or_deleting_a_rule_that_is_not_there_is_refused(stub, database_url, rule_id_, code):
    before = rules_table(database_url)
    for call in (lambda: stub.UpdateRule(pb.UpdateRuleRequest(idempotency_key="u", rule_id=rule_id_,
                                                              category="kesehatan", agency_id="badan-pom"),
                                         metadata=ADMIN),
                 lambda: stub.DeleteRule(pb.DeleteRuleRequest(idempotency_key="d", rule_id=rule_id_),
                                         metadata=ADMIN)):
        assert refused(call).code() == code
    assert rules_table(database_url) == before


def test_an_agency_a_rule_names_is_deactivated_not_deleted_when_the_directory_drops_it(stub, routing,
                                                                                          database_url):
    create(stub, category="lingkungan", agency_id="badan-pom")
    exported = stub.ExportAgencies(pb.ExportAgenciesRequest(), metadata=ADMIN)
    without = "".join(line for line in exported.agencies_csv.decode().splitlines(keepends=True)
                      if not line.startswith("badan-pom,"))
    assert without.startswith(HEADER.strip()) and len(without) < len(exported.agencies_csv)
    summary = stub.ImportAgencies(pb.ImportAgenciesRequest(idempotency_key="i1", agencies_csv=without.encode()),
                                  metadata=ADMIN)
    assert (list(summary.deactivated_agency_ids), list(summary.deleted_agency_ids)) == (["badan-pom"], [])
    listed = stub.ListRules(pb.ListRulesRequest(agency_id="badan-pom"), metadata=ADMIN).rules
    assert [(r.category, r.agency_active) for r in listed] == [("lingkungan", False)]
    assert routed_to(stub, "lingkungan", "", "LAP-AAAA0001") == ("nasional", "national")  # passed over


def test_the_migration_keeps_the_rule_that_won_where_a_region_had_several(make_database, tmp_path):
    url = make_database()
    migrations = ROOT / "services" / "routing" / "migrations"
    for earlier in sorted(migrations.glob("00[1-5]_*.sql")):
        (tmp_path / earlier.name).write_text(earlier.read_text())
    db.migrate(url, schema="routing", folder=tmp_path)
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO routing.agencies (id, code, name, parent_id, level, timezone) VALUES "
                     "('kementerian-a', 'A', 'A', 'nasional', 'ministry', 'Asia/Jakarta'), "
                     "('kementerian-b', 'B', 'B', 'nasional', 'ministry', 'Asia/Jakarta')")
        conn.execute("INSERT INTO routing.rules (category, region_prefix, agency_id, priority) VALUES "
                     "('kesehatan', '', 'kementerian-a', 0), ('kesehatan', '', 'kementerian-b', 5), "
                     "('pendidikan', '', 'kementerian-a', 0), ('pendidikan', '', 'kementerian-b', 0)")
    assert db.migrate(url, schema="routing", folder=migrations) == ["006_rules.sql", "007_dispatch.sql"]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT category, agency_id FROM routing.rules ORDER BY category").fetchall() == [
            ("kesehatan", "kementerian-b"), ("pendidikan", "kementerian-a")]  # higher priority, then older
