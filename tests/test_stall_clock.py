"""The stall clock's read-lateness signal, without a running loop: what it concludes from the
excess ages of the beats read (the probe adds the rise of `read_behind` to the stalled time)."""

from __future__ import annotations

import pytest

from registry.core.liveness.stall import READ_SAMPLES, READ_TOLERANCE, StallClock
from tests.helpers.clock import ManualClock


def test_the_first_beats_after_start_are_judged_on_their_own() -> None:
    clock = StallClock(ManualClock())
    assert clock.read_behind == 0.0  # nothing read yet: nothing behind
    for _ in range(5):
        clock.beat_read(0.0)
    assert clock.read_behind == 0.0
    for _ in range(6):  # the eleven beats read so far: most of them 0.3 s late
        clock.beat_read(0.3)
    assert clock.read_behind == pytest.approx(0.3 - READ_TOLERANCE)


def test_a_full_window_judges_the_latest_beats_only() -> None:
    clock = StallClock(ManualClock())
    for _ in range(READ_SAMPLES):
        clock.beat_read(1.0)
    assert clock.read_behind == pytest.approx(1.0 - READ_TOLERANCE)
    for _ in range(READ_SAMPLES // 2 + 1):  # a majority of the window is punctual again
        clock.beat_read(0.01)
    assert clock.read_behind == 0.0
    for _ in range(READ_SAMPLES):
        clock.beat_read(0.2)
    assert clock.read_behind == pytest.approx(0.2 - READ_TOLERANCE)


def test_a_few_late_beats_among_many_do_not_count() -> None:
    clock = StallClock(ManualClock())
    for n in range(100):
        clock.beat_read(5.0 if n % 3 == 0 else 0.0)  # a third of the streams have wrong clocks
    assert clock.read_behind == 0.0
