"""python -m services.plumbing.healthcheck PORT | URL: a container health check without extra tools.

With a port, asks the gRPC health service (grpc.health.v1) on 127.0.0.1:PORT for the server's overall
health; with an http:// URL (the portal's /healthz), asks for it. Exits 0 when healthy, 1 otherwise.
"""

import sys
import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def grpc_serving(address: str, timeout: float = 3.0) -> bool:
    try:
        with grpc.insecure_channel(address) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                               timeout=timeout)
    except grpc.RpcError:
        return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


def http_ok(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except urllib.error.HTTPError as e:
        e.close()
        return False
    except OSError:
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m services.plumbing.healthcheck PORT|http://HOST:PORT/PATH", file=sys.stderr)
        return 2
    target = argv[0]
    healthy = http_ok(target) if target.startswith(("http://", "https://")) else grpc_serving(f"127.0.0.1:{target}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
