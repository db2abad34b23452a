"""The liveness rules as pure functions: a status from times and counts, and when to look again.

For an instance with interval I, timeout T and max failures F whose silence counts from `ref`
(its last beat; the bind while a stream has never beaten; the registration or registry start
while no stream ever bound):

- A beat is due every I, with half an interval of tolerance for jitter: one is *missed* when none
  has come by ref + 1.5·I, and every further interval misses one more (at ref + (k + ½)·I).
- One miss makes a HEALTHY (or bound UNKNOWN) instance DEGRADED; F misses in a row make it
  CRITICAL; silence until ref + T + ½·I makes it DEAD. With F·I ≥ T an instance reaches the
  timeout first and goes from DEGRADED straight to DEAD.
- A stream that ended without a goodbye at `broken_at` makes the instance CRITICAL `debounce`
  later unless a stream binds it again first.
- DRAINING instances count no misses; only the timeout still applies.
- During the startup grace period silence makes nobody CRITICAL or DEAD (misses still degrade).
- Silence never improves a status: only a beat does (the engine applies that).

Nothing here reads a clock or keeps state, so the rules are tested from tables of cases.
"""

from __future__ import annotations

from registry.core.model import SERVING_STATUSES, HealthStatus, HeartbeatPolicy

SEVERITY = {
    HealthStatus.UNKNOWN: 0,
    HealthStatus.HEALTHY: 0,
    HealthStatus.DRAINING: 0,
    HealthStatus.DEGRADED: 1,
    HealthStatus.CRITICAL: 2,
    HealthStatus.DEAD: 3,
}


def worse(status: HealthStatus, candidate: HealthStatus) -> HealthStatus:
    """The more severe of two statuses (the first on a tie)."""
    return candidate if SEVERITY[candidate] > SEVERITY[status] else status


def is_expiry(status: HealthStatus, target: HealthStatus) -> bool:
    """Whether moving from `status` to `target` takes a serving instance out of discovery."""
    return status in SERVING_STATUSES and target not in SERVING_STATUSES


def misses(status: HealthStatus, counting: bool, ref: float, interval: float, now: float) -> int:
    """Beats missed in a row by `now` since `ref`: the consecutive failures right now."""
    if not counting or status is HealthStatus.DRAINING:
        return 0
    return max(0, int((now - ref - interval / 2) // interval))


def first_miss_at(ref: float, interval: float) -> float:
    """When the first beat after `ref` counts as missed."""
    return ref + 1.5 * interval


def due(
    status: HealthStatus,
    policy: HeartbeatPolicy,
    ref: float,
    counting: bool,
    broken_at: float | None,
    *,
    now: float,
    grace_until: float,
    debounce: float,
) -> tuple[HealthStatus, float]:
    """The status silence and stream breaks call for at `now` (never better than `status`), and
    the earliest time that may change."""
    interval = policy.interval
    slack = interval / 2
    in_grace = now < grace_until
    dead_at = ref + policy.timeout + slack
    if now >= dead_at:
        if not in_grace:
            return HealthStatus.DEAD, dead_at
        next_check = grace_until
    else:
        next_check = dead_at
    target = status
    if status is not HealthStatus.DRAINING:
        if broken_at is not None:
            critical_at = broken_at + debounce
            if now >= critical_at:
                target = worse(target, HealthStatus.CRITICAL)
            else:
                next_check = min(next_check, critical_at)
        if counting:
            missed = misses(status, counting, ref, interval, now)
            if missed >= policy.max_failures and not in_grace:
                target = worse(target, HealthStatus.CRITICAL)
            elif missed >= 1:
                target = worse(target, HealthStatus.DEGRADED)
                crossing = ref + policy.max_failures * interval + slack
                next_check = min(next_check, max(crossing, grace_until) if in_grace else crossing)
            else:
                next_check = min(next_check, first_miss_at(ref, interval))
    return target, next_check
