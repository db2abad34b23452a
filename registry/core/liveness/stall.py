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

Last, grpc may hold beats in its own threads and buffers while the loop stays punctual and
nothing late has been read yet. The engine knows how many beats per second its bound streams
should send; when the registry reads under a quarter of that for a while (and that is at least
UNREAD_MIN beats), it is not reading, and that counts as a stall too, for at most
MAX_UNREAD_HOLD in a row: a fleet that really went silent all at once (a partition) is still
judged after that.

What still runs: a client that really died stays silent once the registry catches up, and its
broken stream (a SIGKILL) is seen as soon as the registry reads the connection's end, so real
failures are detected, only later by the length of the stall.

The clock is continuous and never goes backwards: while a stall is in progress (the probe is
overdue) the overdue part is subtracted at once, before the probe gets to run.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import statistics
from collections.abc import Callable

from registry.core.background import BackgroundTask
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
UNREAD_WINDOW = 0.5
"""Seconds over which beats read are compared with beats expected."""
UNREAD_MIN = 20
"""Fewer beats expected in the window than this tells nothing (a small fleet)."""
MAX_UNREAD_HOLD = 10.0
"""Longest stretch counted as a stall because too few beats were read."""
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
        self._task = BackgroundTask(self._probe, "stall-probe")
        self._ages: list[float] = []
        """The latest excess ages read, at most READ_SAMPLES: a ring once full, and until then
        only the beats really read, so the first beats after start are judged on their own."""
        self._next_age = 0
        self._read_behind = 0.0
        self._beats: Callable[[], int] = lambda: 0
        self._expected_rate: Callable[[], float] = lambda: 0.0
        self._reads: collections.deque[tuple[float, int]] = collections.deque()
        self._unread_hold = 0.0
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
        ages = self._ages
        if len(ages) < READ_SAMPLES:
            ages.append(excess_age)
            return
        index = self._next_age
        ages[index] = excess_age
        self._next_age = index + 1 if index + 1 < READ_SAMPLES else 0

    @property
    def read_behind(self) -> float:
        """How much later than usual the registry reads beats now: the median excess age of the
        latest beats read, beyond READ_TOLERANCE (0 before any beat was read)."""
        ages = self._ages
        return max(0.0, statistics.median(ages) - READ_TOLERANCE) if ages else 0.0

    def watch_reads(self, beats: Callable[[], int], expected_rate: Callable[[], float]) -> None:
        """Compare beats read so far (`beats`) with the beats per second bound streams should
        send (`expected_rate`), to see when the registry is not reading."""
        self._beats = beats
        self._expected_rate = expected_rate

    def _not_reading(self, now: float, elapsed: float) -> float:
        """`elapsed` when too few beats were read over the last window, else 0."""
        reads = self._reads
        reads.append((now, self._beats()))
        while now - reads[0][0] > UNREAD_WINDOW:
            reads.popleft()
        span = now - reads[0][0]
        expected = self._expected_rate() * span
        if span < UNREAD_WINDOW / 2 or expected < UNREAD_MIN or reads[-1][1] - reads[0][1] >= expected / 4:
            self._unread_hold = 0.0
            return 0.0
        if self._unread_hold >= MAX_UNREAD_HOLD:
            return 0.0
        self._unread_hold += elapsed
        return elapsed

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()
        self._due = None

    def _overdue(self, now: float) -> float:
        due = self._due
        if due is None:
            return 0.0
        return max(0.0, now - due - self._tolerance)

    async def _probe(self) -> None:
        base = self._base
        previous = base.monotonic()
        while True:
            self._due = base.monotonic() + self._period
            await asyncio.sleep(self._period)
            now = base.monotonic()
            late = self._overdue(now)
            behind = self.read_behind
            # The signals overlap (a stalled loop also reads late and reads little): take the largest.
            late = max(late, behind - self._read_behind, self._not_reading(now, now - previous))
            previous = now
            self._read_behind = behind
            self._stalled += late
            self._due = None
            self.longest_stall = max(self.longest_stall, late)
            if late >= REPORT_STALL:
                log.warning(
                    "the registry was stalled; liveness did not count it as client silence",
                    extra={"stalled_seconds": round(late, 3)},
                )
