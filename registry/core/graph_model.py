"""The dependency graph as the API returns it: services, edges (declared and observed) and the
analyses over them. Plain immutable values; `registry.core.graph.build` makes them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from registry.core.graph_window import Window, WindowStats
from registry.core.messages import MessageType
from registry.core.model import DependencyKind


class EdgeKind(enum.IntEnum):
    """What an edge filter may keep (proto `GraphEdgeKind`): a declared kind or an observed one."""

    HARD = 1
    SOFT = 2
    OPTIONAL = 3
    COMMAND = 4
    QUERY = 5
    EVENT = 6


DECLARED_KINDS = {
    DependencyKind.HARD: EdgeKind.HARD,
    DependencyKind.SOFT: EdgeKind.SOFT,
    DependencyKind.OPTIONAL: EdgeKind.OPTIONAL,
}
OBSERVED_KINDS = {
    MessageType.COMMAND: EdgeKind.COMMAND,
    MessageType.QUERY: EdgeKind.QUERY,
    MessageType.EVENT: EdgeKind.EVENT,
}
ALL_KINDS = frozenset(EdgeKind)


class ImpactKind(enum.IntEnum):
    """How a dependent is reached from a failing service (proto `ImpactKind`): through the weakest
    link of its strongest path. An undeclared (only observed) call ranks after the declared kinds:
    the registry cannot know how much the caller needs it."""

    HARD = 1
    SOFT = 2
    OPTIONAL = 3
    UNDECLARED = 4


@dataclass(frozen=True, slots=True)
class GraphQuery:
    """Filters of a graph request. `root` "" means the whole graph; `depth` 0 means unlimited
    (otherwise: services at most `depth` edges away from the root, either direction)."""

    root: str = ""
    depth: int = 0
    window: Window = Window.FIVE_MINUTES
    kinds: frozenset[EdgeKind] = ALL_KINDS


@dataclass(frozen=True, slots=True)
class Declared:
    """A dependency declared by the serving instances of the source service (their union)."""

    kind: DependencyKind
    """The strongest kind any serving instance declares."""
    version_constraints: tuple[str, ...]
    """Distinct version constraints the instances declare on the target, sorted; empty: any."""
    instances: int
    """Serving instances of the source that declare it."""


@dataclass(frozen=True, slots=True)
class Observed:
    kind: MessageType
    stats: WindowStats


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    declared: Declared | None
    observed: tuple[Observed, ...]
    """One entry per message kind that the relay carried in the window, in kind order."""

    @property
    def calls(self) -> int:
        return sum(o.stats.count for o in self.observed)

    @property
    def errors(self) -> int:
        return sum(o.stats.error_count for o in self.observed)


@dataclass(frozen=True, slots=True)
class Node:
    service: str
    instances: int
    """Registered instances (0: known only as a dependency or a message end)."""
    serving: int
    fan_in: int
    """Distinct services with an edge into this one."""
    fan_out: int
    dependents: int
    """Services that depend on this one, transitively, over any edge (the size of its blast radius)."""


@dataclass(frozen=True, slots=True)
class Cycle:
    services: tuple[str, ...]
    """In edge order, starting from the smallest name; each cycle appears once."""

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        ring = self.services
        return tuple((ring[i], ring[(i + 1) % len(ring)]) for i in range(len(ring)))


@dataclass(frozen=True, slots=True)
class Impact:
    """A service hit, transitively, when the root fails."""

    service: str
    kind: ImpactKind
    depth: int
    """Edges between it and the root on the path that gives `kind`."""


@dataclass(frozen=True, slots=True)
class Differences:
    undeclared: tuple[tuple[str, str], ...]
    """Called in the window but not declared by the caller's serving instances."""
    unused: tuple[tuple[str, str], ...]
    """Declared but not called in the window."""
    unserved: tuple[tuple[str, str], ...]
    """A hard dependency whose target has no serving instance right now."""


@dataclass(frozen=True, slots=True)
class Graph:
    query: GraphQuery
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    cycles: tuple[Cycle, ...]
    cycles_truncated: bool
    """True when the enumeration stopped at its bound (MAX_CYCLES or its step budget)."""
    hubs: tuple[Node, ...]
    """Up to 10 services with the most edges (fan-in + fan-out), most first."""
    critical_path: tuple[str, ...]
    """The longest chain of hard dependencies, caller first."""
    blast_radius: tuple[Impact, ...]
    """With a root: everyone that depends on it, transitively, strongest first."""
    differences: Differences
    observed_dropped: int
    """Messages the registry could not count on an edge because an edge bound was reached."""
