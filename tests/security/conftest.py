"""The portal's fixtures (tests/portal/conftest.py), for the security tests that go through the portal."""

from tests.portal.conftest import (  # noqa: F401 (fixtures)
    app, closed_address, fake_notify, fake_sla, grpc_address, intake_address, make_app, others_address, portal_url,
    visitor)
from tests.portal.test_staff_sign_in import staff  # noqa: F401,E402 (a fixture)
from tests.e2e.conftest import mailbox, running  # noqa: F401,E402 (fixtures: the whole system, per module)
