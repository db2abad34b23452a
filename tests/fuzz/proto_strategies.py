"""Hypothesis strategies that build any message of a protobuf descriptor, biased toward the inputs
that have broken registries before: hostile strings (control characters, bidi overrides, IPv6 zone
ids, `#`-heavy topic patterns, leading-zero versions, forged page tokens), integer extremes, and
timestamps and durations far outside any sane range.

Driven by the descriptors, so a field or RPC added to the protos is fuzzed without a change here.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


HOSTILE = [
    "", "orders", "orders-1", "billing", "a" * 63, "a" * 64, "x" * 600, "-", "A", "orders\n",
    "#", "*", "#.#", "a.#.#.#.b", "evil.#.#.#.#.#.#.#.#.#.#.#.#.#.#.zz", "evil.a.b.c.d.e.f.g.h.i.j.k.l.m.n",
    "lead.*", "lead.created", "a..b", ".", "a.", ">=1.2,<2", "~=1.4", "==1.2", "!=0", "<", ">=",
    "1.2.3", "01.2.3", "1.2.3-01", "1.2.3-rc.1", "1.2.3+build", "99999999999999999999999.0.0",
    "10.0.0.5", "127.0.0.1", "::1", "::1%eth0", "::1%\x1b[2J\x1b[31mPWNED", "fe80::1%", "[::1]",
    "\x00", "\n", "\r\n", "\t", "\u202e", "\u200b", "²", "٣", "<script>", "%s%n", "'; DROP TABLE x;--",
    "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "😀",
    _b64("[" * 5000 + "]" * 5000), _b64('{"k":["a"],"s":"0"}'), _b64(json.dumps({"k": 1e308})),
    "9" * 5000, "9" * 30, "-1", "0", "==", "====", "!", "~",
]  # fmt: skip
"""Strings that broke a registry once, or look like they could."""

TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=24),
    st.lists(st.sampled_from(HOSTILE[:40]), min_size=1, max_size=4).map(".".join),
    st.lists(st.sampled_from(HOSTILE[20:40]), min_size=1, max_size=3).map(",".join),
)


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=10,
    )


PAGE_TOKENS = st.one_of(
    TEXT,
    st.integers(1, 20_000).map(lambda n: _b64("[" * n + "]" * n)),
    st.integers(1, 20_000).map(lambda n: _b64('{"k":' * n + "1" + "}" * n)),
    st.integers(1, 6_000).map(lambda n: "9" * n),
    _json_values().map(lambda v: _b64(json.dumps(v))),
    st.fixed_dictionaries({"k": _json_values(), "s": _json_values()}).map(lambda v: _b64(json.dumps(v))),
    st.binary(max_size=64).map(lambda b: base64.urlsafe_b64encode(b).decode()),
)
"""Forged page tokens: deep nesting, huge numbers, JSON of every shape, random bytes."""

_NUMBER = st.one_of(st.integers(0, 12).map(str), st.sampled_from(["01", "00", "²", "٣", "9" * 30, "-1", ""]))
VERSIONS = st.one_of(
    TEXT,
    st.tuples(
        _NUMBER, _NUMBER, _NUMBER, st.sampled_from(["", "-rc.1", "-01", "-", "-a..b", "+b", "-x" * 40])
    ).map(lambda t: f"{t[0]}.{t[1]}.{t[2]}{t[3]}"),
)
CONSTRAINTS = st.one_of(
    TEXT,
    st.lists(
        st.tuples(
            st.sampled_from(["==", "!=", ">=", "<=", "~=", ">", "<", "", "=", "=>", "~"]),
            VERSIONS,
            st.sampled_from(["", " ", "  "]),
        ).map("".join),
        min_size=1,
        max_size=6,
    ).map(",".join),
)
_SEGMENTS = st.sampled_from(
    ["#", "*", "a", "evil", "lead", "created", "", "x" * 64, "a b", "\x00", "é", "#*", "**"]
)
TOPICS = st.one_of(TEXT, st.lists(_SEGMENTS, min_size=1, max_size=24).map(".".join))
_ZONE = st.one_of(st.text(max_size=12), st.sampled_from(["eth0", "\x1b[2J", "\n", "lo", "1", ""]))
HOSTS = st.one_of(
    TEXT,
    st.ip_addresses().map(str),
    st.tuples(st.ip_addresses(v=6).map(str), _ZONE).map(lambda t: f"{t[0]}%{t[1]}"),
    st.lists(st.sampled_from(["a", "b-c", "-x", "x-", "", "é", "a" * 70, "1"]), min_size=1, max_size=5).map(
        ".".join
    ),
)
BY_FIELD_NAME: dict[str, st.SearchStrategy[str]] = {
    "page_token": PAGE_TOKENS,
    "version_constraint": CONSTRAINTS,
    "version": VERSIONS,
    "topics": TOPICS,
    "name": TOPICS,
    "host": HOSTS,
}
"""The parsers behind these fields get inputs shaped for them (and TEXT besides)."""

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [
        v
        for v in (low, high, 0, 1, -1, 2, 5, 10, 60, 1000, 3600, 86_400, 2**31 - 1, 2**53)
        if low <= v <= high
    ]
    return st.one_of(
        st.sampled_from(edges), st.integers(low, high), st.integers(max(low, -1000), min(high, 1000))
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return BY_FIELD_NAME.get(field.name, TEXT)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    low, high = _INT_RANGES[kind]
    return _integers(low, high)


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """Any message of `descriptor`: each field set or not, sub-messages down to a few levels."""
    cls = GetMessageClass(descriptor)
    if depth > 3:
        return st.just(cls())
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            value = (
                messages(value_field.message_type, depth + 1)
                if value_field.message_type
                else _scalar(value_field)
            )
            parts[field.name] = st.dictionaries(_scalar(key_field), value, max_size=3)
        elif field.message_type is not None:
            element = messages(field.message_type, depth + 1)
            repeated = field.is_repeated
            parts[field.name] = st.lists(element, max_size=3) if repeated else st.none() | element
        elif field.is_repeated:
            parts[field.name] = st.lists(_scalar(field), max_size=4)
        else:
            parts[field.name] = _scalar(field)

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        names = sorted(parts)
        chosen = [n for n in names if draw(st.booleans())] if names else []
        for name in chosen:
            value = draw(parts[name])
            field = descriptor.fields_by_name[name]
            if value is None:
                continue
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                target = getattr(message, name)
                for k, v in value.items():
                    if isinstance(v, Message):
                        target[k].CopyFrom(v)
                    else:
                        target[k] = v
            elif field.is_repeated:
                getattr(message, name).extend(value)
            elif field.message_type is not None:
                getattr(message, name).CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return build()
