"""Checks of free text that every service applies to what people type."""

import re

# Unicode's control characters (category Cc): C0, DEL and C1. One regular expression rather than a
# look-up per character, as every text field of every request passes through it.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, LF and CR allowed


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether `value` holds a control character; with `multiline`, tabs and line breaks are allowed."""
    return (_CONTROL_BUT_LINE_BREAKS if multiline else _CONTROL).search(value) is not None


_SURROGATE = re.compile("[\ud800-\udfff]")


def holds_lone_surrogate(value) -> bool:
    """Whether a value read from JSON holds a string with a lone surrogate (U+D800 to U+DFFF), which is
    no character: JSON lets one through as an escape ("\\ud800"), and Python's json reads bytes with
    surrogatepass, but no UTF-8 text (a protobuf string, a PostgreSQL text) can carry it on."""
    pending = [value]
    while pending:  # not recursive: what json read may be nested nearly as deep as the stack allows
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
