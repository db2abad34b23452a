"""The process's real clocks, the one `registry.core.ports.Clock` the composition root injects."""

from __future__ import annotations

import time


class SystemClock:
    """`time.monotonic()` and `time.time()`."""

    __slots__ = ()

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()
