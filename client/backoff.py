"""Exponential backoff with full jitter, for every reconnect loop in the SDK.

Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): the n-th wait is uniform in
[0, min(cap, base * 2**n)]. When a registry restart drops a whole fleet at once, the reconnects are
spread over the whole window instead of arriving in synchronized waves; tests measure the spread.
"""

from __future__ import annotations

import random


class Backoff:
    """Successive waits for one retry loop; `reset()` after a success."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        """The wait before the next attempt; each call widens the window until it reaches `cap`."""
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt, 62))
        self.attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0
