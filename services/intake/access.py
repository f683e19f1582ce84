"""Who may see and answer a report, and the reporter's secret access code.

A reporter without an account follows their report with an access code given once, at submission. The
portal checks it here and then acts for the reporter with an identity whose subject is the tracking ID;
a signed-in reporter's identity names their account ("account:<n>") instead.
"""

import hashlib
import hmac
import re

from services.intake.domain import ACCOUNT_ID, ADMINISTRATOR, REPORTER, Report, random_code
from services.intake.submission import mobile_number
from services.plumbing import identity
from services.plumbing.identity import Caller

PORTAL = "portal"
AGENCY_STAFF = frozenset({identity.AGENCY_ADMIN, identity.LIAISON_OFFICER})

CODE_LENGTH = 16  # Crockford base32: 5 bits a character, 80 bits in all
CODE_GROUP = 4
_CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{16}")
_SEPARATORS = re.compile(r"[\s-]")
# Crockford's decoding: letters that are read as digits are taken as those digits.
_READ_AS_DIGITS = str.maketrans("OIL", "011")


def new_access_code() -> str:
    """A random code: 16 characters of Crockford's base32."""
    return random_code(CODE_LENGTH)


def shown(code: str) -> str:
    """A code as the reporter is given it, in groups of four: 7K3Q-X9MA-PD2R-WT5B."""
    return "-".join(code[i:i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def normalised_code(typed: str) -> str | None:
    """The code as typed, in any case, with or without dashes and spaces, as its 16 characters; None
    when it cannot be a code."""
    compact = _SEPARATORS.sub("", typed)
    if not compact.isascii():
        return None
    compact = compact.upper().translate(_READ_AS_DIGITS)
    return compact if _CODE.fullmatch(compact) else None


def code_hash(code: str) -> bytes:
    """The hash kept of a code (its 16 characters). A fast hash is enough: the code is 80 random bits,
    not a password a person chose, so there is no dictionary to try and no hope of trying them all."""
    return hashlib.sha256(code.encode()).digest()


def code_matches(typed: str, stored: bytes | None) -> bool:
    """Whether `typed` is the code whose hash is `stored`, compared in constant time. A report without
    a code (or no report at all) is compared with a hash that no code has, so it takes as long."""
    code = normalised_code(typed)
    return hmac.compare_digest(code_hash(code or ""), stored or bytes(32)) and code is not None


def is_reporter_of(caller: Caller, report: Report) -> bool:
    """The reporter who proved their access code (subject: the tracking ID) or owns the report's account."""
    return caller.role == identity.REPORTER and (
        caller.subject == report.tracking_id or (report.account_id != "" and caller.subject == report.account_id))


def sees_every_report(caller: Caller) -> bool:
    """National administrators and the services that run the process. The portal's own identity sees
    none: it acts as the person it serves."""
    return caller.role == identity.NATIONAL_ADMIN or (caller.is_service() and caller.subject != PORTAL)


def may_read(caller: Caller, report: Report) -> bool:
    """Its reporter, staff of its assigned agency, and those who see every report."""
    return (sees_every_report(caller) or is_reporter_of(caller, report)
            or (caller.role in AGENCY_STAFF and caller.agency_id != "" and caller.agency_id == report.agency_id))


def sees_reporter_name(caller: Caller, report: Report) -> bool:
    return caller.role == identity.NATIONAL_ADMIN and not report.anonymous


def answer_author(caller: Caller, report: Report, *, administrators: bool, sender_phone: str = "",
                  reporter_phone: str = "") -> str | None:
    """Who a reply or completion is from, None when `caller` may not post it: the reporter, a national
    administrator when `administrators` may, or the portal passing on an SMS from the reporter's phone."""
    if is_reporter_of(caller, report):
        return REPORTER
    if administrators and caller.role == identity.NATIONAL_ADMIN:
        return ADMINISTRATOR
    if caller.is_service(PORTAL) and reporter_phone and mobile_number(sender_phone) == reporter_phone:
        return REPORTER
    return None


def listed_account(caller: Caller) -> str | None:
    """The account whose reports a caller may list: a signed-in reporter's own."""
    if caller.role == identity.REPORTER and ACCOUNT_ID.fullmatch(caller.subject):
        return caller.subject
    return None


def may_list_agency(caller: Caller, agency_id: str) -> bool:
    return caller.role == identity.NATIONAL_ADMIN or (caller.role in AGENCY_STAFF and caller.agency_id == agency_id)
