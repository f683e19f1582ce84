"""Reports submitted through the REST API, by API key and Idempotency-Key: what makes a repeated
request answer 200 with its first report, and the same key on a different request a refusal."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Submitted:
    request_sha256: bytes
    tracking_id: str


def earlier(conn, *, key_id: int, idempotency_key: str) -> Submitted | None:
    row = conn.execute("SELECT request_sha256, tracking_id FROM portal.api_submissions "
                       "WHERE key_id = %s AND idempotency_key = %s", (key_id, idempotency_key)).fetchone()
    return Submitted(bytes(row["request_sha256"]), row["tracking_id"]) if row else None


def record(conn, *, key_id: int, idempotency_key: str, request_sha256: bytes, tracking_id: str) -> bool:
    """Records a submission; False when the key had one already (a repeat)."""
    return conn.execute("INSERT INTO portal.api_submissions (key_id, idempotency_key, request_sha256, tracking_id) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (key_id, idempotency_key, request_sha256, tracking_id)).rowcount == 1
