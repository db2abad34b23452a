"""A clock that stops while the registry itself is stalled, so liveness never blames clients for
the registry's own lateness.

When the event loop is saturated (a CPU-starved host, a burst of registrations, a reconnect
wave), beats and binds wait in the registry before it reads them. Counting that wait as client
silence is how an overloaded registry marks a healthy fleet DEGRADED or DEAD, which makes the
overload worse (clients reconnect) and is wrong: the clients did beat. So liveness reads time
through `StallClock`: a probe task asks the loop to wake it every `period`; whatever it wakes
later than `tolerance` past that is a stall, and the clock does not advance during it. Silence,
misses, deadlines and the stream-break debounce all run on this clock, so they measure the time
the registry *could* have read a beat, not the time it got around to it.

The event loop is not the only place a beat waits: under CPU starvation grpc's own threads and
buffers hold beats too, while the loop itself looks punctual. Beats carry their send time, so
each stream also reports how much older than usual (its own smallest age, which absorbs a
client's clock offset) each beat is when read. The median of the latest ages across all streams
says how far behind the registry reads; a rise of it beyond `READ_TOLERANCE` is a stall too. A
median, so that a few clients with wrong clocks cannot slow everyone's failure detection.

What still runs: a client that really died stays silent once the registry catches up, and its
broken stream (a SIGKILL) is seen as soon as the registry reads the connection's end, so real
failures are detected, only later by the length of the stall.

The clock is continuous and never goes backwards: while a stall is in progress (the probe is
overdue) the overdue part is subtracted at once, before the probe gets to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics

from registry.core.ports import Clock

log = logging.getLogger(__name__)

PERIOD = 0.02
"""Seconds between probe wake-ups: 50 cheap callbacks a second."""
TOLERANCE = 0.01
"""Lateness of a wake-up that is ordinary scheduling jitter, not a stall."""
READ_TOLERANCE = 0.05
"""How much older than usual beats may be read before the registry counts itself behind."""
READ_SAMPLES = 255
"""Beat ages kept for the median (the latest ones, across all streams)."""
REPORT_STALL = 1.0
"""A stall this long is logged (as a warning: it is the registry's own trouble)."""


class StallClock:
    """A `Clock` whose monotonic reading excludes the event loop's stalls; `start()` in the loop."""

    def __init__(self, base: Clock, period: float = PERIOD, tolerance: float = TOLERANCE) -> None:
        self._base = base
        self._period = period
        self._tolerance = tolerance
        self._stalled = 0.0
        self._due: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._ages = [0.0] * READ_SAMPLES
        self._next_age = 0
        self._read_behind = 0.0
        self.longest_stall = 0.0
        """The longest stall seen since start, in seconds (for metrics and the overload test)."""

    @property
    def stalled_seconds(self) -> float:
        """All the time the loop was stalled since start."""
        return self._stalled + self._overdue(self._base.monotonic())

    def monotonic(self) -> float:
        now = self._base.monotonic()
        return now - self._stalled - self._overdue(now)

    def wall(self) -> float:
        return self._base.wall()

    def beat_read(self, excess_age: float) -> None:
        """A beat was read `excess_age` seconds later than its stream's beats usually are."""
        index = self._next_age
        self._ages[index] = excess_age
        self._next_age = index + 1 if index + 1 < READ_SAMPLES else 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._probe(), name="stall-probe")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._due = None

    def _overdue(self, now: float) -> float:
        due = self._due
        if due is None:
            return 0.0
        return max(0.0, now - due - self._tolerance)

    async def _probe(self) -> None:
        base = self._base
        while True:
            self._due = base.monotonic() + self._period
            await asyncio.sleep(self._period)
            now = base.monotonic()
            late = self._overdue(now)
            behind = max(0.0, statistics.median(self._ages) - READ_TOLERANCE)
            late = max(late, behind - self._read_behind)  # the loop's stall shows in the ages too
            self._read_behind = behind
            self._stalled += late
            self._due = None
            self.longest_stall = max(self.longest_stall, late)
            if late >= REPORT_STALL:
                log.warning(
                    "the registry was stalled; liveness did not count it as client silence",
                    extra={"stalled_seconds": round(late, 3)},
                )
