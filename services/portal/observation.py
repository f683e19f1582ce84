"""What the portal's HTTP side tells operators: a request id per request, bound while it is handled
(and so sent on every gRPC call it makes) and returned in `X-Request-Id`; an access log line; and the
request counters and latency histograms of services.plumbing.metrics.

Only the route (`/lacak/<tracking_id>`), the method and the status are logged and counted: a path or
query string may hold a tracking id, an access code or a token, and headers and forms hold contact
details and secrets.
"""

import logging
import time

from flask import Flask, g, request

from services.plumbing import metrics, request_ids
from services.plumbing.logs import fields

log = logging.getLogger(__name__)


def _route() -> str:
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def install(app: Flask) -> None:
    @app.before_request
    def begin():
        g.request_id = request_ids.taken_or_new(request.headers.get(request_ids.HTTP_HEADER))
        g.request_id_token = request_ids.bind(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def end(response):
        if "request_started" not in g:  # a failure before `begin` ran
            return response
        elapsed = time.perf_counter() - g.request_started
        route = _route()
        metrics.HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(request.method, route).observe(elapsed)
        response.headers[request_ids.HTTP_HEADER] = g.request_id
        if request.endpoint != "static":
            log.info("%s %s %d", request.method, route, response.status_code,
                     extra=fields(ms=round(elapsed * 1000, 1)))
        return response

    @app.teardown_request
    def unbind(_error):
        if (token := g.pop("request_id_token", None)) is not None:
            request_ids.unbind(token)
