"""Topic patterns (AMQP style: `*` one segment, `#` zero or more) and the relay's signing key file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry.auth.delivery_tokens import KEY_FILE_NAME, DeliverySigner, SigningKeyError
from registry.core.event_filter import EventFilter
from registry.core.messages import Envelope, MessageType


def _matches(patterns: tuple[str, ...], topic: str) -> bool:
    return EventFilter(topics=patterns).matches(Envelope(type=MessageType.EVENT, name=topic))


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("orders.created", ["orders.created"], ["orders", "orders.created.x", "xorders.created"]),
        ("orders.*", ["orders.created", "orders.x"], ["orders", "orders.a.b", "billing.created"]),
        ("*.created", ["orders.created"], ["created", "a.b.created"]),
        ("orders.#", ["orders", "orders.a", "orders.a.b.c"], ["billing.a", "ordersx.a"]),
        ("#.failed", ["failed", "a.failed", "a.b.failed"], ["a.failed.x", "afailed"]),
        ("a.#.z", ["a.z", "a.b.z", "a.b.c.z"], ["a", "a.b", "z.a.z.x"]),
        ("a.*.#", ["a.b", "a.b.c"], ["a", "b.c"]),
        ("#", ["a", "a.b.c"], []),
        ("a-b_c.*", ["a-b_c.x"], ["a.b_c.x"]),
    ],
)
def test_topic_patterns(pattern: str, matching: list[str], not_matching: list[str]) -> None:
    for topic in matching:
        assert _matches((pattern,), topic), f"{pattern} should match {topic}"
    for topic in not_matching:
        assert not _matches((pattern,), topic), f"{pattern} should not match {topic}"


def test_any_of_several_patterns_matches() -> None:
    assert _matches(("billing.#", "orders.*"), "orders.created")
    assert _matches(("billing.#", "orders.*"), "billing")
    assert not _matches(("billing.#", "orders.*"), "orders.a.b")


def test_dots_in_a_literal_segment_never_act_as_wildcards() -> None:
    assert not _matches(("a.b",), "aXb")


def test_the_signing_key_is_created_once_and_reused(tmp_path: Path) -> None:
    first = DeliverySigner.from_data_dir(tmp_path)
    second = DeliverySigner.from_data_dir(tmp_path)
    assert first.key_id == second.key_id
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME], "no temporary file left behind"


def test_a_signing_key_others_can_read_is_refused(tmp_path: Path) -> None:
    DeliverySigner.from_data_dir(tmp_path)
    os.chmod(tmp_path / KEY_FILE_NAME, 0o644)
    with pytest.raises(SigningKeyError, match="must not be readable by others"):
        DeliverySigner.from_data_dir(tmp_path)
