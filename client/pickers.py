"""Pickers: which of a service's serving instances takes the next call.

A picker only chooses; discovery hands it the candidates already filtered and ordered (preferred
zone first, then weight), so each picker is a few lines:

- `RoundRobin`: each instance in turn;
- `RandomPick`: uniformly at random;
- `Weighted`: at random in proportion to `Instance.weight`;
- `LeastLoaded`: the less loaded of two random candidates ("power of two choices"), where load is
  the calls this client has open to the instance plus the `in_flight` the instance last reported
  with its beats. Two choices rather than the global minimum, so many clients with the same stale
  view do not all pile onto the one instance that looked idle.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from typing import Protocol

from client.model import Instance


class Picker(Protocol):
    def pick(self, candidates: Sequence[Instance]) -> Instance:
        """One of `candidates` (never empty)."""
        ...


class RoundRobin:
    def __init__(self) -> None:
        self._counter = itertools.count()

    def pick(self, candidates: Sequence[Instance]) -> Instance:
        return candidates[next(self._counter) % len(candidates)]


class RandomPick:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def pick(self, candidates: Sequence[Instance]) -> Instance:
        return self._rng.choice(candidates)


class Weighted:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def pick(self, candidates: Sequence[Instance]) -> Instance:
        return self._rng.choices(candidates, weights=[c.weight for c in candidates])[0]


class LeastLoaded:
    def __init__(self, load: Callable[[Instance], float], rng: random.Random | None = None) -> None:
        self._load = load
        self._rng = rng or random.Random()

    def pick(self, candidates: Sequence[Instance]) -> Instance:
        if len(candidates) == 1:
            return candidates[0]
        first, second = self._rng.sample(list(candidates), 2)
        return first if self._load(first) <= self._load(second) else second


PICKERS = ("round-robin", "random", "weighted", "least-loaded")
"""Names `RegistryClient` accepts wherever it takes a picker."""
