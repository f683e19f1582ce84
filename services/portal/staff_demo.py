"""Demo staff accounts (SP4N_DEMO_DATA=1), one of each role, made at portal start and logged with their
passwords so that `make run` shows how to sign in.

A demo password is derived from the identity key, like the demo API key: it is the same at every
start with the same key, and no one without the key can know it (and whoever has the key can sign
any caller identity anyway). Starting again changes nothing; started with another key, the demo
accounts take that key's passwords.
"""

import base64
import hashlib
import hmac
import logging

from services.plumbing.identity import AGENCY_ADMIN, LIAISON_OFFICER, NATIONAL_ADMIN, PROCESS_ANALYST
from services.portal.staff_accounts import NewStaffAccount, StaffAccount
from services.portal.staff_service import StaffService

log = logging.getLogger(__name__)

TANAH_BUMBU = "kab-tanah-bumbu"
TANAH_BUMBU_PUPR = "kab-tanah-bumbu-dinas-pupr"
# (username, role, agency). The regency's administrator has units to dispatch reports to.
ACCOUNTS = (
    ("admin-nasional", NATIONAL_ADMIN, ""),
    ("admin-pupr-tanbu", AGENCY_ADMIN, TANAH_BUMBU_PUPR),
    ("petugas-pupr-tanbu", LIAISON_OFFICER, TANAH_BUMBU_PUPR),
    ("analis", PROCESS_ANALYST, ""),
    ("admin-tanbu", AGENCY_ADMIN, TANAH_BUMBU),
)


def password(identity_key: str, username: str) -> str:
    """The demo password of `username`: 'demo-' and 16 letters and digits, easy to type."""
    mac = hmac.new(identity_key.encode(), f"sp4n-demo-staff:{username}".encode(), hashlib.sha256).digest()
    letters = base64.b32encode(mac[:10]).decode().lower()
    return f"demo-{letters[:4]}-{letters[4:8]}-{letters[8:12]}-{letters[12:16]}"


def ensure(service: StaffService, identity_key: str) -> list[tuple[StaffAccount, str]]:
    """Makes sure every demo account exists with its demo password and logs how to sign in to it;
    each account with its password."""
    made = []
    for username, role, agency_id in ACCOUNTS:
        secret = password(identity_key, username)
        account, outcome = service.ensure(NewStaffAccount(username=username, password=secret, role=role,
                                                          agency_id=agency_id))
        if outcome == "taken":
            log.warning("the staff account %s exists with another role or agency: not a demo account", username)
            continue
        if not account.active:
            log.warning("the demo staff account %s is disabled: it cannot sign in", username)
            continue
        made.append((account, secret))
        log.info("demo staff account %s / %s (%s%s)", username, secret, role, f", {agency_id}" if agency_id else "")
    return made
