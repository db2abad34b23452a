"""The clocks the core reads, as one injected dependency instead of calls to `time`.

Liveness needs two readings: a monotonic one for every interval, deadline and rate (it never
jumps), and the wall clock only to show when something happened and to age a client's send
time. Passing both in one object lets tests drive the core with a clock they move by hand, and
lets the registry hand liveness a clock that does not run while the registry itself is stalled
(`registry.core.liveness.lag`). The process's real clocks are `registry.clock.SystemClock`.
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """A monotonic reading for durations and a wall reading for display, both in seconds."""

    def monotonic(self) -> float: ...

    def wall(self) -> float: ...
