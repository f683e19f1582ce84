"""Checks of free text that every service applies to what people type."""

import re

# Unicode's control characters (category Cc): C0, DEL and C1. One regular expression rather than a
# look-up per character, as every text field of every request passes through it.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, LF and CR allowed


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether `value` holds a control character; with `multiline`, tabs and line breaks are allowed."""
    return (_CONTROL_BUT_LINE_BREAKS if multiline else _CONTROL).search(value) is not None
