"""Beating instances, checked in bulk: one lane per heartbeat interval, in order of last beat.

An instance that is HEALTHY, counting misses and has no broken stream needs no timer of its own:
its next check is always its first possible miss, `rules.first_miss_at(ref, interval)`, where
`ref` is its last beat. So such instances wait in the `Lane` of their interval, an insertion-
ordered dict that each beat moves to the end (`OrderedDict.move_to_end`: one C call, no
allocation, no heap operation). The clock never goes back, so a lane stays sorted by `ref`: its
head is its most silent instance. The engine's scheduler holds one deadline per lane, the head's
first miss; when it fires, the lane gives up only the heads that really are late, and the engine
evaluates those one by one (they become DEGRADED). A lane whose head beat meanwhile wakes, finds
nothing late, and sleeps until its new head's first miss: about two wake-ups per interval per
lane, whatever the number of instances in it.

Every other deadline (a degraded instance's next miss, its death, a broken stream's debounce, a
reap, the startup grace) is rare and stays in the scheduler's heap, exact to its granularity.
"""

from __future__ import annotations

import collections

from registry.core.liveness import rules
from registry.core.liveness.record import InstanceState
from registry.core.model import InstanceKey


class Lane:
    """The healthy beating instances of one interval, least recently heard first."""

    __slots__ = ("_states", "interval")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._states: collections.OrderedDict[InstanceKey, InstanceState] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return f"Lane(interval={self.interval:g}, instances={len(self._states)})"

    def add(self, state: InstanceState) -> bool:
        """Put `state` at the end (it was heard last). False, leaving it out, when an instance
        already in the lane was heard after it (its `ref` is older than the tail's): a lane only
        ever holds its instances in `ref` order, and the caller then gives it a deadline of its own."""
        states = self._states
        if states and states[next(reversed(states))].ref > state.ref:
            return False
        states[state.key] = state
        state.lane = self
        return True

    def heard(self, state: InstanceState) -> None:
        """`state` (in this lane) beat just now: it goes to the end."""
        self._states.move_to_end(state.key)

    def remove(self, state: InstanceState) -> None:
        """Take `state` out of this lane."""
        del self._states[state.key]
        state.lane = None

    def next_due(self) -> float | None:
        """The head's first miss: when the lane must be looked at next (None when empty)."""
        states = self._states
        if not states:
            return None
        head = states[next(iter(states))]
        return rules.first_miss_at(head.ref, self.interval)

    def pop_late(self, now: float) -> list[InstanceState]:
        """Take out and return every instance whose first miss has come by `now`, oldest first."""
        late: list[InstanceState] = []
        states = self._states
        interval = self.interval
        while states:
            key = next(iter(states))
            state = states[key]
            if rules.first_miss_at(state.ref, interval) > now:
                break
            del states[key]
            state.lane = None
            late.append(state)
        return late
