"""Server-side sessions for the portal's pages, for reporters and staff alike.

The browser holds a random session id in a cookie (HttpOnly, SameSite=Lax, Secure over HTTPS);
the portal keeps only its SHA-256 in `portal.sessions`, with the session's data, its CSRF token
and its expiry: a session ends after `idle` without a request, and at the latest `absolute` after
it began. Whoever gains a privilege through a session (signs in, proves access to a report) gets
a new session id and CSRF token (`Sessions.rotate`), so that an id planted or seen before is
worth nothing afterwards.

A session is made only when a page needs one (a form to protect, something to remember), not
for every visitor.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, g, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from services.plumbing.clock import Clock

COOKIE = "sp4n_sesi"
CSRF_FIELD = "csrf_token"
MAX_ID_LENGTH = 100
EXPIRED_DELETED_PER_NEW_SESSION = 100  # expired rows go a few at a time, as new sessions come


@dataclass
class Session:
    id: str  # the cookie's value; only its hash is stored
    csrf_token: str
    created_at: datetime
    data: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A name for the session in records such as rate limits that does not reveal its id."""
        return _hash(self.id).hex()


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def end_sessions_holding(conn, name: str, entry: dict, *, keep: str | None = None) -> int:
    """Ends every session whose data holds `entry` under `name` (a staff member's, say), but the one with
    id `keep`; returns how many. On the caller's connection, so that it commits with what it follows
    (a changed password)."""
    return conn.execute("DELETE FROM portal.sessions WHERE data -> %s = %s AND id_hash IS DISTINCT FROM %s",
                        (name, Jsonb(entry), _hash(keep) if keep else None)).rowcount


class SessionStore:
    """Sessions in portal.sessions. Each method is its own transaction."""

    def __init__(self, *, pool: ConnectionPool, clock: Clock, idle: timedelta, absolute: timedelta):
        self.pool = pool
        self.clock = clock
        self.idle = idle
        self.absolute = absolute

    def _expiry(self, created_at: datetime, now: datetime) -> datetime:
        return min(now + self.idle, created_at + self.absolute)

    def create(self, data: dict | None = None, *, created_at: datetime | None = None) -> Session:
        """A new session holding `data`; `created_at` carries a rotated session's absolute expiry over."""
        now = self.clock.now()
        session = Session(id=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32),
                          created_at=created_at or now, data=dict(data or {}))
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM portal.sessions WHERE id_hash IN (SELECT id_hash FROM portal.sessions "
                         "WHERE expires_at <= %s LIMIT %s)", (now, EXPIRED_DELETED_PER_NEW_SESSION))
            conn.execute("INSERT INTO portal.sessions "
                         "(id_hash, csrf_token, data, created_at, last_seen_at, expires_at) "
                         "VALUES (%s, %s, %s, %s, %s, %s)",
                         (_hash(session.id), session.csrf_token, Jsonb(session.data), session.created_at, now,
                          self._expiry(session.created_at, now)))
        return session

    def load(self, session_id: str) -> Session | None:
        """The live session with this id, its idle expiry moved on; None if unknown or expired."""
        if not session_id or len(session_id) > MAX_ID_LENGTH:
            return None
        now = self.clock.now()
        with self.pool.connection() as conn:
            row = conn.execute(
                "UPDATE portal.sessions SET last_seen_at = %s, expires_at = least(%s, created_at + %s) "
                "WHERE id_hash = %s AND expires_at > %s RETURNING csrf_token, data, created_at",
                (now, now + self.idle, self.absolute, _hash(session_id), now)).fetchone()
        if row is None:
            return None
        return Session(id=session_id, csrf_token=row["csrf_token"], created_at=row["created_at"], data=row["data"])

    def save(self, session: Session) -> None:
        """Stores the session's data."""
        with self.pool.connection() as conn:
            conn.execute("UPDATE portal.sessions SET data = %s WHERE id_hash = %s",
                         (Jsonb(session.data), _hash(session.id)))

    def delete(self, session: Session) -> None:
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM portal.sessions WHERE id_hash = %s", (_hash(session.id),))

    def rotate(self, session: Session) -> Session:
        """The same session under a new id and CSRF token; the old id stops working."""
        self.delete(session)
        return self.create(session.data, created_at=session.created_at)


class Sessions:
    """The session of the request being served, on top of a store: made on first need, its
    cookie set or cleared on the response."""

    def __init__(self, app: Flask, store: SessionStore):
        self.store = store
        app.after_request(self._set_cookie)
        app.jinja_env.globals.update(csrf_token=lambda: self.current().csrf_token, CSRF_FIELD=CSRF_FIELD)

    def peek(self) -> Session | None:
        """The request's session if it has one; never makes one."""
        if "portal_session" not in g:
            g.portal_session = self.store.load(request.cookies.get(COOKIE, ""))
        return g.portal_session

    def current(self) -> Session:
        """The request's session, made now if it has none."""
        session = self.peek()
        if session is None:
            session = g.portal_session = self.store.create()
            g.portal_session_cookie = "set"
        return session

    def save(self) -> None:
        self.store.save(self.current())

    def leave_notice(self, name: str, notice: dict) -> None:
        """Keeps `notice` for the next page that takes it (after a form's redirect)."""
        self.current().data[name] = notice
        self.save()

    def take_notice(self, name: str) -> dict | None:
        """The notice left under `name`, once; None when there is none."""
        session = self.peek()
        notice = session.data.pop(name, None) if session else None
        if notice is not None:
            self.save()
        return notice

    def rotate(self) -> Session:
        """Gives the session a new id and CSRF token (call it on gaining a privilege)."""
        session = self.peek()
        g.portal_session = self.store.rotate(session) if session else self.store.create()
        g.portal_session_cookie = "set"
        return g.portal_session

    def end(self) -> None:
        """Forgets the session (signing out)."""
        if (session := self.peek()) is not None:
            self.store.delete(session)
        g.portal_session = None
        g.portal_session_cookie = "clear"

    def csrf_ok(self) -> bool:
        """Whether a posted form carries the CSRF token of the request's session."""
        session = self.peek()
        sent = request.form.get(CSRF_FIELD, "")
        return session is not None and bool(sent) and hmac.compare_digest(sent.encode(), session.csrf_token.encode())

    def _set_cookie(self, response):
        action = g.get("portal_session_cookie")
        if action == "set":
            response.set_cookie(COOKIE, g.portal_session.id, httponly=True, samesite="Lax",
                                secure=request.is_secure)
        elif action == "clear":
            response.delete_cookie(COOKIE, httponly=True, samesite="Lax", secure=request.is_secure)
        return response
