"""The categories a report carries (kategori laporan), as the codes every service and the portal share.

A report's category says what it is about; routing's rules send a category from a region to the
agency competent for it, so a rule for any other code would never match a report, and the portal
offers exactly these codes on its forms, its public feed, its API and Open311. The list lives here,
not in one service, because services may not import each other.

Adding a category means adding its code here, its Indonesian label in the portal's forms.CATEGORIES
(the portal refuses to start with a code it has no label for) and that label's English in
services/portal/translations/en/common.json (tests/portal/test_i18n.py fails without it), then a rule
sending it somewhere, or its reports go by region alone.
"""

from collections.abc import Mapping
from typing import TypeVar

from services.plumbing.errors import InvalidArgument

# In the order forms offer them; "lainnya" (other) last.
CODES = ("infrastruktur", "kesehatan", "pendidikan", "perhubungan", "lingkungan", "administrasi-kependudukan",
         "lainnya")

T = TypeVar("T")


def labelled(labels: Mapping[str, T]) -> dict[str, T]:
    """`labels` in the order of CODES, refusing (so that it shows when the module that holds them is
    imported, not when a page needs a missing one) a category without a label or a label of no category."""
    missing, unknown = [c for c in CODES if c not in labels], sorted(set(labels) - set(CODES))
    if missing or unknown:
        raise ValueError(f"category labels must name each of {', '.join(CODES)}: "
                         f"missing {missing or 'none'}, not a category {unknown or 'none'}")
    return {code: labels[code] for code in CODES}


def check(value: str, field: str = "category", *, optional: bool = False) -> str:
    """Refuses a category reports do not carry (a rule for it would never match, a filter never find
    it); empty passes when `optional` (a report the verifier has not categorised yet)."""
    if (value or not optional) and value not in CODES:
        raise InvalidArgument(field, f"{value[:40]!r} is not a category reports carry; one of {', '.join(CODES)}")
    return value
