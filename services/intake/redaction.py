"""Redaction of published text: Indonesian mobile numbers, e-mail addresses and NIK (the 16-digit
national ID) are replaced by a marker before anything is shown to the public or searched.

Pure functions, no I/O. When in doubt the rules hide too much rather than too little, but they
keep what complaints are full of: dates (17-08-2026), amounts (Rp 1.500.000), road and house
numbers, years and tracking IDs.
"""

import re
from typing import Iterable

MARKER = "[disembunyikan]"
# Bumped whenever the rules change, so that stored redacted copies written under older rules are
# redacted again (see public_repository.stale_redactions).
VERSION = 1

# Tracking IDs are public and may hold digit runs that look like the start of a phone number.
_TRACKING_ID = re.compile(r"(?<![\w.@+-])LAP-[0-9A-HJKMNP-TV-Z]{8}(?![\w@]|[.-]\w)")

# Address characters are those of RFC 5322 dot-atoms, and any letter or digit (EAI). Dots are
# accepted anywhere in the local part: a mistyped address is still someone's address.
_LOCAL = r"[\w.!#$%&'*+/=?^`{|}~-]"
_EMAIL = re.compile(rf"(?<!{_LOCAL}){_LOCAL}+@[\w-]+(?:\.[\w-]+)+")

# A NIK: sixteen digits, together or grouped with one kind of separator ("3201 2345 6789 0001",
# "32.01.23.456789.0001"). One kind only, so that two dates ("17-08-2026 18-08-2026") are not one NIK.
_NIK = re.compile(r"(?<!\d)(?:\d(?: ?\d){15}|\d(?:\.?\d){15}|\d(?:-?\d){15})(?!\d)")

# An Indonesian mobile number: 0 8x.., 62 8x.. or +62 8x.. (also "+62 0812.."), 9 to 14 digits in
# all, digit groups separated by up to four spaces, dots, dashes or brackets. "08x" is written
# together (so "17-08-2026" is a date), and a number does not start inside another one or right
# after "digit." (so "Rp 2.085.000.000" is an amount).
_SEP = r"[ \t\u00a0.()\-]{0,4}"
_PHONE = re.compile(
    rf"(?<!\d)(?<!\d[.,])"
    rf"(?:(?:\+[ \u00a0]?|\(\+?)?62\)?{_SEP}(?:\(?0\)?{_SEP})?8\d|08\d)"
    rf"(?:{_SEP}\d){{6,11}}(?!\d)"
)


class Known:
    """The words to hide besides the rules' (the reporter's own name and address), wherever a text
    repeats one of them as whole words, in any case and with any spacing; a value of fewer than three
    letters would hide too much and is skipped.

    Made once for all the texts of a report. A value's pattern is compiled only for a text that may
    hold it, and then once: every reporter has patterns of their own, which no cache keeps, and
    compiling one costs ten times as much as searching a text with it, while most texts never repeat
    the name at all."""

    def __init__(self, values: Iterable[str] = ()):
        split = (value.strip().lstrip("@").split() for value in values)
        self._values = [words for words in split if sum(len(w) for w in words) >= 3]
        self._patterns: dict[int, re.Pattern] = {}

    def hide(self, text: str) -> str:
        for n, words in enumerate(self._values):
            if _may_hold(text, words):
                if n not in self._patterns:
                    self._patterns[n] = re.compile(r"(?<!\w)@?" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)",
                                                   re.IGNORECASE)
                text = self._patterns[n].sub(MARKER, text)
        return text


def _may_hold(text: str, words: list[str]) -> bool:
    """False only where the words cannot match: in ASCII text, ASCII words match ignoring case only
    where each of them is in the text in lower case. A non-ASCII character may match others than its
    own lower case (re's IGNORECASE matches "ı" to "i", "K" to "k"): then the pattern decides."""
    if not (text.isascii() and all(w.isascii() for w in words)):
        return True
    lowered = text.lower()
    return all(w.lower() in lowered for w in words)


def _redact_segment(text: str) -> str:
    text = _EMAIL.sub(MARKER, text)
    text = _NIK.sub(MARKER, text)
    return _PHONE.sub(MARKER, text)


def redact(text: str, known: Known | Iterable[str] = ()) -> str:
    """`text` with phone numbers, e-mail addresses, NIK and each of `known` replaced by MARKER (a Known
    for the several texts of one report: see Known)."""
    if not text:
        return text
    text = (known if isinstance(known, Known) else Known(known)).hide(text)
    # Tracking IDs are kept as they are; the rules run on the text between them.
    pieces, start = [], 0
    for match in _TRACKING_ID.finditer(text):
        pieces += [_redact_segment(text[start:match.start()]), match.group()]
        start = match.end()
    pieces.append(_redact_segment(text[start:]))
    return "".join(pieces)
