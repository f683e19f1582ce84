"""Hypothesis strategies for any protobuf request message, built from its descriptor: hostile text in
every string (control characters, NUL, SQL and template metacharacters, script tags, right-to-left
marks, huge strings), numbers at and past their limits (NaN and infinities too), enum values no
version of the contract names, random bytes, timestamps out of any calendar's range, and JSON-like
structs; plus values that exist in the running system, so that calls get past "not found"."""

import math
import struct

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

HOSTILE_TEXT = (
    "", " ", "'", '"', "\\", "%", "%s", "%(name)s", "{}", "{0}", "$1", "?", ";", "--", "/*", "*/",
    "'; DROP TABLE intake.reports; --", "' OR '1'='1", "\") OR 1=1 --", "1; SELECT pg_sleep(10)",
    "E'\\\\x00'", "$$; DROP SCHEMA intake CASCADE; $$", "\\x27", "%' AND '%'='",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>", "javascript:alert(1)",
    "{{7*7}}", "{% debug %}", "${jndi:ldap://x/a}", "../../../../etc/passwd", "..\\..\\boot.ini",
    "\x00", "a\x00b", "\x07\x08\x1b[31m", "\r\n", "\r\nSet-Cookie: a=b", "\t", "\x7f", "\u0085", "\u2028", "\u2029",
    "\u202e", "\u200b", "\ufeff", "\ufffd", "\uffff", "\U0001f4a9", "e\u0301", "ǅ", "ß", "İ",
    "LAP-", "LAP-7K3QX9MA", "lap-7k3qx9ma", "LAP-0000000O", "LAP-7K3QX9MA\n", " LAP-7K3QX9MA",
    "0", "-1", "1e308", "NaN", "null", "true", "[]", "{}", "9" * 40,
    "2026-02-30T25:61:00+07:00", "0000-00-00", "9999-12-31T23:59:59Z",
    "a@b", "@", "+6281234567890", "x" * 256, "é" * 300,
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
    '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>', "]]>", "<![CDATA[",
)
INT32 = (-(2 ** 31), 2 ** 31 - 1)
INT64 = (-(2 ** 63), 2 ** 63 - 1)
UINT32 = (0, 2 ** 32 - 1)
UINT64 = (0, 2 ** 64 - 1)


def text(known: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Any text a caller could send: proto3 strings must be UTF-8 (a lone surrogate cannot even be
    serialised), so everything else: controls, NULs, metacharacters, now and then a huge string."""
    plain = [st.sampled_from(HOSTILE_TEXT), st.sampled_from(HOSTILE_TEXT), st.text(max_size=30),
             st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
             st.text(st.characters(max_codepoint=0x1f), max_size=10)]
    if known:
        # Values that exist, as they are and with something hostile before or after them.
        plain += [st.sampled_from(known)] * 3 + [st.builds(lambda k, h, after: k + h if after else h + k,
                                                           st.sampled_from(known), st.sampled_from(HOSTILE_TEXT),
                                                           st.booleans())]
    huge = st.builds(lambda n, c: c * n, st.integers(1_000, 200_000), st.sampled_from("xé'<\x00"))
    return st.one_of(*plain, huge)


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [v for v in (low, high, 0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53) if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high), st.integers(max(low, -10), min(high, 1_000)))


FLOATS = st.one_of(st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324,
                                    -6.2, 106.8, 91.0, -181.0]),
                   st.floats(allow_nan=True, allow_infinity=True))


def timestamps() -> st.SearchStrategy[timestamp_pb2.Timestamp]:
    """Timestamps inside and far outside what a calendar holds (year 0 and before, year 10000 and after)."""
    seconds = st.one_of(integers(*INT64), st.integers(-62_135_596_800, 253_402_300_799),
                        st.integers(1_700_000_000, 1_900_000_000))
    nanos = st.one_of(st.just(0), integers(*INT32))
    return st.builds(lambda s, n: timestamp_pb2.Timestamp(seconds=s, nanos=n), seconds, nanos)


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), text())
JSON = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(text(), inner, max_size=3)),
                    max_leaves=8)


def structs() -> st.SearchStrategy[struct_pb2.Struct]:
    def build(values: dict) -> struct_pb2.Struct:
        s = struct_pb2.Struct()
        s.update(values)
        return s
    return st.builds(build, st.dictionaries(st.one_of(st.sampled_from(
        ["outcome", "decided_at", "reason", "category", "agency_id", "duplicate_of", "tracking_id", "status",
         "excluded_agency_ids", "due_at"]), text()), JSON, max_size=6))


def messages(descriptor, message_class: type[Message], known: dict[str, tuple[str, ...]],
             depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of `message_class`, mostly plausible ones (values that exist, sentences, real dates)
    with one or two fields hostile, so that the hostile value gets past the other fields' checks;
    sometimes every field hostile. `known` gives values that exist for string fields, by name."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.one_of(PLAUSIBLE_TIMES, timestamps())
    if descriptor.full_name == "google.protobuf.Struct":
        return structs()
    hostile, plausible = {}, {}
    for field in descriptor.fields:
        if depth > 2 and field.type == FieldDescriptor.TYPE_MESSAGE:
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
            hostile[field.name] = st.dictionaries(text(), text(), max_size=5)
            plausible[field.name] = st.just({})
            continue
        one = _value(field, message_class, known, depth)
        likely = _plausible(field, message_class, known, depth)
        if field.is_repeated:
            size = 4 if field.type != FieldDescriptor.TYPE_BYTES else 2
            one, likely = st.lists(one, max_size=size), st.lists(likely, min_size=1, max_size=2)
        hostile[field.name] = st.one_of(st.none(), one)
        plausible[field.name] = likely  # left out only when chosen to be hostile
    names = sorted(hostile)

    def mixed(chosen: set[str]):
        return st.fixed_dictionaries({n: hostile[n] if n in chosen else plausible[n] for n in names})

    every_field_hostile = st.fixed_dictionaries(hostile)
    one_or_two_hostile = st.sets(st.sampled_from(names), max_size=2).flatmap(mixed) if names else st.just({})
    return st.one_of(one_or_two_hostile, one_or_two_hostile, one_or_two_hostile, every_field_hostile).map(
        lambda values: _build(message_class, values))


T0_SECONDS = 1_773_630_000  # 2026-03-16, a Monday
PLAUSIBLE_TIMES = st.builds(lambda s: timestamp_pb2.Timestamp(seconds=s),
                            st.integers(T0_SECONDS - 30 * 86_400, T0_SECONDS + 30 * 86_400))
SENTENCE = "Lubang besar di Jalan Raya Batulicin dekat pasar, membahayakan pengendara motor."


def _plausible(field, message_class, known, depth):
    """A value such as a well-behaved caller sends for `field`; `known` may name values for one
    message's field ("DecideReportRequest.outcome"), of any type, or for every string field of a name."""
    t, name = field.type, field.name
    if (specific := known.get(f"{field.containing_type.name}.{name}")) is not None:
        return st.sampled_from(specific)
    if t == FieldDescriptor.TYPE_STRING:
        if name in known:
            return st.sampled_from(known[name])
        if "idempotency_key" in name or name.endswith("event_id"):
            return st.uuids().map(lambda u: f"hostile-{u}")
        if name == "email":  # a new one each time: an account's e-mail address is taken once
            return st.uuids().map(lambda u: f"warga-{u.hex[:12]}@contoh.id")
        for part, value in (("email", "warga@contoh.id"), ("phone", "081234567890"), ("date", "2026-03-17"),
                            ("url", "https://lapor.example/lacak"), ("name", "Siti Rahmah"),
                            ("password", "kata-sandi-panjang")):
            if part in name:
                return st.just(value)
        return st.sampled_from([SENTENCE, "Jalan berlubang di Batulicin"])
    if t == FieldDescriptor.TYPE_BYTES:
        if name in known:
            return st.sampled_from(known[name])
        return st.sampled_from([b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), b"%PDF-1.4\n%%EOF\n"])
    if t == FieldDescriptor.TYPE_BOOL:
        return st.just(True) if name.startswith("has_") else st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.just(-3.4412 if "lat" in name else 115.9963 if "lon" in name else 1.0)
    if t == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values if v.number] or [0])
    if t == FieldDescriptor.TYPE_MESSAGE:
        return _value(field, message_class, known, depth)
    return st.integers(0, 20)


def _value(field, message_class, known, depth):
    t = field.type
    if t == FieldDescriptor.TYPE_STRING:
        return text(known.get(field.name, ()))
    if t == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.sampled_from(_BYTES),
                         st.builds(lambda head, n: head + bytes(n), st.sampled_from(_BYTES),
                                   st.integers(0, 6 * 1024 * 1024)))
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return FLOATS if t == FieldDescriptor.TYPE_DOUBLE else FLOATS.map(_as_float32)
    if t == FieldDescriptor.TYPE_ENUM:
        named = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(named), integers(*INT32))  # proto3 enums are open
    if t in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return integers(*INT32)
    if t in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return integers(*INT64)
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return integers(*UINT32)
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return integers(*UINT64)
    if t == FieldDescriptor.TYPE_MESSAGE:
        child = getattr(message_class(), field.name)
        child_class = type(child) if not field.is_repeated else type(child.add())
        return messages(field.message_type, child_class, known, depth + 1)
    raise AssertionError(f"no strategy for {field.full_name} of type {t}")


def _as_float32(value: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# Heads of files a reporter might attach: real magic numbers, and ones that only look like them.
_BYTES = (b"", b"\x00", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 ",
          b"%PDF-1.4\n", b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
          b"<script>alert(1)</script>", b"MZ\x90\x00", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xed\xa0\x80",
          b"id,name,kind,parent_id\n'; DROP TABLE routing.agencies; --,x,y,z\n")


def _build(message_class: type[Message], values: dict) -> Message:
    message = message_class()
    for name, value in values.items():
        if value is None:
            continue
        target = getattr(message, name)
        if isinstance(value, dict):
            target.update(value)
        elif isinstance(value, list):
            target.extend(value)
        elif isinstance(value, Message):
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message
