"""The containers' health check asks the gRPC health service, or the portal's /healthz, and exits 0 or 1."""

import http.server
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.plumbing import healthcheck


def test_a_serving_grpc_server_is_healthy_and_a_missing_or_not_serving_one_is_not():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        assert healthcheck.main([str(port)]) == 0
        servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        assert healthcheck.main([str(port)]) == 1
    finally:
        server.stop(None)
    assert healthcheck.main([str(port)]) == 1


def test_the_portal_answers_over_http():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        assert healthcheck.main([f"{base}/healthz"]) == 0
        assert healthcheck.main([f"{base}/other"]) == 1
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert healthcheck.main([]) == 2
