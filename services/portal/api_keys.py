"""API keys of the REST API: for reporters' apps (kind `app`) and agencies' own systems (kind
`agency`, acting for one agency).

A key is shown once, when it is created; the portal keeps only its SHA-256. The key begins with a
short public prefix that finds its row, and the hashes are compared in constant time.

    python -m services.portal.api_keys create --name NAME --kind app|agency [--agency-id ID]
    python -m services.portal.api_keys list
    python -m services.portal.api_keys revoke NAME

The commands read DATABASE_URL and apply the portal's migrations first.
"""

import argparse
import base64
import hashlib
import hmac
import logging
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from services.plumbing import config, db

log = logging.getLogger(__name__)

APP = "app"
AGENCY = "agency"
KINDS = (APP, AGENCY)
KEY_TAG = "sp4n_"  # makes a leaked key easy to recognise (secret scanners, logs)
MAX_KEY = 200
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")
DEMO_NAME = "demo-app"
_NO_KEY = bytes(32)  # compared against when no row matches, so that a miss takes as long as a hit
_COLUMNS = "id, name, kind, agency_id, created_at, revoked_at"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    kind: str
    agency_id: str
    created_at: datetime
    revoked_at: datetime | None = None


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _new_key() -> tuple[str, str]:
    """A fresh (prefix, key): the prefix is public, the rest (256 random bits) is the secret."""
    prefix = KEY_TAG + secrets.token_hex(4)
    return prefix, f"{prefix}.{secrets.token_urlsafe(32)}"


def _insert(conn, *, name: str, kind: str, agency_id: str, prefix: str, key: str) -> ApiKey | None:
    if not NAME.fullmatch(name):
        raise ValueError("name: 2 to 63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}")
    if (kind == AGENCY) != bool(agency_id):
        raise ValueError("an agency key needs --agency-id; an app key takes none")
    row = conn.execute(f"INSERT INTO portal.api_keys (name, kind, agency_id, prefix, key_sha256) "
                       f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING {_COLUMNS}",
                       (name, kind, agency_id, prefix, digest(key))).fetchone()
    return ApiKey(**row) if row else None


def create(conn, *, name: str, kind: str, agency_id: str = "") -> tuple[ApiKey, str]:
    """A new key and its secret text (shown once); ValueError if the name is taken or not valid."""
    prefix, key = _new_key()
    created = _insert(conn, name=name, kind=kind, agency_id=agency_id.strip(), prefix=prefix, key=key)
    if created is None:
        raise ValueError(f"a key named {name} already exists")
    return created, key


def find(conn, presented: str) -> ApiKey | None:
    """The active key whose text was presented; None for an unknown, malformed or revoked key."""
    prefix, dot, _ = presented.partition(".")
    row = None
    if dot and len(presented) <= MAX_KEY:
        row = conn.execute(f"SELECT {_COLUMNS}, key_sha256 FROM portal.api_keys WHERE prefix = %s",
                           (prefix,)).fetchone()
    stored = bytes(row.pop("key_sha256")) if row else _NO_KEY
    if not hmac.compare_digest(digest(presented), stored) or row is None or row["revoked_at"] is not None:
        return None
    return ApiKey(**row)


def list_keys(conn) -> list[ApiKey]:
    return [ApiKey(**row) for row in conn.execute(f"SELECT {_COLUMNS} FROM portal.api_keys ORDER BY name")]


def revoke(conn, name: str) -> bool:
    """Revokes the named key; False when there is no such active key."""
    return conn.execute("UPDATE portal.api_keys SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL",
                        (name,)).rowcount == 1


def demo_key(identity_key: str) -> str:
    """The demo app's key: derived from the identity key, so that it is the same at every start."""
    mac = hmac.new(identity_key.encode(), b"sp4n-demo-app-api-key", hashlib.sha256).digest()
    return f"{KEY_TAG}{mac[:4].hex()}.{base64.urlsafe_b64encode(mac[4:]).rstrip(b'=').decode()}"


def ensure_demo_key(pool, identity_key: str) -> None:
    """Makes the demo app key (SP4N_DEMO_DATA=1) the one derived from this start's identity key, and
    logs it: `make run` draws a new identity key at each start, and the key it logs must work."""
    key = demo_key(identity_key)
    with pool.connection() as conn:
        conn.execute("INSERT INTO portal.api_keys (name, kind, agency_id, prefix, key_sha256) "
                     "VALUES (%s, %s, '', %s, %s) ON CONFLICT (name) DO UPDATE "
                     "SET kind = excluded.kind, agency_id = '', prefix = excluded.prefix, "
                     "key_sha256 = excluded.key_sha256, revoked_at = NULL",
                     (DEMO_NAME, APP, key.partition(".")[0], digest(key)))
    log.info("demo API key (%s, app): %s", DEMO_NAME, key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.portal.api_keys", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("create", help="create a key and print it (once)")
    made.add_argument("--name", required=True)
    made.add_argument("--kind", required=True, choices=KINDS)
    made.add_argument("--agency-id", default="", help="the agency an agency key acts for")
    commands.add_parser("list", help="list the keys (never their secret)")
    revoked = commands.add_parser("revoke", help="revoke a key for good")
    revoked.add_argument("name")
    args = parser.parse_args(argv)

    url = config.get("DATABASE_URL")
    db.migrate(url, schema="portal", folder=Path(__file__).with_name("migrations"))
    with psycopg.connect(url, row_factory=dict_row) as conn:
        if args.command == "create":
            try:
                key, secret = create(conn, name=args.name, kind=args.kind, agency_id=args.agency_id)
            except ValueError as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
            print(f"created {key.kind} key {key.name}" + (f" for agency {key.agency_id}" if key.agency_id else "")
                  + ". Keep it now; it is not shown again:", file=sys.stderr)
            print(secret)
        elif args.command == "list":
            for key in list_keys(conn):
                state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
                print(f"{key.name}\t{key.kind}\t{key.agency_id or '-'}\t{key.created_at:%Y-%m-%d %H:%M}\t{state}")
        elif not revoke(conn, args.name):
            print(f"error: no active key named {args.name}", file=sys.stderr)
            return 1
        else:
            print(f"revoked {args.name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
