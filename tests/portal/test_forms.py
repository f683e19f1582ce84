"""What makes a posted form's nonce an idempotency key: a nonce this portal issued, sent with the
CSRF token of the session it is sent in (the pages that rely on it are tested through HTTP)."""

from datetime import timedelta

import pytest
from flask import Flask

from services.portal import forms
from services.portal.sessions import COOKIE, CSRF_FIELD, Session, Sessions, SessionStore

NONCES = forms.Nonces("the portal's identity key")


def altered(text: str) -> str:
    """`text` with its last character changed."""
    return text[:-1] + ("A" if text[-1] != "A" else "B")


@pytest.fixture
def app():
    return Flask(__name__)


@pytest.fixture
def sessions(app, pool, clock):
    store = SessionStore(pool=pool, clock=clock, idle=timedelta(minutes=30), absolute=timedelta(hours=2))
    return Sessions(app, store)


@pytest.fixture
def post(app, sessions):
    """posted_key for a form sent with a nonce and a CSRF token (made from the session) in a session of its own."""
    def post(nonce: str, csrf_token=lambda session: session.csrf_token) -> str | None:
        session: Session = sessions.store.create()
        with app.test_request_context(method="POST", data={"nonce": nonce, CSRF_FIELD: csrf_token(session)},
                                      headers={"Cookie": f"{COOKIE}={session.id}"}):
            return NONCES.posted_key(sessions)
    return post


def test_a_nonce_this_portal_issued_with_the_sessions_csrf_token_is_the_forms_key(post):
    nonce = NONCES.issue()
    assert post(nonce) == NONCES.key(nonce) == f"web-form:{nonce.partition('.')[0]}"


@pytest.mark.parametrize("nonce", [
    forms.Nonces("another portal's identity key").issue(),  # stale: issued before the key changed
    altered(NONCES.issue()),
    "pilihan-sendiri.0123456789abcdef0123456789abcdef",  # one a browser made up
    "",
], ids=["issued under another key", "signature altered", "made up", "none"])
def test_a_stale_or_forged_nonce_is_no_key_even_with_the_sessions_csrf_token(post, nonce):
    assert post(nonce) is None


@pytest.mark.parametrize("csrf_token", [lambda session: altered(session.csrf_token), lambda session: ""],
                         ids=["another token", "none"])
def test_a_good_nonce_is_no_key_without_the_sessions_csrf_token(post, csrf_token):
    assert post(NONCES.issue(), csrf_token) is None
