"""Which events a subscriber (or a history query) wants: topic patterns, tenant, source, target.

Topic patterns follow AMQP topic routing: `*` matches exactly one dot-separated segment and `#`
zero or more. A filter's patterns go into one `TopicTrie`, matched segment by segment in time
linear in the topic's length whatever the patterns (no regular expression that could backtrack).
Live fan-out does not even ask each filter: the event bus indexes every subscriber's patterns in
one trie and asks a filter only for the fields a trie cannot index (`matches_fields`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from registry.core import messages, validation
from registry.core.errors import InvalidArgument
from registry.core.limits import LIMITS
from registry.core.messages import Envelope
from registry.core.topic_trie import TopicTrie


def _trie(patterns: Sequence[str]) -> TopicTrie[bool] | None:
    """The patterns as a trie; None when they match everything."""
    if not patterns or "#" in patterns:
        return None
    trie: TopicTrie[bool] = TopicTrie()
    for pattern in patterns:
        trie.add(pattern, True)
    return trie


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Every set field must match. `target_services` also lets broadcast events (no target) in."""

    topics: tuple[str, ...] = ()
    tenant_id: str = ""
    source_services: frozenset[str] = frozenset()
    target_services: frozenset[str] = frozenset()
    _trie: TopicTrie[bool] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_trie", _trie(self.topics))

    @property
    def patterns(self) -> tuple[str, ...]:
        """The topic patterns, `#` (everything) when none were given: what a scope must cover."""
        return self.topics or ("#",)

    def matches(self, event: Envelope) -> bool:
        if self._trie is not None and not self._trie.matches_any(event.name):
            return False
        return self.matches_fields(event)

    def matches_fields(self, event: Envelope) -> bool:
        """Everything but the topic: for callers that matched the topic already (fan-out)."""
        if self.tenant_id and event.tenant_id != self.tenant_id:
            return False
        if self.source_services and event.source_service not in self.source_services:
            return False
        return not (
            self.target_services and event.target_service and event.target_service not in self.target_services
        )


def build(
    topics: Sequence[str],
    tenant_id: str,
    source_services: Sequence[str],
    target_services: Sequence[str],
    field_path: str = "filter",
) -> EventFilter:
    """A checked EventFilter from request fields; InvalidArgument names the offending field."""
    if len(topics) > LIMITS.filter_topics:
        raise InvalidArgument(
            f"{field_path}.topics", f"at most {LIMITS.filter_topics} patterns", limit=LIMITS.filter_topics
        )
    for index, pattern in enumerate(topics):
        messages.topic_pattern(pattern, f"{field_path}.topics[{index}]")
    messages.tenant_id(tenant_id, f"{field_path}.tenant_id")
    for name, services in (("source_services", source_services), ("target_services", target_services)):
        most = LIMITS.filter_services
        if len(services) > most:
            raise InvalidArgument(f"{field_path}.{name}", f"at most {most} services", limit=most)
        for index, service in enumerate(services):
            validation.service_name(service, f"{field_path}.{name}[{index}]")
    return EventFilter(
        tuple(dict.fromkeys(topics)), tenant_id, frozenset(source_services), frozenset(target_services)
    )
