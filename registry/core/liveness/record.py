"""The mutable liveness state of one instance, as the engine and its binding update it."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from registry.core.liveness import rules
from registry.core.liveness.values import Load
from registry.core.model import HealthStatus, HeartbeatPolicy, InstanceKey

if TYPE_CHECKING:
    from registry.core.liveness.binding import Binding
    from registry.core.liveness.lanes import Lane

_UPTIME_STATUSES = frozenset({HealthStatus.HEALTHY, HealthStatus.DEGRADED})


class InstanceState:
    """One instance's liveness. Times are on the engine's monotonic clock."""

    __slots__ = (
        "binding",
        "broken_at",
        "counting",
        "drain_reason",
        "first_seen",
        "heartbeats",
        "held",
        "key",
        "lane",
        "last_beat",
        "latency_count",
        "latency_max",
        "latency_min",
        "latency_sum",
        "load",
        "missed_before",
        "policy",
        "ref",
        "status",
        "status_since",
        "uptime_before",
    )

    def __init__(self, key: InstanceKey, policy: HeartbeatPolicy, status: HealthStatus, now: float) -> None:
        self.key = key
        self.policy = policy
        self.status = status
        self.status_since = now
        self.binding: Binding | None = None
        self.first_seen = now
        self.ref = now
        """Last beat, or when silence started to count (bind, goodbye, registration, start)."""
        self.counting = False
        """Whether misses count: a stream has bound since the registry saw the instance and no
        goodbye came since."""
        self.missed_before = 0
        """Misses counted up to `ref`."""
        self.broken_at: float | None = None
        """When a stream ended without goodbye, while no stream has bound since."""
        self.held = False
        self.drain_reason: str | None = None
        """Set by an operator's drain; kept across stream take-overs until the instance leaves."""
        self.heartbeats = 0
        self.last_beat: float | None = None
        self.latency_count = 0
        self.latency_sum = 0.0
        self.latency_min = math.inf
        self.latency_max = 0.0
        self.uptime_before = 0.0
        """Seconds spent serving before `status_since`."""
        self.load: Load | None = None
        self.lane: Lane | None = None
        """The lane of beating instances this one waits in (see `lanes`), or None while it has a
        deadline of its own in the scheduler (or none)."""

    def misses_due(self, now: float) -> int:
        """Misses since `ref`: the consecutive failures right now."""
        return rules.misses(self.status, self.counting, self.ref, self.policy.interval, now)

    def uptime(self, now: float) -> float:
        current = now - self.status_since if self.status in _UPTIME_STATUSES else 0.0
        return self.uptime_before + current

    def record_latency(self, rtt_ms: float) -> None:
        self.latency_count += 1
        self.latency_sum += rtt_ms
        self.latency_min = min(self.latency_min, rtt_ms)
        self.latency_max = max(self.latency_max, rtt_ms)
