"""The portal's part in the operational surface: a request id per HTTP request that reaches the services
it calls, an access log that names routes and never what a person sent, and HTTP request metrics."""

import json
import logging
import threading
import time
import urllib.request

import pytest
from prometheus_client import REGISTRY

from services.plumbing import request_ids
from services.portal.http_server import HttpServer, QueueWarnings
from tests.portal.test_pages import report_form
from tests.support import JsonLogLines

GIVEN = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"


def sent(route: str, method: str, status: int) -> float:
    return REGISTRY.get_sample_value("sp4n_http_requests_total",
                                     {"method": method, "route": route, "status": str(status)}) or 0.0


def test_the_request_id_given_to_the_portal_is_in_its_log_and_in_intakes_and_no_contact_details_are(client):
    form = report_form(client)
    before = sent("/laporan", "POST", 303)
    with JsonLogLines() as logged:
        response = client.post("/laporan", data=form, headers={request_ids.HTTP_HEADER: GIVEN})

    assert response.status_code == 303
    assert response.headers[request_ids.HTTP_HEADER] == GIVEN
    (portal,) = logged.saying("POST /laporan 303")
    (intake,) = logged.saying("handled /sp4n.intake.v1.IntakeService/SubmitReport")
    assert portal["request_id"] == intake["request_id"] == GIVEN
    everything = json.dumps(logged.lines)
    for contact in (form["phone"], form["email"], form["name"]):
        assert contact not in everything
    assert sent("/laporan", "POST", 303) == before + 1
    assert REGISTRY.get_sample_value("sp4n_http_request_seconds_count", {"method": "POST", "route": "/laporan"})


def test_without_a_valid_request_id_the_portal_makes_one_per_request(client):
    with JsonLogLines() as logged:
        first = client.get("/lacak/LAP-7K3QX9MA", headers={request_ids.HTTP_HEADER: "siti@contoh.id"})
        second = client.get("/lacak/LAP-7K3QX9MA")

    made = [first.headers[request_ids.HTTP_HEADER], second.headers[request_ids.HTTP_HEADER]]
    assert all(request_ids.valid(i) for i in made) and made[0] != made[1]
    lines = logged.saying("GET /lacak/<tracking_id>")  # the route: the tracking id stays out of the log
    assert [line["request_id"] for line in lines] == made
    assert "siti@contoh.id" not in json.dumps(logged.lines)
    assert "LAP-7K3QX9MA" not in json.dumps(lines)


def queued() -> float:
    return REGISTRY.get_sample_value("sp4n_http_requests_queued_total") or 0.0


def waited(requests: int, deepest: int) -> str:
    return (f"HTTP requests that waited for a free worker thread since the last such line: {requests}; "
            f"the deepest the queue was: {deepest}")


@pytest.fixture
def fresh_queue_filter():
    """waitress's queue logger without the QueueWarnings an earlier test's server put there (it
    remembers when it last let a line through), restored afterwards."""
    queue_logger = logging.getLogger("waitress.queue")
    earlier = [f for f in queue_logger.filters if isinstance(f, QueueWarnings)]
    for f in earlier:
        queue_logger.removeFilter(f)
    yield queue_logger
    for f in [f for f in queue_logger.filters if isinstance(f, QueueWarnings)]:
        queue_logger.removeFilter(f)
    for f in earlier:
        queue_logger.addFilter(f)


def test_requests_that_wait_for_a_worker_thread_are_counted_and_logged_once_not_once_each(fresh_queue_filter, caplog):
    release = threading.Event()

    def slow(environ, start_response):
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    before = queued()
    server = HttpServer(slow, host="127.0.0.1", port=0, threads=1, grace=2.0)
    server.start()
    answers = []

    def get():
        with urllib.request.urlopen(server.url + "/", timeout=10) as response:
            answers.append(response.status)

    clients = [threading.Thread(target=get) for _ in range(4)]
    try:
        with caplog.at_level(logging.WARNING, logger="waitress.queue"):
            for client in clients:
                client.start()
            deadline = time.monotonic() + 10
            while queued() < before + 3 and time.monotonic() < deadline:  # one thread: the other three wait
                time.sleep(0.01)
            release.set()
            for client in clients:
                client.join(10)
    finally:
        release.set()
        server.stop()
    assert answers == [200] * 4
    assert queued() == before + 3
    lines = [r.getMessage() for r in caplog.records if r.name == "waitress.queue"]
    assert lines == [waited(1, 1)]


def test_the_queue_line_after_a_quiet_period_says_how_many_waited_and_how_deep_the_queue_got():
    now = [100.0]
    warnings = QueueWarnings(seconds=60, now=lambda: now[0])

    def warned(depth: int) -> str | None:
        record = logging.LogRecord("waitress.queue", logging.WARNING, __file__, 1, "Task queue depth is %d",
                                   (depth,), None)
        return record.getMessage() if warnings.filter(record) else None

    assert warned(2) == waited(1, 2)
    now[0] = 130.0
    assert warned(7) is None
    assert warned(3) is None
    now[0] = 160.5
    assert warned(1) == waited(3, 7)
    now[0] = 161.0
    assert warned(1) is None
