"""Slots of one kind of stream (watchers, subscribers), bounded in total and per caller.

A global limit alone lets one caller take every slot: one discover-scope connection once held all
watcher slots, one subscriber connection 200 of 250 subscriber slots, and every other service was
refused. So each caller (the token subject; every caller is the same local identity when auth is
off) may hold at most `per_caller` of the `total`. A slot is taken when a stream starts and given
back the moment the stream ends for any reason, a cut for lagging included.
"""

from __future__ import annotations

from registry.core.errors import Reason, limit_reached


class CallerSlots:
    """Counts of held slots, in total and by caller. Not thread-safe: the event loop owns it."""

    def __init__(self, what: str, reason: Reason, *, total: int, per_caller: int | None = None) -> None:
        """`per_caller` None: no share below the total."""
        self._what = what
        self._reason = reason
        self.total = total
        self.per_caller = total if per_caller is None else min(per_caller, total)
        self._held = 0
        self._held_by: dict[str, int] = {}

    @property
    def held(self) -> int:
        return self._held

    def held_by(self, caller: str) -> int:
        return self._held_by.get(caller, 0)

    def check(self, caller: str) -> None:
        """ResourceExhausted (with the limit) when `caller` could not take a slot now."""
        if self._held >= self.total:
            raise limit_reached(
                self._reason, f"the registry serves its maximum of {self.total} {self._what}", self.total
            )
        if self._held_by.get(caller, 0) >= self.per_caller:
            raise limit_reached(
                self._reason,
                f"caller {caller!r} holds its maximum of {self.per_caller} {self._what}; close one first",
                self.per_caller,
            )

    def take(self, caller: str) -> None:
        """Take a slot for `caller`; ResourceExhausted (with the limit) when none is left to it."""
        self.check(caller)
        self._held += 1
        self._held_by[caller] = self._held_by.get(caller, 0) + 1

    def give_back(self, caller: str) -> None:
        """Return a slot `caller` took (once per `take`)."""
        self._held -= 1
        left = self._held_by[caller] - 1
        if left:
            self._held_by[caller] = left
        else:
            del self._held_by[caller]
