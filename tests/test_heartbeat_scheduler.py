"""The one deadline scheduler liveness runs on: order, replacement, cancellation, bounded heap."""

from __future__ import annotations

import asyncio
import time

import pytest

from registry.core.scheduler import DeadlineScheduler


async def _run(scheduler: DeadlineScheduler[str], seconds: float) -> None:
    scheduler.start()
    await asyncio.sleep(seconds)
    await scheduler.stop()


async def test_keys_fire_once_in_deadline_order_and_not_before_their_deadline() -> None:
    fired: list[tuple[str, float, float]] = []
    scheduler: DeadlineScheduler[str] = DeadlineScheduler(
        lambda key, now: fired.append((key, now, time.monotonic())), time.monotonic
    )
    start = time.monotonic()
    due = {"c": start + 0.06, "a": start + 0.02, "b": start + 0.04}
    for key, when in due.items():
        scheduler.schedule(key, when)
    await _run(scheduler, 0.15)
    assert [key for key, _, _ in fired] == ["a", "b", "c"]
    assert all(now >= due[key] for key, now, _ in fired)
    assert len(scheduler) == 0


class ManualClock:
    """A clock the test moves: which deadlines have passed is then decided by the test, not by
    how late a loaded event loop runs (`fire_due` is what the scheduler task calls)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rescheduling_replaces_and_cancel_removes() -> None:
    fired: list[str] = []
    clock = ManualClock()
    scheduler: DeadlineScheduler[str] = DeadlineScheduler(lambda key, _now: fired.append(key), clock)
    scheduler.schedule("later", 1001.0)
    scheduler.schedule("later", 1005.0)  # replaces the earlier deadline
    scheduler.schedule("gone", 1001.0)
    scheduler.cancel("gone")
    scheduler.schedule_no_later("kept", 1002.0)
    scheduler.schedule_no_later("kept", 1050.0)  # later than the current one: ignored
    clock.now = 1003.0
    scheduler.fire_due()
    assert fired == ["kept"]
    assert scheduler.deadline("later") == 1005.0
    clock.now = 1004.999
    scheduler.fire_due()
    assert fired == ["kept"]
    clock.now = 1060.0
    scheduler.fire_due()
    assert fired == ["kept", "later"]
    assert len(scheduler) == 0


@pytest.mark.allow_error_logs  # a failing callback is a bug of ours, logged on purpose here
def test_a_callback_may_reschedule_its_own_key_and_a_failing_one_does_not_stop_the_rest() -> None:
    fired: list[tuple[str, float]] = []

    def fire(key: str, now: float) -> None:
        fired.append((key, now))
        if key == "boom":
            raise RuntimeError("callback bug")
        if len(fired) < 4:
            scheduler.schedule("tick", now + 1.0)

    clock = ManualClock()
    scheduler: DeadlineScheduler[str] = DeadlineScheduler(fire, clock)
    scheduler.schedule("boom", 1000.0)
    scheduler.schedule("tick", 1001.0)
    for _ in range(10):
        clock.now += 1.0
        scheduler.fire_due()
    assert fired == [("boom", 1001.0), ("tick", 1001.0), ("tick", 1002.0), ("tick", 1003.0)]
    assert len(scheduler) == 0


def test_stale_entries_never_outgrow_the_live_ones() -> None:
    scheduler: DeadlineScheduler[int] = DeadlineScheduler(lambda _key, _now: None, time.monotonic)
    for round_ in range(100):
        for key in range(100):
            scheduler.schedule(key, 1000.0 + round_)
    assert len(scheduler) == 100
    assert scheduler.heap_entries <= 2 * 100 + 1024 + 1
