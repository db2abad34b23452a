"""The dependency graph: what services declare (their instances' `dependencies`) joined with what
they do (the relay's observed edges), filtered and analysed.

`build` is pure: it takes the instances (a catalog snapshot) and the observed edges of one window
and returns a `Graph`. Declared edges of a service are the union over its *serving* instances;
an instance that is down declares nothing, so a service whose every instance is down contributes
no declared edge but still appears as a node, and hard dependencies on it are reported as
unserved. The cost is linear in instances plus edges (cycle enumeration is bounded separately).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from registry.core import graph_analysis
from registry.core.errors import InvalidArgument
from registry.core.graph_model import (
    DECLARED_KINDS,
    OBSERVED_KINDS,
    Cycle,
    Declared,
    Differences,
    Edge,
    Graph,
    GraphQuery,
    Impact,
    ImpactKind,
    Node,
    Observed,
)
from registry.core.graph_share import SharedTraffic
from registry.core.graph_traffic import ObservedEdge, Traffic
from registry.core.limits import LIMITS
from registry.core.model import SERVING_STATUSES, DependencyKind, Instance

MAX_DEPTH = LIMITS.graph_depth_max
HUBS = 10

Pair = tuple[str, str]


def check_query(query: GraphQuery) -> None:
    """Reject filters that cannot mean anything (InvalidArgument names the field)."""
    if query.depth < 0 or query.depth > MAX_DEPTH:
        raise InvalidArgument("depth", f"must be 0 (unlimited) to {MAX_DEPTH}, not {query.depth}")
    if not query.kinds:
        raise InvalidArgument("kinds", "at least one kind, or none given for all")


def _declared(instances: Iterable[Instance]) -> tuple[dict[Pair, Declared], dict[str, list[int]]]:
    """Declared edges (union over serving instances) and [registered, serving] per service."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    kinds: dict[Pair, DependencyKind] = {}
    constraints: dict[Pair, set[str]] = defaultdict(set)
    declaring: dict[Pair, int] = defaultdict(int)
    for instance in instances:
        service = instance.service_name
        counts[service][0] += 1
        if instance.status not in SERVING_STATUSES:
            continue
        counts[service][1] += 1
        for dependency in instance.registration.dependencies:
            pair = (service, dependency.service_name)
            kinds[pair] = min(kinds.get(pair, dependency.kind), dependency.kind)
            declaring[pair] += 1
            if dependency.version_constraint:
                constraints[pair].add(dependency.version_constraint)
    declared = {
        pair: Declared(kind, tuple(sorted(constraints.get(pair, ()))), declaring[pair])
        for pair, kind in kinds.items()
    }
    return declared, counts


def _joined(
    declared: dict[Pair, Declared], observed: Iterable[ObservedEdge], query: GraphQuery
) -> dict[Pair, Edge]:
    by_pair: dict[Pair, list[Observed]] = defaultdict(list)
    for edge in observed:
        if OBSERVED_KINDS[edge.kind] in query.kinds:
            by_pair[(edge.source, edge.target)].append(Observed(edge.kind, edge.stats))
    edges: dict[Pair, Edge] = {}
    for pair in sorted(set(declared) | set(by_pair)):
        dependency = declared.get(pair)
        if dependency is not None and DECLARED_KINDS[dependency.kind] not in query.kinds:
            dependency = None
        seen = tuple(sorted(by_pair.get(pair, ()), key=lambda o: o.kind))
        if dependency is not None or seen:
            edges[pair] = Edge(pair[0], pair[1], dependency, seen)
    return edges


def _neighbourhood(edges: Iterable[Pair], root: str, depth: int) -> set[str]:
    """Services at most `depth` edges from the root following edges either way (0: unlimited)."""
    links: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        links[source].add(target)
        links[target].add(source)
    kept = {root}
    frontier = [root]
    hops = 0
    while frontier and (depth == 0 or hops < depth):
        hops += 1
        frontier = [n for s in frontier for n in links[s] if n not in kept]
        kept.update(frontier)
    return kept


def _impact(edge: Edge) -> ImpactKind:
    if edge.declared is None:
        return ImpactKind.UNDECLARED
    return ImpactKind(int(edge.declared.kind))


def build(
    instances: Iterable[Instance], observed: Iterable[ObservedEdge], query: GraphQuery, dropped: int = 0
) -> Graph:
    """The graph for `query`; see the module docstring."""
    check_query(query)
    declared, counts = _declared(instances)
    everything = _joined(declared, observed, query)
    names = set(counts) | {name for pair in everything for name in pair}
    callers: dict[str, dict[str, ImpactKind]] = defaultdict(dict)
    for edge in everything.values():
        callers[edge.target][edge.source] = _impact(edge)
    impacts: tuple[Impact, ...] = ()
    if query.root:
        if query.root not in names:
            raise InvalidArgument("root_service", f"{query.root!r} is neither registered nor on any edge")
        impacts = tuple(Impact(*hit) for hit in graph_analysis.blast_radius(query.root, callers))
        names = _neighbourhood(everything, query.root, query.depth)
    edges = {pair: edge for pair, edge in everything.items() if pair[0] in names and pair[1] in names}
    adjacency: dict[str, set[str]] = {name: set() for name in names}
    hard: dict[str, set[str]] = defaultdict(set)
    for (source, target), edge in edges.items():
        adjacency[source].add(target)
        if edge.declared is not None and edge.declared.kind is DependencyKind.HARD:
            hard[source].add(target)
    nodes = _nodes(names, adjacency, counts)
    found, truncated = graph_analysis.cycles(adjacency)
    return Graph(
        query=query,
        nodes=nodes,
        edges=tuple(edges.values()),
        cycles=tuple(Cycle(c) for c in found),
        cycles_truncated=truncated,
        hubs=tuple(sorted((n for n in nodes if n.fan_in + n.fan_out), key=_hub_rank)[:HUBS]),
        critical_path=graph_analysis.critical_path(hard),
        blast_radius=impacts,
        differences=_differences(edges.values(), counts),
        observed_dropped=dropped,
    )


def _nodes(names: set[str], adjacency: dict[str, set[str]], counts: dict[str, list[int]]) -> tuple[Node, ...]:
    fan_in: dict[str, int] = defaultdict(int)
    for targets in adjacency.values():
        for target in targets:
            fan_in[target] += 1
    reach = graph_analysis.dependents(adjacency, names)
    return tuple(
        Node(
            name,
            counts[name][0] if name in counts else 0,
            counts[name][1] if name in counts else 0,
            fan_in[name],
            len(adjacency[name]),
            reach[name],
        )
        for name in sorted(names)
    )


def _hub_rank(node: Node) -> tuple[int, int, str]:
    return (-(node.fan_in + node.fan_out), -node.fan_in, node.service)


def _differences(edges: Iterable[Edge], counts: dict[str, list[int]]) -> Differences:
    undeclared: list[Pair] = []
    unused: list[Pair] = []
    unserved: list[Pair] = []
    for edge in edges:
        pair = (edge.source, edge.target)
        if edge.declared is None:
            undeclared.append(pair)
            continue
        if not edge.observed:
            unused.append(pair)
        if edge.declared.kind is DependencyKind.HARD and not (
            counts[edge.target][1] if edge.target in counts else 0
        ):
            unserved.append(pair)
    return Differences(tuple(undeclared), tuple(unused), tuple(unserved))


class DependencyGraph:
    """The graph of the live registry: the catalog's instances joined with the relay's traffic.
    What the API (GetDependencyGraph) and the console ask."""

    def __init__(
        self,
        instances: Callable[[], Iterable[Instance]],
        traffic: Traffic,
        observed: SharedTraffic | None = None,
    ) -> None:
        self._instances = instances
        self.traffic = traffic
        self._observed: Traffic | SharedTraffic = observed or traffic
        """In cluster mode, the whole cluster's traffic (graph_share); else this replica's."""

    def get(self, query: GraphQuery) -> Graph:
        check_query(query)
        observed = self._observed
        return build(self._instances(), observed.edges(query.window), query, observed.dropped)
