"""The whole system, for the access matrix: the e2e fixtures, and the database it runs on."""

import pytest

from services.plumbing.local_system import free_port
from tests.e2e.conftest import mailbox, whole_system  # noqa: F401 (mailbox: a fixture used here)


@pytest.fixture(scope="module")
def system(make_database, tmp_path_factory, mailbox):  # noqa: F811
    """Every service as its own process on one migrated database; (running system, database URL)."""
    url = make_database()
    with whole_system(url, tmp_path_factory.mktemp("system"), free_port(),
                      NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=str(mailbox.port)) as running:
        yield running, url
