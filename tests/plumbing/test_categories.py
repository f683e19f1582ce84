"""One list of the categories reports carry, which the portal labels in full and routing accepts."""

import re

import pytest

from services.plumbing import categories
from services.portal import forms
from services.routing.domain import CATEGORY

LABELS = {code: code.replace("-", " ").capitalize() for code in categories.CODES}


def test_each_code_is_distinct_and_one_routing_takes_on_a_report():
    assert len(set(categories.CODES)) == len(categories.CODES) >= 2
    assert all(CATEGORY.match(code) for code in categories.CODES)
    assert categories.CODES[-1] == "lainnya"


def test_labels_come_back_in_the_order_of_the_codes_whatever_order_they_were_written_in():
    written = dict(reversed(LABELS.items()))
    assert list(categories.labelled(written).items()) == list(LABELS.items())


@pytest.mark.parametrize("labels, named", [
    ({c: l for c, l in LABELS.items() if c != "kesehatan"}, "missing ['kesehatan']"),
    ({**LABELS, "banjir": "Banjir"}, "not a category ['banjir']"),
    ({}, "missing ['infrastruktur', "),
])
def test_a_category_without_a_label_or_a_label_of_no_category_is_refused(labels, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        categories.labelled(labels)


def test_the_portal_labels_each_category_in_order():
    assert list(forms.CATEGORIES) == list(categories.CODES)
    assert all(isinstance(label, str) and label for label in forms.CATEGORIES.values())
