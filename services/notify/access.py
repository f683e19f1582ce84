"""Who may read which notifications of a report.

Notifications tell of a report's progress, so they follow the report's own access: services and
national administrators read them all; agency staff only what was addressed to their agency, and
only while the report is assigned to it; a reporter only what was sent to them about the report whose
access code they proved. Process analysts study deadlines (sla), not messages: they read none. A
signed-in reporter ("account:<n>") is refused: notify does not know which account sent a report (the
portal asks with its own identity once intake let the reporter see the report).
"""

from collections.abc import Callable

from services.notify.domain import Notification, Recipient
from services.plumbing import identity

AGENCY_STAFF = frozenset({identity.AGENCY_ADMIN, identity.LIAISON_OFFICER})

Audience = Callable[[Notification], bool]


def visible_to(caller: identity.Caller, tracking_id: str, *, assigned_agency: str | None) -> Audience | None:
    """Which of report `tracking_id`'s notifications `caller` may read, or None when none at all.
    `assigned_agency`: the agency the report is assigned to now (asked only for agency staff)."""
    if caller.role in (identity.SERVICE, identity.NATIONAL_ADMIN):
        return lambda n: True
    if caller.role in AGENCY_STAFF:
        if not caller.agency_id or caller.agency_id != assigned_agency:
            return None
        return lambda n: n.recipient is Recipient.AGENCY and n.agency_id == caller.agency_id
    if caller.role == identity.REPORTER and caller.subject == tracking_id:
        return lambda n: n.recipient is Recipient.REPORTER
    return None
