"""The whole system as separate processes against a real PostgreSQL, SMTP server and clock file."""

import functools
import socket
import time

import grpc
import pytest

from services.plumbing import local_system
from services.plumbing.local_system import Mailbox, free_port
from tests.support import IDENTITY_KEY

# The whole system, signing with the tests' identity key as their callers do.
whole_system = functools.partial(local_system.whole_system, identity_key=IDENTITY_KEY)


@pytest.fixture(scope="module")
def mailbox():
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def running(make_database, tmp_path_factory, mailbox):
    with whole_system(make_database(), tmp_path_factory.mktemp("system"), free_port(),
                      NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(mailbox.port)) as system:
        yield system


def eventually(check, timeout=60.0, interval=0.1, what="condition"):
    """Polls `check` until it returns a truthy value; fails with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except grpc.RpcError as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout} s; last: {last!r}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
