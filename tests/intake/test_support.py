"""Support ("dukung") for published reports, through a real gRPC server and PostgreSQL: counted once per
supporter, a repeated key answered as the first time, only for reports the public may see."""

from concurrent.futures import ThreadPoolExecutor

import grpc
import psycopg
import pytest

from sp4n.intake.v1 import intake_pb2 as pb
from tests.intake.reports import (LIAISON, feed, field_violation, publish, published, reporter, submit, support,
                                  support_rows)
from tests.support import caller


def test_each_supporter_counts_once(stub, database_url):
    tracking_id = publish(stub)
    assert (support(stub, tracking_id, "browser-1").support_count, support(stub, tracking_id, "browser-2").counted) \
        == (1, True)
    again = support(stub, tracking_id, "browser-1", key="another-click")
    assert (again.support_count, again.counted) == (2, False)
    assert published(stub, tracking_id).support_count == 2
    assert feed(stub).reports[0].support_count == 2
    assert support_rows(database_url) == 2


def test_a_repeated_key_returns_the_first_answer_and_changes_nothing(stub, database_url):
    tracking_id = publish(stub)
    first = support(stub, tracking_id, "browser-1", key="click-1")
    support(stub, tracking_id, "browser-2")
    assert support(stub, tracking_id, "browser-1", key="click-1") == first == pb.SupportReportResponse(
        support_count=1, counted=True)
    assert support_rows(database_url) == 2


def test_supports_are_counted_per_report(stub):
    one, other = publish(stub, "k1"), publish(stub, "k2")
    support(stub, one, "browser-1")
    assert (support(stub, other, "browser-1").support_count, support(stub, other, "browser-1", key="x").counted) == (
        1, False)
    assert {r.tracking_id: r.support_count for r in feed(stub).reports} == {one: 1, other: 1}


def test_only_reports_the_public_may_see_can_be_supported(stub, database_url):
    waiting = submit(stub, "k1")
    confidential = publish(stub, "k2", confidential=True)
    for tracking_id in ("LAP-ZZZZZZZZ", waiting, confidential):
        with pytest.raises(grpc.RpcError) as e:
            support(stub, tracking_id)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert support_rows(database_url) == 0


@pytest.mark.parametrize("fields, field", [
    (dict(supporter=""), "supporter"), (dict(supporter="   "), "supporter"), (dict(supporter="s" * 201), "supporter"),
    (dict(supporter="browser\n1"), "supporter"), (dict(idempotency_key=""), "idempotency_key"),
    (dict(tracking_id="LAP-1"), "tracking_id"),
])
def test_a_bad_support_names_the_field_and_writes_nothing(stub, database_url, fields, field):
    tracking_id = publish(stub)
    request = dict(idempotency_key="click-1", tracking_id=tracking_id, supporter="browser-1") | fields
    with pytest.raises(grpc.RpcError) as e:
        stub.SupportReport(pb.SupportReportRequest(**request), metadata=reporter(tracking_id))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violation(e.value) == field
    assert support_rows(database_url) == 0
    assert published(stub, tracking_id).support_count == 0


def test_a_supporter_of_two_hundred_characters_is_accepted(stub):
    assert support(stub, publish(stub), "s" * 200, key="click-1").counted


def test_any_authenticated_caller_may_support_and_no_one_else(stub):
    tracking_id = publish(stub)
    for i, metadata in enumerate((LIAISON, reporter("LAP-AAAA0001"), caller("national_admin", "admin-1"))):
        assert support(stub, tracking_id, f"s{i}", metadata=metadata).counted
    with pytest.raises(grpc.RpcError) as e:
        support(stub, tracking_id, "s9", metadata=())
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_concurrent_supports_are_all_counted_and_a_supporter_still_once(stub, database_url):
    tracking_id = publish(stub)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: support(stub, tracking_id, f"browser-{i % 20}", key=f"click-{i}"),
                                range(60)))
    assert sum(a.counted for a in answers) == 20
    assert sorted(a.support_count for a in answers if a.counted) == list(range(1, 21))
    assert published(stub, tracking_id).support_count == 20
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(DISTINCT supporter) FROM intake.supports").fetchone()[0] == 20
