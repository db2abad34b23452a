"""The liveness rules, self-preservation and pacing from tables of cases: pure, no clock, no sleep."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from registry.core.errors import ResourceExhausted
from registry.core.liveness import rules
from registry.core.liveness.pacing import BEAT_BURST, Pacer
from registry.core.liveness.preservation import MIN_EXPIRY_BUDGET, SelfPreservation
from registry.core.model import HealthStatus, HeartbeatPolicy

H, U, DG, C, DEAD, DR = (
    HealthStatus.HEALTHY,
    HealthStatus.UNKNOWN,
    HealthStatus.DEGRADED,
    HealthStatus.CRITICAL,
    HealthStatus.DEAD,
    HealthStatus.DRAINING,
)
POLICY = HeartbeatPolicy(interval=1.0, timeout=10.0, max_failures=3)
"""A beat every second; missed at 1.5 s, 2.5 s, ...; CRITICAL at the third miss (3.5 s); DEAD at 10.5 s."""
NO_GRACE = -1.0
DEBOUNCE = 0.05


@pytest.mark.parametrize(
    ("status", "counting", "silence", "expected"),
    [
        (H, True, 0.0, 0),
        (H, True, 1.49, 0),
        (H, True, 1.5, 1),
        (H, True, 2.5, 2),
        (H, True, 3.5, 3),
        (H, False, 9.0, 0),  # no stream bound yet: no misses, only the timeout
        (DR, True, 9.0, 0),  # draining: misses stop counting
    ],
)
def test_misses(status: HealthStatus, counting: bool, silence: float, expected: int) -> None:
    assert rules.misses(status, counting, 100.0, 1.0, 100.0 + silence) == expected


class Case(NamedTuple):
    status: HealthStatus
    counting: bool
    silence: float
    broken_for: float | None
    grace: float
    expected: HealthStatus
    next_in: float


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(Case(H, True, 0.2, None, NO_GRACE, H, 1.5), id="beating: next look at the first miss"),
        pytest.param(Case(H, True, 1.5, None, NO_GRACE, DG, 3.5), id="one miss degrades; next at the Fth"),
        pytest.param(Case(DG, True, 3.5, None, NO_GRACE, C, 10.5), id="F misses: critical"),
        pytest.param(Case(C, True, 10.5, None, NO_GRACE, DEAD, 10.5), id="the timeout kills"),
        pytest.param(Case(U, False, 10.5, None, NO_GRACE, DEAD, 10.5), id="never bound: dead at the timeout"),
        pytest.param(Case(U, False, 5.0, None, NO_GRACE, U, 10.5), id="never bound: no misses before it"),
        pytest.param(Case(DR, True, 5.0, None, NO_GRACE, DR, 10.5), id="draining: only the timeout applies"),
        pytest.param(Case(DR, True, 10.5, None, NO_GRACE, DEAD, 10.5), id="draining and silent: dead"),
        pytest.param(Case(H, True, 0.2, 0.01, NO_GRACE, H, 0.24), id="a break waits for the debounce"),
        pytest.param(Case(H, True, 0.2, 0.05, NO_GRACE, C, 1.5), id="a break past the debounce: critical"),
        pytest.param(Case(DR, True, 0.2, 1.0, NO_GRACE, DR, 10.5), id="a drained break is no failure"),
        pytest.param(Case(H, True, 3.5, None, 20.0, DG, 10.5), id="grace: misses degrade, never critical"),
        pytest.param(Case(H, True, 12.0, None, 20.0, DG, 20.0), id="grace: nobody dies before it ends"),
        pytest.param(Case(C, True, 1.6, None, NO_GRACE, C, 3.5), id="silence never improves a status"),
    ],
)
def test_due(case: Case) -> None:
    ref = 100.0
    now = ref + case.silence
    broken_at = None if case.broken_for is None else now - case.broken_for
    grace_until = ref + case.grace if case.grace > 0 else 0.0
    target, next_check = rules.due(
        case.status,
        POLICY,
        ref,
        case.counting,
        broken_at,
        now=now,
        grace_until=grace_until,
        debounce=DEBOUNCE,
    )
    assert target is case.expected
    assert next_check == pytest.approx(ref + case.next_in)


def test_timeout_first_when_failures_outlast_it() -> None:
    """With F·I ≥ T an instance goes from DEGRADED straight to DEAD."""
    policy = HeartbeatPolicy(interval=1.0, timeout=2.0, max_failures=5)
    assert rules.due(DG, policy, 0.0, True, None, now=2.5, grace_until=0.0, debounce=DEBOUNCE)[0] is DEAD


@pytest.mark.parametrize(
    ("status", "target", "expiry"),
    [(H, C, True), (DG, DEAD, True), (U, C, True), (H, DG, False), (C, DEAD, False), (DR, DEAD, False)],
)
def test_expiry_is_leaving_discovery(status: HealthStatus, target: HealthStatus, expiry: bool) -> None:
    assert rules.is_expiry(status, target) is expiry


@pytest.mark.parametrize(
    ("population", "failures", "admitted"),
    [(100, 60, 50), (100, 40, 40), (4, 4, MIN_EXPIRY_BUDGET), (2, 2, 2)],
)
def test_self_preservation_admits_a_share_per_window(population: int, failures: int, admitted: int) -> None:
    preservation = SelfPreservation(threshold=0.5, window=15.0)
    results = [preservation.admit(("s", str(n)), 100.0, population) for n in range(failures)]
    assert sum(results) == admitted
    assert preservation.active is (failures > admitted)


def test_self_preservation_releases_as_the_window_slides_and_clears() -> None:
    preservation = SelfPreservation(threshold=0.5, window=15.0)
    assert [preservation.admit(("s", str(n)), 100.0, 4) for n in range(4)] == [True, True, True, False]
    assert preservation.next_release(101.0) == 115.0
    assert not preservation.admit(("s", "3"), 114.9, 4)
    assert preservation.admit(("s", "3"), 115.0, 4)
    preservation.forget(("s", "3"))
    assert not preservation.active


def test_self_preservation_off_at_threshold_one() -> None:
    preservation = SelfPreservation(threshold=1.0, window=15.0)
    assert all(preservation.admit(("s", str(n)), 100.0, 2) for n in range(10))


WALL = 1_700_000_000.0
"""The registry's wall clock in the pacing cases; monotonic time is 1000 + (wall - WALL)."""


def _paced(beats: list[tuple[float, float | None]], interval: float = 10.0, opened_at: float = 1000.0) -> int:
    """How many beats a stream gets acked: each (read after open, send time relative to WALL)."""
    pacer = Pacer(opened_at)
    for count, (read_at, sent) in enumerate(beats):
        try:
            pacer.take(1000.0 + read_at, WALL + read_at, interval, None if sent is None else WALL + sent)
        except ResourceExhausted:
            return count
    return len(beats)


@pytest.mark.parametrize(
    ("beats", "acked"),
    [
        pytest.param([(0.0, None)] * 12, BEAT_BURST, id="a burst by arrival"),
        pytest.param([(n * 2.5, None) for n in range(30)], 30, id="four per interval by arrival"),
        pytest.param([(n * 1.0, None) for n in range(40)], 12, id="ten per interval by arrival"),
        pytest.param([(60.0, 10.0 * n) for n in range(7)], 7, id="queued beats paced by send time"),
        pytest.param([(0.0, 10.0 * n) for n in range(12)], BEAT_BURST, id="send times ahead of our clock"),
        pytest.param([(0.0, -10.0 * n) for n in range(12)], BEAT_BURST, id="send times going backwards"),
        pytest.param(
            [(0.0, -86_400 + 10.0 * n) for n in range(12)], BEAT_BURST, id="send times far in the past"
        ),
    ],
)
def test_pacing(beats: list[tuple[float, float | None]], acked: int) -> None:
    assert _paced(beats) == acked
