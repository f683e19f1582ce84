"""The rule choice, the regional fallback and the rules of a decline, as pure functions."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from services.plumbing.errors import FailedPrecondition, InvalidArgument
from services.routing.domain import (NATIONAL_DESK, Agency, Assignment, MatchedBy, Rule, best_rule,
                                     check_decline_reason, ensure_declinable, regional_governments)


def rule(id, prefix, agency, priority=0):
    return Rule(id, "infrastruktur", prefix, agency, priority)


RULES = [rule(1, "", "ministry"), rule(2, "63", "province"), rule(3, "6310", "unit"), rule(4, "6310", "unit-b", 5)]


def test_the_longest_matching_prefix_wins_then_the_highest_priority():
    assert best_rule(RULES, "6310012", frozenset()).agency_id == "unit-b"
    assert best_rule(RULES, "6371", frozenset()).agency_id == "province"
    assert best_rule(RULES, "31", frozenset()).agency_id == "ministry"
    assert best_rule(RULES, "", frozenset()).agency_id == "ministry"


def test_equal_rules_go_to_the_oldest():
    assert best_rule([rule(7, "63", "later"), rule(3, "63", "older")], "63", frozenset()).agency_id == "older"


def test_excluded_agencies_drop_out_and_the_next_best_rule_counts():
    assert best_rule(RULES, "6310", frozenset({"unit-b"})).agency_id == "unit"
    assert best_rule(RULES, "6310", frozenset({"unit-b", "unit"})).agency_id == "province"
    assert best_rule(RULES, "6310", frozenset({"unit-b", "unit", "province", "ministry"})) is None


def test_a_longer_prefix_than_the_region_does_not_match():
    assert best_rule([rule(1, "6310", "unit")], "63", frozenset()) is None


def test_the_government_of_a_region_is_its_regency_or_city_then_its_province():
    assert regional_governments("6310012") == [("6310", ("regency", "city")), ("63", ("province",))]
    assert regional_governments("63") == [("63", ("province",))]
    assert regional_governments("") == []


def test_a_decline_reason_is_stripped_and_bounded():
    assert check_decline_reason("  Bukan wewenang kami.  ") == "Bukan wewenang kami."
    assert check_decline_reason("Dua baris:\nbukan wewenang kami.") == "Dua baris:\nbukan wewenang kami."
    for bad in ["", "   ", "123456789", "x" * 2001, "nul\x00 di tengah alasan", "escape\x1b[31m di alasan"]:
        with pytest.raises(InvalidArgument) as e:
            check_decline_reason(bad)
        assert e.value.field == "reason"


def test_an_inactive_assignment_or_the_national_desk_cannot_decline():
    now = datetime(2026, 3, 16, 3, 0, tzinfo=timezone.utc)
    unit = Agency("unit", "U", "Unit", "nasional", "unit", "6310", "Asia/Makassar")
    active = Assignment("1", "LAP-AAAA0001", unit, MatchedBy.RULE, now, True)
    ensure_declinable(active)
    for assignment, words in [(replace(active, active=False), "replaced"),
                              (replace(active, active=False, declined_reason="x" * 10, declined_at=now), "declined"),
                              (replace(active, agency=NATIONAL_DESK, matched_by=MatchedBy.NATIONAL), "last resort")]:
        with pytest.raises(FailedPrecondition, match=words):
            ensure_declinable(assignment)
