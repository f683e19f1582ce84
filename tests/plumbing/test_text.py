"""The control-character check every service applies agrees with Unicode's category Cc."""

import sys
import unicodedata

from services.plumbing.text import has_control_characters


def test_exactly_the_characters_of_category_cc_are_control_characters():
    for code in range(sys.maxunicode + 1):
        c = chr(code)
        control = unicodedata.category(c) == "Cc"
        assert has_control_characters(f"a{c}b") is control, hex(code)
        assert has_control_characters(f"a{c}b", multiline=True) is (control and c not in "\t\n\r"), hex(code)


def test_text_without_control_characters_passes():
    assert not has_control_characters("Lampu jalan mati di Jl. Raya Batulicin — sudah sebulan 🙁")
    assert has_control_characters("baris satu\nbaris dua")
    assert not has_control_characters("baris satu\r\nbaris dua\tdan tab", multiline=True)
