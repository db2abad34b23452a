"""Sliding-window counts, status codes and latency histograms of one observed edge, in fixed memory.

An edge keeps two rings of time slots: 31 slots of 10 s (for the 1- and 5-minute windows) and 61
slots of 60 s (for the 60-minute window). A slot is a fixed row of integers: one count per latency
bucket and one per status code. All rows of an edge live in one preallocated `array`, allocated
when the edge is first seen; recording a message is two integer increments in each ring (after
zeroing the row in place when its slot comes round again). Nothing allocated grows with traffic,
so the memory of an edge is constant (about 24 KiB) however many messages it carries.

A window of W is the last W/slot slots including the current, partial one: it covers between
W - slot and W of the most recent traffic (10 s of slack for 1 and 5 minutes, 60 s for 60 minutes).
Percentiles are read from the bucket counts the way Prometheus' `histogram_quantile` does: linear
interpolation inside the bucket that holds the rank.
"""

from __future__ import annotations

import enum
from array import array
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

LATENCY_BOUNDS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
)
"""Upper bounds (seconds) of the latency buckets; one more bucket holds everything above 30 s."""

BUCKETS = len(LATENCY_BOUNDS) + 1
CODES = 17
"""Canonical status codes 0 (OK) to 16 (UNAUTHENTICATED); any other number counts as 2 (UNKNOWN)."""
CODE_UNKNOWN = 2
FIELDS = BUCKETS + CODES
"""Integers per slot."""


class Window(enum.IntEnum):
    """How much recent traffic an observed edge reports (proto `GraphWindow`)."""

    ONE_MINUTE = 1
    FIVE_MINUTES = 2
    SIXTY_MINUTES = 3


@dataclass(frozen=True, slots=True)
class _Ring:
    slot_seconds: float
    slots: int


_FINE = _Ring(10.0, 31)
_COARSE = _Ring(60.0, 61)
_WINDOWS: dict[Window, tuple[int, int]] = {
    Window.ONE_MINUTE: (0, 6),
    Window.FIVE_MINUTES: (0, 30),
    Window.SIXTY_MINUTES: (1, 60),
}
"""Per window: which ring (0 fine, 1 coarse) and how many of its slots, the current one included."""

WINDOW_SECONDS = {Window.ONE_MINUTE: 60.0, Window.FIVE_MINUTES: 300.0, Window.SIXTY_MINUTES: 3600.0}


@dataclass(frozen=True, slots=True)
class WindowStats:
    """What an edge carried during a window. Latencies in seconds; 0 when there was no message."""

    count: int
    errors: Mapping[int, int]
    """Messages per status code other than OK (0); codes with no message are absent."""
    p50: float
    p90: float
    p99: float

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


EMPTY_STATS = WindowStats(0, MappingProxyType({}), 0.0, 0.0, 0.0)


def percentile(
    buckets: Sequence[int], count: int, q: float, bounds: Sequence[float] = LATENCY_BOUNDS
) -> float:
    """The q-quantile (0 < q <= 1) of a bucketed distribution (one more bucket than `bounds`, the
    last above them all), interpolated inside its bucket; the highest finite bound when the rank
    falls in the overflow bucket."""
    if count == 0:
        return 0.0
    rank = q * count
    seen = 0
    for index, in_bucket in enumerate(buckets):
        if in_bucket and seen + in_bucket >= rank:
            if index == len(bounds):
                return bounds[-1]
            lower = bounds[index - 1] if index else 0.0
            return lower + (bounds[index] - lower) * (rank - seen) / in_bucket
        seen += in_bucket
    return bounds[-1]


class EdgeWindows:
    """The two rings of one observed edge. `record` is the per-message path; `stats` is read on
    demand (a graph request), summing at most 60 rows."""

    __slots__ = ("_data", "_epochs", "codes", "last_seen", "total")

    _ZERO_ROW = array("q", bytes(8 * FIELDS))

    def __init__(self) -> None:
        self._data = (
            array("q", bytes(8 * FIELDS * _FINE.slots)),
            array("q", bytes(8 * FIELDS * _COARSE.slots)),
        )
        self._epochs = (array("q", [-1]) * _FINE.slots, array("q", [-1]) * _COARSE.slots)
        self.last_seen = 0.0
        self.total = 0
        """Messages since the edge was first seen (not windowed)."""
        self.codes = array("q", bytes(8 * CODES))
        """Messages per status code since the edge was first seen (counters for the metrics)."""

    def record(self, now: float, code: int, seconds: float) -> None:
        """Count one message that ended with status `code` after `seconds`."""
        bucket = bisect_left(LATENCY_BOUNDS, seconds)
        status = BUCKETS + (code if 0 <= code < CODES else CODE_UNKNOWN)
        self.last_seen = now
        self.total += 1
        self.codes[status - BUCKETS] += 1
        self._count(0, int(now // _FINE.slot_seconds), bucket, status)
        self._count(1, int(now // _COARSE.slot_seconds), bucket, status)

    def _count(self, ring: int, period: int, bucket: int, status: int) -> None:
        data = self._data[ring]
        epochs = self._epochs[ring]
        slot = period % len(epochs)
        base = slot * FIELDS
        if epochs[slot] != period:
            data[base : base + FIELDS] = self._ZERO_ROW
            epochs[slot] = period
        data[base + bucket] += 1
        data[base + status] += 1

    def _at(self, ring: int) -> tuple[array[int], array[int]]:
        return self._data[ring], self._epochs[ring]

    def totals(self, now: float, window: Window) -> list[int]:
        """The window ending at `now` as one row (bucket counts, then code counts), summed from
        the slots still inside it: what `stats` reads and what a replica shares (graph_share)."""
        which, wanted = _WINDOWS[window]
        ring = (_FINE, _COARSE)[which]
        data, epochs = self._at(which)
        current = int(now // ring.slot_seconds)
        totals = [0] * FIELDS
        for period in range(current - wanted + 1, current + 1):
            slot = period % ring.slots
            if epochs[slot] == period:
                base = slot * FIELDS
                totals = [a + b for a, b in zip(totals, data[base : base + FIELDS], strict=True)]
        return totals

    def stats(self, now: float, window: Window) -> WindowStats:
        """The window ending at `now`, summed from the slots still inside it."""
        return stats_of(self.totals(now, window))


def stats_of(totals: Sequence[int]) -> WindowStats:
    """The stats of one row of window totals (bucket counts, then code counts); rows of several
    replicas add up field by field into the row of their union."""
    buckets = totals[:BUCKETS]
    count = sum(buckets)
    if count == 0:
        return EMPTY_STATS
    errors = {code: n for code, n in enumerate(totals[BUCKETS:]) if code and n}
    return WindowStats(
        count,
        MappingProxyType(errors),
        percentile(buckets, count, 0.50),
        percentile(buckets, count, 0.90),
        percentile(buckets, count, 0.99),
    )
