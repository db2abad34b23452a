"""One deadline scheduler for liveness: a heap with lazy deletion, driven by one asyncio task.

Liveness needs timers (a degraded instance's next miss, its death, a broken stream's debounce, a
reap, and one per lane of beating instances: see `registry.core.liveness.lanes`). A task or a
`call_later` handle per instance would cost memory and wake-ups per instance; a heap costs one
entry per key and O(log n) per (re)schedule, and one task sleeps until the earliest deadline.
Instances that beat on time are not in it one by one: their lane is, once.

Rescheduling never searches the heap: it pushes a new entry and records it as the key's current
one; an entry that is no longer current is dropped when it reaches the top ("lazy deletion").
The heap is rebuilt from the current entries when stale ones outnumber them, so its size stays
within a constant factor of the number of keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from registry.core.background import BackgroundTask

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

_COMPACT_SLACK = 1024
"""Stale entries tolerated beyond the live ones before the heap is rebuilt."""
GRANULARITY = 0.002
"""Seconds the task sleeps past the earliest deadline. Event loop timers are millisecond-grained
(uvloop's clock is) and may wake a little early; sleeping a bit longer means a wake-up always
finds work, and deadlines that fall close together are served by one wake-up. Deadlines thus
fire up to about this late, which liveness (half an interval of tolerance) does not notice."""


class DeadlineScheduler(Generic[K]):
    """Calls `fire(key, now)` once each key's deadline (a value of `clock()`) has passed.

    A key has at most one deadline; scheduling it again replaces the previous one. `fire` runs on
    the scheduler task and may schedule or cancel any key, including the one it was called for.
    """

    def __init__(self, fire: Callable[[K, float], None], clock: Callable[[], float]) -> None:
        self._fire = fire
        self._clock = clock
        self._heap: list[tuple[float, int, K]] = []
        self._current: dict[K, tuple[float, int]] = {}
        self._sequence = itertools.count()
        self._wake = asyncio.Event()
        self._task = BackgroundTask(self._run, "deadline-scheduler")

    def __len__(self) -> int:
        return len(self._current)

    @property
    def heap_entries(self) -> int:
        """Entries in the heap, stale ones included (they are compacted away in bulk)."""
        return len(self._heap)

    def deadline(self, key: K) -> float | None:
        entry = self._current.get(key)
        return None if entry is None else entry[0]

    def schedule(self, key: K, when: float) -> None:
        """Set `key`'s deadline to `when`, replacing any earlier or later one."""
        sequence = next(self._sequence)
        self._current[key] = (when, sequence)
        if not self._heap or when < self._heap[0][0]:
            self._wake.set()
        heapq.heappush(self._heap, (when, sequence, key))
        if len(self._heap) > 2 * len(self._current) + _COMPACT_SLACK:
            self._compact()

    def schedule_no_later(self, key: K, when: float) -> None:
        """Make sure `key` fires at `when` or before: keeps an earlier deadline, replaces a later one."""
        current = self._current.get(key)
        if current is None or when < current[0]:
            self.schedule(key, when)

    def cancel(self, key: K) -> None:
        self._current.pop(key, None)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        """Stop firing; pending deadlines are kept but never fire."""
        await self._task.stop()

    def _compact(self) -> None:
        self._heap = [(when, sequence, key) for key, (when, sequence) in self._current.items()]
        heapq.heapify(self._heap)

    def _pop_due(self, now: float) -> list[K]:
        due: list[K] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, sequence, key = heapq.heappop(heap)
            if self._current.get(key) == (when, sequence):
                del self._current[key]
                due.append(key)
        return due

    def _next_delay(self, now: float) -> float | None:
        heap = self._heap
        while heap and self._current.get(heap[0][2]) != (heap[0][0], heap[0][1]):
            heapq.heappop(heap)
        return None if not heap else max(0.0, heap[0][0] - now)

    def fire_due(self) -> None:
        """Fire every key whose deadline has passed on the clock (the task does this; a test
        driving a manual clock may call it directly)."""
        now = self._clock()
        for key in self._pop_due(now):
            if key in self._current:
                continue  # an earlier callback of this round gave it a new deadline
            try:
                self._fire(key, now)
            except Exception:
                log.exception("deadline callback failed", extra={"key": key})

    async def _run(self) -> None:
        while True:
            self.fire_due()
            self._wake.clear()
            delay = self._next_delay(self._clock())
            if delay is None:
                await self._wake.wait()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay + GRANULARITY):
                    await self._wake.wait()
