"""The heartbeat rate limit of one stream: a token bucket over the times beats were sent.

Beats that queued behind a busy registry or a stalled connection are read back to back;
counting them by arrival would cut exactly the healthy streams of an overloaded registry (a
restart's reconnect wave) and make it busier still. So a beat that carries its send time is
paced by it, moved onto the registry's monotonic clock through its age. The registry's clock
bounds what a client can earn, whatever it sends:

- an age below zero (a client clock ahead of ours, or a lie) counts as zero, so a paced time
  never passes our clock;
- a send time before the previous one (a client clock stepped back, or a lie) falls back to the
  arrival time, so paced times never go backwards;
- a paced time never lies before the registry read the bind (less PIPELINED_INTERVALS, for
  beats written right behind the bind), so a stream can never earn more than the registry's own
  clock has run since then, plus that allowance and the burst: send times that start far in
  the past earn nothing.

Without a send time, the arrival time paces. The first beat sets the baseline: beats sent while
the registry had not yet read the bind must not count against the stream.
"""

from __future__ import annotations

from registry.core.errors import Reason, limit_reached
from registry.core.limits import LIMITS

BEATS_PER_INTERVAL = LIMITS.beats_per_interval
"""Sustained beats per interval a stream may send; faster is refused with RESOURCE_EXHAUSTED."""
BEAT_BURST = LIMITS.beat_burst
"""Beats a stream may send back to back (e.g. after a client-side pause) before the rate applies."""
PIPELINED_INTERVALS = 2
"""How many intervals before the registry read the bind a beat may have been sent and still earn
credit: a client may write beats right behind its bind (the SDK waits for `bound`)."""


class Pacer:
    """Takes one token per beat; `take` raises ResourceExhausted when the stream beats too fast."""

    __slots__ = ("_earliest", "_paced", "_tokens")

    def __init__(self, opened_at: float) -> None:
        self._tokens = float(BEAT_BURST)
        self._paced: float | None = None
        """When, on the registry's monotonic clock, the last beat was sent."""
        self._earliest = opened_at
        """No beat of this stream can have been sent before this (registry monotonic time)."""

    def take(self, now: float, wall: float, interval: float, sent_at: float | None) -> None:
        """Account for one beat read at `now` (monotonic) / `wall` (Unix), sent at `sent_at`
        (the client's Unix time) when the beat says."""
        paced = now if sent_at is None else now - max(0.0, wall - sent_at)
        paced = max(paced, self._earliest)
        last = self._paced
        if last is None:
            last = paced
        elif paced < last:
            paced = now
        tokens = min(BEAT_BURST, self._tokens + (paced - last) * BEATS_PER_INTERVAL / interval)
        self._paced = paced
        if tokens < 1:
            raise limit_reached(
                Reason.HEARTBEAT_TOO_FAST,
                f"beats faster than {BEATS_PER_INTERVAL} per interval of {interval:g}s",
                BEATS_PER_INTERVAL,
            )
        self._tokens = tokens - 1

    def refill(self) -> None:
        """Forget past beats (the policy changed under the client)."""
        self._tokens = float(BEAT_BURST)
