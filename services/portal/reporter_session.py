"""What a reporter's session holds: the reports it proved access to (by access code, or by
sending them), the signed-in reporter account, and a new report's access code until it is shown.

The access code of a new report is never put in a URL: it waits in the server-side session for
the confirmation page, which shows it once.
"""

from services.plumbing import identity
from services.portal.intake_client import reporter
from services.portal.sessions import Session, Sessions

REPORTS = "reports"
ACCOUNT = "account"
SUBMITTED = "submitted"
MAX_REPORTS = 20  # reports one session may follow by code; the oldest is forgotten first


def account(session: Session | None) -> dict | None:
    """The signed-in account ({"id", "name", "email", "phone"}), or None."""
    return session.data.get(ACCOUNT) if session else None


def account_subject(account_id: str) -> str:
    return account_id if account_id.startswith("account:") else f"account:{account_id}"


def callers(session: Session | None, tracking_id: str) -> list[identity.Caller]:
    """The reporter identities this session may try for a report, the proven access code first."""
    found = []
    if session and tracking_id in session.data.get(REPORTS, []):
        found.append(reporter(tracking_id))
    if (signed_in := account(session)) is not None:
        found.append(reporter(account_subject(signed_in["id"])))
    return found


def grant(sessions: Sessions, tracking_id: str) -> None:
    """Lets the session follow the report (its access code was proven), under a new session id."""
    session = sessions.rotate()
    granted = [t for t in session.data.get(REPORTS, []) if t != tracking_id]
    session.data[REPORTS] = (granted + [tracking_id])[-MAX_REPORTS:]
    sessions.save()


def submitted(sessions: Sessions, tracking_id: str, access_code: str) -> None:
    """A report was just sent from this session: it may follow it, and the code waits to be shown."""
    grant(sessions, tracking_id)
    session = sessions.current()
    session.data[SUBMITTED] = {"tracking_id": tracking_id, "access_code": access_code}
    sessions.save()


def take_submitted(sessions: Sessions) -> tuple[str, str] | None:
    """The last report sent from this session and its access code; the code only the first time."""
    session = sessions.peek()
    if session is None or SUBMITTED not in session.data:
        return None
    held = session.data[SUBMITTED]
    if held.get("access_code"):
        session.data[SUBMITTED] = {"tracking_id": held["tracking_id"], "access_code": ""}
        sessions.save()
    return held["tracking_id"], held.get("access_code", "")


def sign_in(sessions: Sessions, signed_in) -> None:
    """Signs the session in to a reporter account (intake's ReporterAccount), under a new session id."""
    session = sessions.rotate()
    session.data[ACCOUNT] = {"id": signed_in.id, "name": signed_in.name, "email": signed_in.email,
                             "phone": signed_in.phone}
    sessions.save()
