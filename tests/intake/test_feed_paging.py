"""Paging through the public feed: keyset page tokens that see every report once, in order, and refuse
to be tampered with, through a real gRPC server and PostgreSQL."""

from datetime import timedelta

import grpc
import psycopg
import pytest

from services.intake import grpc_api, page_tokens
from services.intake.publication import Cursor, FeedFilter
from services.intake.service import IntakeService
from services.plumbing.errors import InvalidArgument
from sp4n.intake.v1 import intake_pb2 as pb
from sp4n.intake.v1 import intake_pb2_grpc
from tests.intake.reports import T0, feed, feed_ids, field_violation, publish


def all_pages(stub, page_token: str = "", **fields) -> list[str]:
    """Every report on this page and all that follow it."""
    seen, token = [], page_token
    while True:
        page = feed(stub, page_token=token, **fields)
        seen += [r.tracking_id for r in page.reports]
        if not page.next_page_token:
            return seen
        assert page.reports, "a page with a next page is never empty"
        token = page.next_page_token


def newest_first(database_url) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [r[0] for r in conn.execute("SELECT tracking_id FROM intake.reports WHERE published "
                                           "ORDER BY published_at DESC, tracking_id DESC")]


@pytest.fixture
def many(stub, clock, database_url):
    """23 published reports; six of them share one publication time, as reports forwarded in one batch
    might, so that only their tracking IDs order them."""
    made = []
    for i in range(23):
        made.append(publish(stub, f"k{i}", title=f"Jalan rusak nomor {i}"))
        clock.advance(timedelta(minutes=1))
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE intake.reports SET published_at = %s WHERE tracking_id = ANY(%s)",
                     (T0 + timedelta(minutes=30), made[3:9]))
    clock.set(T0 + timedelta(minutes=31))
    return made


@pytest.mark.parametrize("page_size", [1, 5, 7, 22, 23, 100])
def test_paging_sees_every_report_once_in_feed_order(stub, database_url, many, page_size):
    seen = all_pages(stub, page_size=page_size)
    assert seen == newest_first(database_url)
    assert sorted(seen) == sorted(many)


def test_paging_a_search_sees_every_match_once_in_order_of_relevance(stub, many):
    whole = feed_ids(stub, query="jalan rusak", page_size=100)
    assert sorted(whole) == sorted(many)
    assert all_pages(stub, query="jalan rusak", page_size=4) == whole


def test_reports_published_while_paging_do_not_shift_the_later_pages(stub, database_url, many, clock):
    expected = newest_first(database_url)
    first = feed(stub, page_size=5)
    for i in range(3):
        clock.advance(timedelta(minutes=1))
        publish(stub, f"late-{i}")
    rest = all_pages(stub, page_size=5, page_token=first.next_page_token)
    assert [r.tracking_id for r in first.reports] + rest == expected


def test_the_default_page_is_twenty_reports_and_a_page_holds_at_most_a_hundred(stub, clock):
    for i in range(105):
        publish(stub, f"k{i}")
    first = feed(stub)
    assert len(first.reports) == 20 and first.next_page_token
    largest = feed(stub, page_size=100)
    assert len(largest.reports) == 100
    assert len(feed(stub, page_size=100, page_token=largest.next_page_token).reports) == 5


def changed(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


def test_a_tampered_page_token_is_refused(stub, many):
    token = feed(stub, page_size=5).next_page_token
    body, mac = token.split(".")
    for bad in (changed(body, 3), changed(body, len(body) - 2), changed(mac, 0), body, f"{token}.x", token[:-3],
                "...", "%%%", token.replace(".", ""), "é.é"):
        with pytest.raises(grpc.RpcError) as e:
            feed(stub, page_size=5, page_token=bad)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert field_violation(e.value) == "page_token"


def test_a_page_token_only_goes_with_the_filter_it_was_made_for(stub, many):
    token = feed(stub, query="jalan", page_size=5).next_page_token
    for other in (dict(query="rusak"), dict(), dict(query="jalan", category="kesehatan")):
        with pytest.raises(grpc.RpcError) as e:
            feed(stub, page_size=5, page_token=token, **other)
        assert field_violation(e.value) == "page_token"
    assert len(feed(stub, query="  jalan ", page_size=3, page_token=token).reports) == 3  # same query, other size


def test_a_page_token_of_another_deployment_is_refused(stub, serve, pool, clock, many):
    other = intake_pb2_grpc.IntakeServiceStub(serve("other", grpc_api.register(
        IntakeService(pool=pool, clock=clock, page_key=b"another deployment's key"))))
    token = feed(other, page_size=5).next_page_token
    with pytest.raises(grpc.RpcError) as e:
        feed(stub, page_size=5, page_token=token)
    assert field_violation(e.value) == "page_token"


def test_a_signed_token_must_still_hold_a_cursor():
    """Even with the key, a token is only what `encode` makes: checked all the same."""
    key, plain = b"k", FeedFilter()
    assert page_tokens.decode(page_tokens.encode(Cursor(T0, "LAP-AAAA0001"), plain, key), plain, key) == \
        Cursor(T0, "LAP-AAAA0001")
    search = FeedFilter(query="jalan")
    for f, body in [
        (plain, '{"v":1}'), (plain, "[]"), (plain, "null"), (plain, "1"),
        (plain, '{"v":2,"f":"%s","p":"2026-01-01T00:00:00+00:00","t":"x","r":null,"a":null}'),
        (plain, '{"v":1,"f":"%s","p":"2026-01-01T00:00:00","t":"x","r":null,"a":null}'),  # a time without offset
        (plain, '{"v":1,"f":"%s","p":"2026-01-01T00:00:00+00:00","t":"x","r":0.5,"a":null}'),  # a rank, no query
        (search, '{"v":1,"f":"%s","p":"2026-01-01T00:00:00+00:00","t":"x","r":0.5,"a":null}'),  # no window
        (search, '{"v":1,"f":"%s","p":"2026-01-01T00:00:00+00:00","t":"x","r":1,"a":["2026-01-01T00:00:00Z","x"]}'),
        (search, '{"v":1,"f":"%s","p":"2026-01-01T00:00:00+00:00","t":"x","r":0.5,"a":"x"}'),
    ]:
        encoded = page_tokens._b64(body.replace("%s", page_tokens._fingerprint(f)).encode())
        token = f"{encoded}.{page_tokens._b64(page_tokens._mac(key, encoded))}"
        with pytest.raises(InvalidArgument) as e:
            page_tokens.decode(token, f, key)
        assert e.value.field == "page_token"


def test_status_filters_in_any_order_are_one_filter(stub, many):
    token = feed(stub, page_size=5, statuses=[pb.REPORT_STATUS_FORWARDED, pb.REPORT_STATUS_CLOSED]).next_page_token
    again = feed(stub, page_size=5, page_token=token,
                 statuses=[pb.REPORT_STATUS_CLOSED, pb.REPORT_STATUS_FORWARDED, pb.REPORT_STATUS_CLOSED])
    assert len(again.reports) == 5
