"""The rule choice and the regional fallback, as pure functions."""

from services.routing.domain import Rule, best_rule, regional_governments


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
