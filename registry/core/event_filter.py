"""Which events a subscriber (or a history query) wants: topic patterns, tenant, source, target.

Topic patterns follow AMQP topic routing: `*` matches exactly one dot-separated segment and `#`
zero or more. A filter's patterns compile into one anchored regular expression, so matching an
event costs one `fullmatch` however many patterns the filter has; fan-out to many subscribers
runs this for every subscriber and every event, which is why it is compiled once, up front.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from registry.core import messages, validation
from registry.core.errors import InvalidArgument
from registry.core.limits import LIMITS
from registry.core.messages import Envelope

_ONE_SEGMENT = r"\.[^.]+"


def _pattern_regex(pattern: str) -> str:
    # Matched against "." + topic, so every segment, the first included, is "\.<segment>" and
    # `#` is simply "any number of those".
    parts = []
    for segment in pattern.split("."):
        if segment == "#":
            parts.append(f"(?:{_ONE_SEGMENT})*")
        elif segment == "*":
            parts.append(_ONE_SEGMENT)
        else:
            parts.append(r"\." + re.escape(segment))
    return "".join(parts)


def compile_patterns(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One regex matching `"." + topic` for any of `patterns`; None when they match everything."""
    if not patterns or "#" in patterns:
        return None
    return re.compile("|".join(f"(?:{_pattern_regex(p)})" for p in patterns))


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Every set field must match. `target_services` also lets broadcast events (no target) in."""

    topics: tuple[str, ...] = ()
    tenant_id: str = ""
    source_services: frozenset[str] = frozenset()
    target_services: frozenset[str] = frozenset()
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", compile_patterns(self.topics))

    @property
    def patterns(self) -> tuple[str, ...]:
        """The topic patterns, `#` (everything) when none were given: what a scope must cover."""
        return self.topics or ("#",)

    def matches(self, event: Envelope) -> bool:
        if self._regex is not None and self._regex.fullmatch("." + event.name) is None:
            return False
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
        raise InvalidArgument(f"{field_path}.topics", f"at most {LIMITS.filter_topics} patterns")
    for index, pattern in enumerate(topics):
        messages.topic_pattern(pattern, f"{field_path}.topics[{index}]")
    messages.tenant_id(tenant_id, f"{field_path}.tenant_id")
    for name, services in (("source_services", source_services), ("target_services", target_services)):
        most = LIMITS.filter_services
        if len(services) > most:
            raise InvalidArgument(f"{field_path}.{name}", f"at most {most} services")
        for index, service in enumerate(services):
            validation.service_name(service, f"{field_path}.{name}[{index}]")
    return EventFilter(
        tuple(dict.fromkeys(topics)), tenant_id, frozenset(source_services), frozenset(target_services)
    )
