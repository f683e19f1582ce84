"""The controllable clock and the signed caller identity."""

from datetime import datetime, timedelta, timezone

import pytest

from services.plumbing import clock as clocks
from services.plumbing import identity
from services.plumbing.errors import Unauthenticated

KEY = "k" * 32


def test_a_file_clock_is_shared_by_every_reader_of_its_file(tmp_path):
    writer, reader = clocks.FileClock(tmp_path / "c.json"), clocks.FileClock(tmp_path / "c.json")
    before = reader.now()
    writer.advance(timedelta(days=11))
    assert timedelta(days=11) <= reader.now() - before < timedelta(days=11, seconds=5)
    writer.set(datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc))
    assert abs(reader.now() - datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)) < timedelta(seconds=5)


def test_the_clock_is_real_time_unless_configured():
    assert isinstance(clocks.from_setting("system"), clocks.SystemClock)
    assert isinstance(clocks.from_setting("file:/tmp/x.json"), clocks.FileClock)
    with pytest.raises(ValueError):
        clocks.from_setting("fast")


def test_the_clock_command_advances_the_shared_clock(tmp_path, capsys):
    path = str(tmp_path / "c.json")
    assert clocks.main([path, "advance", "36h"]) == 0
    assert clocks.FileClock(path).offset() == timedelta(hours=36)
    assert clocks.main([path, "reset"]) == 0
    assert clocks.FileClock(path).offset() == timedelta()
    assert clocks.main([path, "set", "2026-12-01T09:00:00"]) == 2  # a time without its offset is refused


@pytest.mark.parametrize("text, span", [("11d", timedelta(days=11)), ("90m", timedelta(minutes=90)),
                                        ("1.5h", timedelta(hours=1.5))])
def test_spans(text, span):
    assert clocks.parse_span(text) == span


def test_a_signed_identity_verifies_and_carries_its_claims():
    token = identity.sign(identity.Caller("lo-7", identity.LIAISON_OFFICER, "kab-tanah-bumbu"), KEY)
    caller = identity.verify(token, KEY)
    assert (caller.subject, caller.role, caller.agency_id) == ("lo-7", "liaison_officer", "kab-tanah-bumbu")


def test_forged_tampered_and_expired_identities_are_refused():
    token = identity.sign(identity.Caller("a", identity.NATIONAL_ADMIN), KEY)
    body, mac = token.split(".")
    tampered = identity.sign(identity.Caller("a", identity.REPORTER), KEY).split(".")[0] + "." + mac
    expired = identity.sign(identity.Caller("a", identity.NATIONAL_ADMIN), KEY,
                            now=datetime.now(timezone.utc) - timedelta(hours=1))
    for bad in [identity.sign(identity.Caller("a", identity.NATIONAL_ADMIN), "x" * 32), tampered, expired, "",
                "no-dot", "a.b.c"]:
        with pytest.raises(Unauthenticated):
            identity.verify(bad, KEY)
