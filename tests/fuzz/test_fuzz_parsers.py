"""The parsers behind client input, fuzzed in-process where thousands of examples cost little:
version constraints, topic names and patterns, scope claims. Each input is accepted or refused
with InvalidArgument naming the field, never another exception; and what is accepted behaves by
its definition (a reference implementation, written here the obvious way).
"""

from __future__ import annotations

import re
from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from registry.auth import scopes
from registry.core import messages, versions
from registry.core.errors import InvalidArgument
from tests.fuzz.proto_strategies import CONSTRAINTS, TEXT, TOPICS, VERSIONS
from tests.helpers.fuzz import budget


@budget(200)
@given(text=CONSTRAINTS)
def test_a_version_constraint_parses_or_names_its_field(text: str) -> None:
    try:
        constraint = versions.parse_constraint(text, "version_constraint")
    except InvalidArgument as error:
        assert error.field == "version_constraint"  # noqa: PT017 - valid input is fine too
        return
    versions.satisfies((1, 2, 3, 1, ()), constraint)  # usable once parsed


@budget(200)
@given(text=VERSIONS)
def test_a_version_parses_or_names_its_field_and_matches_itself(text: str) -> None:
    try:
        version = versions.parse_version(text, "instance.version")
    except InvalidArgument as error:
        assert error.field == "instance.version"  # noqa: PT017 - valid input is fine too
        return
    assert versions.satisfies(version, versions.parse_constraint(f"=={text}", "c"))
    assert not versions.satisfies(version, versions.parse_constraint(f"!={text}", "c"))


@budget(200)
@given(name=TOPICS | TEXT)
def test_topic_names_and_patterns_are_accepted_or_refused_cleanly(name: str) -> None:
    for check in (messages.topic_name, messages.topic_pattern):
        try:
            check(name, "envelope.name")
        except InvalidArgument as error:
            assert error.field == "envelope.name"  # noqa: PT017 - valid input is fine too


def _reference_covers(granted: tuple[str, ...], topic: tuple[str, ...]) -> bool:
    """AMQP matching of a plain topic, by the definition: `*` one segment, `#` zero or more."""

    @cache
    def match(g: int, t: int) -> bool:
        if g == len(granted):
            return t == len(topic)
        if granted[g] == "#":
            return match(g + 1, t) or (t < len(topic) and match(g, t + 1))
        return t < len(topic) and granted[g] in ("*", topic[t]) and match(g + 1, t + 1)

    return match(0, 0)


SEGMENT = st.sampled_from(["a", "b", "orders", "x"])
PATTERN = st.lists(st.sampled_from(["a", "b", "orders", "*", "#"]), min_size=1, max_size=16).map(".".join)
TOPIC = st.lists(SEGMENT, min_size=1, max_size=16).map(".".join)


@budget(300)
@given(pattern=PATTERN, topic=TOPIC)
def test_scope_patterns_match_topics_by_definition(pattern: str, topic: str) -> None:
    assert scopes.covers(pattern, topic) == _reference_covers(
        tuple(pattern.split(".")), tuple(topic.split("."))
    )


@budget(300)
@given(
    words=st.lists(
        st.sampled_from(["discover", "admin", "send:*", "send:a", "publish:#", "publish:a.*"]) | TEXT,
        max_size=8,
    )
)
def test_scope_claims_keep_only_what_they_recognise(words: list[str]) -> None:
    granted = scopes.parse(" ".join(words))
    assert all(re.fullmatch(r"[a-z]+(:\S+)?", s) for s in granted)
    assert scopes.beyond(granted, granted) == []
    assert scopes.beyond(granted, frozenset({scopes.ADMIN})) == []
