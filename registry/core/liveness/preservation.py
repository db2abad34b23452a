"""Self-preservation: when many instances fail at once, hold the excess instead of expiring them.

The registry cannot tell a mass failure from its own network trouble, so it rate-limits failures
that take serving instances out of discovery. Pure bookkeeping over the times it is given.
"""

from __future__ import annotations

import collections
import logging

from registry.core.model import InstanceKey

log = logging.getLogger(__name__)

MIN_EXPIRY_BUDGET = 3
"""Expiries per window always admitted, so self-preservation protects fleets, not pairs."""


class SelfPreservation:
    """Admits at most `threshold` x instances (and at least MIN_EXPIRY_BUDGET) expiries per sliding
    `window`, and holds the rest.

    An *expiry* is a failure that takes a serving instance (UNKNOWN, HEALTHY, DEGRADED) out of
    discovery: to CRITICAL or DEAD. When more instances than that fail within one window the
    registry keeps the excess serving and releases them as the window slides: the rule is
    *engaged* while anything is held. It clears by itself, either because held instances beat
    again or because the budget releases them, so one engagement never lasts longer than about
    ⌈1 / threshold⌉ windows. A threshold of 1 disables it. Reaping waits while it is engaged.
    """

    def __init__(self, threshold: float, window: float) -> None:
        self._threshold = threshold
        self._window = window
        self._admitted: collections.deque[float] = collections.deque()
        self._held: set[InstanceKey] = set()

    @property
    def active(self) -> bool:
        return bool(self._held)

    def admit(self, key: InstanceKey, now: float, population: int) -> bool:
        """Whether `key` may expire at `now` in a fleet of `population`; False holds it."""
        if self._threshold >= 1:
            return True
        admitted = self._admitted
        while admitted and admitted[0] <= now - self._window:
            admitted.popleft()
        if len(admitted) < max(MIN_EXPIRY_BUDGET, int(self._threshold * population)):
            admitted.append(now)
            return True
        if not self._held:
            log.warning(
                "self-preservation engaged: holding expiries",
                extra={"expired_in_window": len(admitted), "instances": population},
            )
        self._held.add(key)
        return False

    def next_release(self, now: float) -> float:
        """When the oldest admitted expiry leaves the window, freeing budget."""
        return (self._admitted[0] if self._admitted else now) + self._window

    def forget(self, key: InstanceKey) -> None:
        """`key` is no longer held (it beat again, expired after all, or left)."""
        if key in self._held:
            self._held.discard(key)
            if not self._held:
                log.warning("self-preservation cleared")
