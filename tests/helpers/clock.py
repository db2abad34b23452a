"""A clock tests move by hand, so liveness rules and pacing are tested without sleeping."""

from __future__ import annotations


class ManualClock:
    """Implements `registry.core.ports.Clock`; moves only on `advance`."""

    __slots__ = ("_mono", "_wall")

    def __init__(self, monotonic: float = 1_000.0, wall: float = 1_700_000_000.0) -> None:
        self._mono = monotonic
        self._wall = wall

    def monotonic(self) -> float:
        return self._mono

    def wall(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += seconds
