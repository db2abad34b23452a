"""Read-only health views: one instance's picture, pages of them, and the fleet summary.

Pure functions over the engine's states and the times it passes in; nothing here changes state.
"""

from __future__ import annotations

import bisect
import collections
from collections.abc import Iterable, Mapping, Sequence

from registry.core.liveness.record import InstanceState
from registry.core.liveness.values import InstanceHealth
from registry.core.model import HealthStatus, InstanceKey


def instance_health(state: InstanceState, now: float, wall: float) -> InstanceHealth:
    """`state` at monotonic `now` (Unix `wall`)."""
    observed = now - state.first_seen
    uptime = state.uptime(now)
    pending = state.misses_due(now)
    count = state.latency_count
    last = state.last_beat
    return InstanceHealth(
        service_name=state.key[0],
        instance_id=state.key[1],
        status=state.status,
        policy=state.policy,
        stream_connected=state.binding is not None,
        heartbeat_count=state.heartbeats,
        missed_heartbeats=state.missed_before + pending,
        consecutive_failures=pending,
        average_latency_ms=state.latency_sum / count if count else 0.0,
        min_latency_ms=state.latency_min if count else 0.0,
        max_latency_ms=state.latency_max,
        uptime_seconds=uptime,
        uptime_percentage=100.0 * uptime / observed if observed > 0 else 0.0,
        last_heartbeat_time=None if last is None else wall - (now - last),
        seconds_since_last=now - (state.first_seen if last is None else last),
        load=state.load,
    )


def page_of_keys(
    keys: Sequence[InstanceKey], after: InstanceKey | None, limit: int
) -> tuple[Sequence[InstanceKey], InstanceKey | None]:
    """Up to `limit` of the sorted `keys` after `after`, and the key to continue after (None on
    the last page)."""
    start = 0 if after is None else bisect.bisect_right(keys, after)
    chosen = keys[start : start + limit]
    return chosen, chosen[-1] if start + limit < len(keys) else None


def status_counts(
    states: Iterable[InstanceState],
) -> tuple[Mapping[HealthStatus, int], dict[str, Mapping[HealthStatus, int]]]:
    """Counts of statuses in total and per service (in service name order)."""
    total: collections.Counter[HealthStatus] = collections.Counter()
    services: dict[str, collections.Counter[HealthStatus]] = {}
    for state in states:
        total[state.status] += 1
        services.setdefault(state.key[0], collections.Counter())[state.status] += 1
    return total, {name: services[name] for name in sorted(services)}
