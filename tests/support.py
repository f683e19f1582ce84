"""Helpers for tests: signed callers and the test identity key."""

from pathlib import Path

from services.plumbing import identity

ROOT = Path(__file__).resolve().parents[1]
IDENTITY_KEY = "test-identity-key-not-a-secret-0123456789"


def caller(role: str, subject: str = "tester", agency_id: str = "") -> list[tuple[str, str]]:
    """Call metadata carrying a signed identity."""
    return [(identity.METADATA_KEY, identity.sign(identity.Caller(subject, role, agency_id), IDENTITY_KEY))]


def service_caller(name: str) -> list[tuple[str, str]]:
    return caller(identity.SERVICE, name)
