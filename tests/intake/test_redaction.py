"""Redaction of published text, without a database or a server: phone numbers, e-mail addresses and
NIK written in the many ways people write them never survive it; ordinary complaint text passes
through unchanged."""

import re
import time

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from services.intake import redaction
from services.intake.redaction import MARKER, Known, redact

SEPARATORS = re.compile(r"[ \t\u00a0.()\-+]")
WORDS = ["jalan", "rusak", "parah", "sejak", "tanggal", "mohon", "segera", "diperbaiki", "warga", "Batulicin",
         "lampu", "mati", "di", "depan", "SDN", "pukul", "biaya", "sebesar", "nomor", "laporan", "Hubungi",
         "WA", "Telp.", "e-mail:", "kontak", "ke", "atau", "NIK", "saya", "Kel.", "Kec.", "RT/RW", "tahun"]

# Text around the personal data: anything, digits and punctuation included.
filler = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
# What stands between the filler and the data. Never a digit (then the number would be a longer
# one) and never "digit." or "digit," (then it reads as an amount such as Rp 2.085.000.000).
left = st.sampled_from([" ", "\n", ": ", " (", "(", ", ", "\t", "/", " ke "])
right = st.sampled_from([" ", ".", ",", ")", "\n", "!", " ", ". ", ";"])


# (text before, text after) the data.
around = st.tuples(st.tuples(filler, left).map("".join), st.tuples(right, filler).map("".join))


def digit_runs(text: str) -> str:
    """The text with separators removed, so that digits written in groups read as one run."""
    return SEPARATORS.sub("", text)


def nine_digit_windows(number: str) -> list[str]:
    return [number[i:i + 9] for i in range(len(number) - 8)]


def assert_no_nine_digits_of(number: str, redacted: str, *around: str) -> None:
    """No nine digits in a row of `number` are left, however they are grouped. Text `around` it that
    happens to hold such digits itself would prove nothing, so it does not count."""
    assume(not any(w in digit_runs(text) for text in around for w in nine_digit_windows(number)))
    runs = digit_runs(redacted)
    assert not any(w in runs for w in nine_digit_windows(number)), (number, redacted)


# --- phone numbers --------------------------------------------------------------------------------

@st.composite
def phones(draw) -> tuple[str, str]:
    """(digits, as written): an Indonesian mobile number, 8..13 digits after the country or trunk
    prefix, in groups of 2 to 5 with any mix of separators, any prefix form, maybe bracketed."""
    national = "8" + draw(st.text("0123456789", min_size=7, max_size=12))
    prefix = draw(st.sampled_from(["0", "+62", "62", "+62 ", "62 ", "+62-", "+62 (0)", "(+62) ", "+62.", "(0"]))
    first = draw(st.integers(3 if prefix in ("0", "(0") else 2, 5))
    groups, rest = [national[:first]], national[first:]
    while rest:
        size = draw(st.integers(1 if len(rest) == 1 else 2, 5))
        groups.append(rest[:size])
        rest = rest[size:]
    seps = draw(st.lists(st.sampled_from(["", " ", "-", ".", " - ", "  ", "\u00a0", ". "]),
                         min_size=len(groups) - 1, max_size=len(groups) - 1))
    if prefix == "(0":  # (0812) 3456 7890
        groups[0] += ")"
    written = groups[0] + "".join(s + g for s, g in zip(seps, groups[1:]))
    return ("0" if "0" in prefix else "62") + national, prefix + written


@settings(max_examples=400)
@given(phone=phones(), text=around)
@example(phone=("081234567890", "0812-3456-7890"), text=("Rp 1.500.000 ", " 2026"))
@example(phone=("6281234567890", "+62 812 3456 7890"), text=("tgl 17-08-2026 ", ". 100 warga"))
def test_no_phone_number_survives(phone, text):
    digits, written = phone
    before, after = text
    redacted = redact(before + written + after)
    assert_no_nine_digits_of(digits, redacted, before, after)
    assert MARKER in redacted


# --- e-mail addresses -----------------------------------------------------------------------------

@st.composite
def emails(draw) -> tuple[str, str]:
    """(address, as written)."""
    local = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._%+'-]{0,29}", fullmatch=True))
    labels = draw(st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", fullmatch=True), min_size=1,
                           max_size=3))
    domain = ".".join(labels + [draw(st.sampled_from(["id", "co.id", "go.id", "com", "net", "ac.id", "web.id"]))])
    address = f"{local}@{domain}"
    written = draw(st.sampled_from(["{}", "<{}>", "mailto:{}", "({})", "{}.", "e-mail:{}", "\"{}\""]))
    return address, written.format(address)


@settings(max_examples=300)
@given(email=emails(), text=around)
@example(email=("siti.rahmah@contoh.co.id", "siti.rahmah@contoh.co.id"), text=("kirim ke ", " segera"))
def test_no_email_address_survives(email, text):
    address, written = email
    redacted = redact(text[0] + written + text[1])
    assert address not in redacted and address.lower() not in redacted.lower()
    assert "@" + address.split("@")[1] not in redacted


# --- NIK ------------------------------------------------------------------------------------------

@st.composite
def niks(draw) -> tuple[str, str]:
    """(digits, as written): sixteen digits together, in fours, or in the NIK's own parts
    (province, regency, district, birth date, serial), with one kind of separator."""
    digits = draw(st.from_regex(r"[1-9][0-9]{15}", fullmatch=True))
    sizes = draw(st.sampled_from([[16], [4, 4, 4, 4], [2, 2, 2, 6, 4], [6, 6, 4], [8, 8]]))
    sep = draw(st.sampled_from([" ", ".", "-"]))
    groups, at = [], 0
    for size in sizes:
        groups.append(digits[at:at + size])
        at += size
    return digits, sep.join(groups)


@settings(max_examples=300)
@given(nik=niks(), text=around)
def test_no_nik_survives(nik, text):
    digits, written = nik
    before, after = text
    assert_no_nine_digits_of(digits, redact(before + written + after), before, after)


@given(phone=phones(), email=emails(), nik=niks(), words=st.lists(st.sampled_from(WORDS), min_size=3, max_size=12))
def test_all_of_them_in_one_complaint(phone, email, nik, words):
    third = len(words) // 3
    text = " ".join(words[:third] + [phone[1]] + words[third:2 * third] + [email[1]] + words[2 * third:] +
                    ["NIK", nik[1]])
    redacted = redact(text)
    assert_no_nine_digits_of(phone[0], redacted)
    assert_no_nine_digits_of(nik[0], redacted)
    assert email[0] not in redacted
    assert all(word in redacted for word in words)


# --- ordinary text --------------------------------------------------------------------------------

def _amount(n: int) -> str:
    return "Rp " + f"{n:,}".replace(",", ".")


ordinary_tokens = st.one_of(
    st.sampled_from(WORDS),
    st.builds("{:02d}-{:02d}-{}".format, st.integers(1, 31), st.integers(1, 12), st.integers(1990, 2030)),
    st.builds("{:02d}/{:02d}/{}".format, st.integers(1, 31), st.integers(1, 12), st.integers(1990, 2030)),
    st.builds("{:02d}.{:02d}.{}".format, st.integers(1, 31), st.integers(1, 12), st.integers(1990, 2030)),
    st.builds("{}-{:02d}-{:02d}".format, st.integers(1990, 2030), st.integers(1, 12), st.integers(1, 31)),
    st.builds("pukul {:02d}.{:02d}".format, st.integers(0, 23), st.integers(0, 59)),
    # Amounts up to trillions. Not 62.8xx.xxx...: written that way it is also a phone number, and
    # redaction hides it rather than guess.
    st.integers(1, 9_999_999_999_999).filter(lambda n: not _amount(n).startswith("Rp 62.8")).map(_amount),
    st.builds("km {}".format, st.integers(0, 999)), st.builds("No. {}".format, st.integers(1, 999)),
    st.builds("RT {:03d}/RW {:03d}".format, st.integers(1, 30), st.integers(1, 30)),
    st.builds("tahun {}".format, st.integers(1945, 2030)), st.from_regex(r"LAP-[0-9A-HJKMNP-TV-Z]{8}", fullmatch=True),
    st.builds("{},{}%".format, st.integers(0, 100), st.integers(0, 9)), st.from_regex(r"[1-9][0-9]{4}", fullmatch=True),
)


@settings(max_examples=300)
@given(tokens=st.lists(st.tuples(ordinary_tokens, st.sampled_from(WORDS)), max_size=15),
       glue=st.sampled_from([" ", ", ", "; ", "\n"]))
def test_ordinary_text_passes_unchanged(tokens, glue):
    """Sentences of words, dates, times, amounts, road and house numbers, years, postal codes and
    tracking IDs, each number followed by a word as in real sentences."""
    text = glue.join(f"{token} {word}" for token, word in tokens)
    assert redact(text) == text


@pytest.mark.parametrize("text", [
    "Jalan rusak sejak 17-08-2026, sudah 3 bulan.",
    "Kejadian tanggal 17/08/2026 pukul 08.30 WITA dan 2026-08-17 pagi.",
    "Tanggal 17.08.2026 dan 18-08-2026 18-08-2026 pun sama.",
    "Biaya perbaikan Rp 1.500.000 dan anggaran Rp 2.085.000.000, bukan Rp 62.500.000.",
    "Pungutan Rp1.500.000,00 per siswa; total Rp 12.345.678.901.",
    "Jl. Raya Batulicin km 3, Jalan Nasional No. 081, RT 008/RW 012, kode pos 72171.",
    "Lihat laporan LAP-7K3QX9MA dan LAP-08123456, juga LAP-62812345.",
    "Sejak tahun 2025 dan 2026, 100 warga terdampak pada 17-08-2026 100 hari lalu.",
    "Mention ke @lapor1708 dan #LAPOR, harga 12,5% naik.",
    "Jam buka 08.00-16.00, antrean nomor 081.",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("text, expected", [
    ("Hubungi 0812-3456-7890 segera", f"Hubungi {MARKER} segera"),
    ("WA +62 812 3456 7890.", f"WA {MARKER}."),
    ("telp 62-812.3456.7890 atau (0812) 3456 7890", f"telp {MARKER} atau ({MARKER}"),
    ("HP:+62 (0)812 3456 789", f"HP:{MARKER}"),
    ("WA081234567890", f"WA{MARKER}"),
    ("e-mail siti.rahmah@contoh.co.id, cc budi_99@gmail.com.", f"e-mail {MARKER}, cc {MARKER}."),
    ("NIK 3201234567890001 / 3201 2345 6789 0001 / 32.01.23.456789.0001",
     f"NIK {MARKER} / {MARKER} / {MARKER}"),
    ("Laporan LAP-7K3QX9MA dari 081234567890", f"Laporan LAP-7K3QX9MA dari {MARKER}"),
    ("Rp 62.812.345.678", f"Rp {MARKER}"),  # also a phone number as written: hidden rather than guessed
])
def test_examples_of_what_is_hidden(text, expected):
    assert redact(text) == expected


def test_the_reporters_own_name_is_hidden_as_whole_words_in_any_case_and_spacing():
    text = "Saya Siti  rahmah, warga Batulicin. Salam, SITI RAHMAH. Sitirahmah bukan nama saya. @warga_bt"
    assert redact(text, known=["Siti Rahmah", "@warga_bt", "", "Al"]) == (
        f"Saya {MARKER}, warga Batulicin. Salam, {MARKER}. Sitirahmah bukan nama saya. {MARKER}")


@pytest.mark.parametrize("name, text", [
    ("Sıti Rahmah", "Salam, SITI RAHMAH."),  # a dotless ı in the name matches I and i, as re's IGNORECASE does
    ("Siti Rahmah", "Salam, Sıtı Rahmah."),  # and the other way round, in a text that is not ASCII
    ("Kurnia", "Salam, \u212aurnia."),  # the Kelvin sign is a K to re
])
def test_a_name_is_hidden_in_any_case_re_matches_beyond_ascii(name, text):
    assert redact(text, Known([name])) == f"Salam, {MARKER}."


@given(st.text(max_size=20), st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_known_hides_exactly_what_one_pattern_per_value_hides(name, text):
    """The check that skips a value a text cannot hold never skips one it does hold."""
    words = name.strip().lstrip("@").split()
    expected = text
    if sum(len(w) for w in words) >= 3:
        expected = re.sub(r"(?<!\w)@?" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", MARKER, text,
                          flags=re.IGNORECASE)
    assert Known([name]).hide(text) == expected


def test_a_reporters_patterns_are_compiled_once_and_only_for_texts_that_may_hold_them(monkeypatch):
    compiled = []
    real = re.compile
    monkeypatch.setattr(redaction.re, "compile", lambda *a: compiled.append(a[0]) or real(*a))
    known = Known(["Siti Rahmah", "siti@contoh.id"])
    assert known.hide("Lampu jalan mati di Jl. Raya Batulicin") == "Lampu jalan mati di Jl. Raya Batulicin"
    assert compiled == []  # neither value is in the text: nothing compiled
    assert known.hide("Saya Siti Rahmah") == f"Saya {MARKER}"
    assert known.hide("Salam, siti  rahmah") == f"Salam, {MARKER}"
    assert len(compiled) == 1  # the name's pattern, once for both texts


def test_redaction_is_idempotent_and_keeps_empty_text_empty():
    once = redact("Hubungi 0812-3456-7890 atau siti@contoh.id, NIK 3201234567890001")
    assert redact(once) == once
    assert redact("") == ""


@pytest.mark.parametrize("text", ["a" * 5000, "1 " * 2500, "0812 " * 1000, "1" * 5000, "a@" * 2500,
                                  "a." * 2499 + "@", "+62 " * 1250, "8-" * 2500])
def test_long_hostile_text_is_redacted_quickly(text):
    start = time.perf_counter()
    redact(text)
    assert time.perf_counter() - start < 0.2
