"""Graph algorithms over service names: cycles, the critical path, blast radius, dependents.

Pure functions over adjacency maps (`{service: {services it calls or depends on}}`), iterative
(no recursion limit on long chains) and deterministic (names are visited in sorted order). Each
one is bounded: cycle enumeration stops at `MAX_CYCLES` cycles or `MAX_CYCLE_STEPS` steps and
says so, the others are linear or (dependents) linear in bitset operations.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from registry.core.graph_model import ImpactKind

Adjacency = Mapping[str, Set[str]]

MAX_CYCLES = 100
MAX_CYCLE_STEPS = 200_000


def cycles(adjacency: Adjacency) -> tuple[list[tuple[str, ...]], bool]:
    """Every elementary cycle once, as its services starting from the smallest name, and whether
    the enumeration stopped at a bound. A cycle through s is searched only over names above s,
    so each is found once, from its smallest member."""
    found: list[tuple[str, ...]] = []
    steps = 0
    for start in sorted(adjacency):
        path = [start]
        on_path = {start}
        stack = [iter(sorted(n for n in adjacency.get(start, ()) if n >= start))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                on_path.discard(path.pop())
                continue
            steps += 1
            if steps > MAX_CYCLE_STEPS:
                return found, True
            if step == start:
                found.append(tuple(path))
                if len(found) >= MAX_CYCLES:
                    return found, True
            elif step not in on_path:
                path.append(step)
                on_path.add(step)
                stack.append(iter(sorted(n for n in adjacency.get(step, ()) if n >= start)))
    return found, False


def critical_path(hard: Adjacency) -> tuple[str, ...]:
    """The longest chain of hard dependencies (caller first), by number of edges; ties go to the
    smaller names. Where hard dependencies form a cycle, the edge that closes it (back in depth-
    first order) is left out: cycles are reported on their own."""
    longest: dict[str, int] = {}
    following: dict[str, str] = {}
    for root in sorted(hard):
        if root in longest:
            continue
        on_stack = {root}
        stack = [(root, iter(sorted(hard.get(root, ()))))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_stack.discard(node)
                best, best_next = 0, ""
                for candidate in sorted(hard.get(node, ())):
                    usable = candidate in longest and candidate not in on_stack and candidate != node
                    if usable and longest[candidate] + 1 > best:
                        best, best_next = longest[candidate] + 1, candidate
                longest[node] = best
                if best_next:
                    following[node] = best_next
            elif child not in longest and child not in on_stack:
                on_stack.add(child)
                stack.append((child, iter(sorted(hard.get(child, ())))))
    if not longest or max(longest.values()) == 0:
        return ()
    start = min(longest, key=lambda name: (-longest[name], name))
    path = [start]
    while path[-1] in following:
        path.append(following[path[-1]])
    return tuple(path)


def blast_radius(
    root: str, callers: Mapping[str, Mapping[str, ImpactKind]]
) -> list[tuple[str, ImpactKind, int]]:
    """Who is hit, transitively, when `root` fails: (service, kind, depth), strongest kind first.
    `callers[s]` maps each service with an edge into s to that edge's kind. A dependent's kind is
    the weakest link of its strongest path (a bottleneck path: one breadth-first pass per kind,
    each allowed the edges up to that kind)."""
    reached: dict[str, tuple[ImpactKind, int]] = {}
    for allowed in ImpactKind:
        depth = {root: 0}
        frontier = [root]
        while frontier:
            upcoming = []
            for service in frontier:
                for caller, kind in sorted(callers.get(service, {}).items()):
                    if kind <= allowed and caller not in depth:
                        depth[caller] = depth[service] + 1
                        upcoming.append(caller)
            frontier = upcoming
        for service, hops in depth.items():
            if service != root and service not in reached:
                reached[service] = (allowed, hops)
    return sorted(((s, k, d) for s, (k, d) in reached.items()), key=lambda r: (r[1], r[2], r[0]))


def dependents(adjacency: Adjacency, nodes: Set[str]) -> dict[str, int]:
    """For every node, how many others reach it over edges (transitively): the size of its blast
    radius. Strongly connected components (Tarjan, iterative) on the graph, then one bitset union
    per component in the order Tarjan emits them."""
    order = sorted(nodes)
    bit = {name: 1 << i for i, name in enumerate(order)}
    reverse: dict[str, set[str]] = {name: set() for name in order}
    for source, targets in adjacency.items():
        for target in targets:
            if source in bit and target in bit:
                reverse[target].add(source)
    components = _components(reverse, order)
    reach: dict[str, int] = {}
    for component in components:
        members = 0
        for name in component:
            members |= bit[name]
        mask = members if len(component) > 1 or component[0] in reverse[component[0]] else 0
        for name in component:
            for caller in reverse[name]:
                if caller not in component:
                    mask |= reach[caller] | bit[caller]
        for name in component:
            reach[name] = mask
    return {name: (reach[name] & ~bit[name]).bit_count() for name in order}


def _components(graph: Mapping[str, Set[str]], order: list[str]) -> list[list[str]]:
    """Tarjan's strongly connected components; each is emitted after every component it reaches."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in order:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found
