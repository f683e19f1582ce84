"""A request id follows a call across services into every JSON log line made while handling it; a log
line outside any request has none; background workers give each item they handle an id of its own."""

import json
import logging

import pytest

from services.plumbing import outbox, request_ids
from tests.support import JsonLogLines, service_caller, start_relay

log = logging.getLogger(__name__)
GIVEN = "4f1c2a9e-8b7d-4e61-9a3b-2c5d6e7f8a90"


@pytest.fixture
def relay(serve):
    """A call to front, which calls back: `relay(metadata)` returns back's answer."""
    to_front, opened = start_relay(serve)
    yield lambda metadata: to_front.unary_unary("/test.Front/Relay")(b"question", metadata=metadata, timeout=5)
    for channel in opened:
        channel.close()


def test_the_callers_request_id_is_in_the_log_lines_of_both_services_that_handled_it(relay):
    with JsonLogLines() as logged:
        assert relay([*service_caller("portal"), (request_ids.METADATA_KEY, GIVEN)]) == b"answer to question"

    handled = [*logged.saying("front relays"), *logged.saying("back answers"),
               *logged.saying("handled /test.Front/Relay"), *logged.saying("handled /test.Back/Answer")]
    assert len(handled) == 4
    assert {line["request_id"] for line in handled} == {GIVEN}
    assert {line["code"] for line in logged.saying("handled /test.")} == {"OK"}


def test_an_id_not_shaped_like_one_is_replaced_and_never_logged(relay):
    smuggled = "budi@example.com 081234567890"
    with JsonLogLines() as logged:
        relay([*service_caller("portal"), (request_ids.METADATA_KEY, smuggled)])

    ids = {line.get("request_id") for line in logged.saying("front relays") + logged.saying("back answers")}
    assert len(ids) == 1
    (made,) = ids
    assert request_ids.valid(made)
    assert "budi@example.com" not in json.dumps(logged.lines)


def test_without_an_id_the_first_service_makes_one_that_travels_on(relay):
    with JsonLogLines() as logged:
        relay(service_caller("portal"))

    ids = {line.get("request_id") for line in logged.saying("front relays") + logged.saying("back answers")}
    assert len(ids) == 1 and request_ids.valid(ids.pop())


def test_a_log_record_outside_any_request_has_no_request_id(relay):
    relay([*service_caller("portal"), (request_ids.METADATA_KEY, GIVEN)])  # a request has come and gone
    with JsonLogLines() as logged:
        log.info("between requests")

    assert request_ids.current() is None
    (line,) = logged.saying("between requests")
    assert "request_id" not in line


def test_the_outbox_relay_gives_each_event_a_request_id_of_its_own(pool):
    with pool.connection() as conn, conn.transaction():
        for tracking_id in ("LAP-A", "LAP-B"):
            outbox.add(conn, "verification", kind="verification_decided", tracking_id=tracking_id, payload={})
    seen = []
    relay = outbox.OutboxRelay(pool=pool, schema="verification",
                               deliver=lambda event: seen.append(request_ids.current()))

    assert relay.run_once() == 2
    assert len(set(seen)) == 2 and all(request_ids.valid(i) for i in seen)
    assert request_ids.current() is None
