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


async def test_rescheduling_replaces_and_cancel_removes() -> None:
    fired: list[str] = []
    scheduler: DeadlineScheduler[str] = DeadlineScheduler(lambda key, _now: fired.append(key), time.monotonic)
    now = time.monotonic()
    scheduler.schedule("later", now + 0.01)
    scheduler.schedule("later", now + 0.05)  # replaces the earlier deadline
    scheduler.schedule("gone", now + 0.01)
    scheduler.cancel("gone")
    scheduler.schedule_no_later("kept", now + 0.02)
    scheduler.schedule_no_later("kept", now + 0.5)  # later than the current one: ignored
    scheduler.start()
    await asyncio.sleep(0.03)
    assert fired == ["kept"]
    await asyncio.sleep(0.05)
    await scheduler.stop()
    assert fired == ["kept", "later"]


@pytest.mark.allow_error_logs  # a failing callback is a bug of ours, logged on purpose here
async def test_a_callback_may_reschedule_its_own_key_and_a_failing_one_does_not_stop_the_rest() -> None:
    fired: list[str] = []

    def fire(key: str, now: float) -> None:
        fired.append(key)
        if key == "boom":
            raise RuntimeError("callback bug")
        if fired.count("tick") < 3:
            scheduler.schedule("tick", now + 0.01)

    scheduler: DeadlineScheduler[str] = DeadlineScheduler(fire, time.monotonic)
    now = time.monotonic()
    scheduler.schedule("boom", now)
    scheduler.schedule("tick", now + 0.01)
    await _run(scheduler, 0.1)
    assert fired == ["boom", "tick", "tick", "tick"]


def test_stale_entries_never_outgrow_the_live_ones() -> None:
    scheduler: DeadlineScheduler[int] = DeadlineScheduler(lambda _key, _now: None, time.monotonic)
    for round_ in range(100):
        for key in range(100):
            scheduler.schedule(key, 1000.0 + round_)
    assert len(scheduler) == 100
    assert scheduler.heap_entries <= 2 * 100 + 1024 + 1
