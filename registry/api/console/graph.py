"""The dependency graph the console draws: services as nodes, declared dependencies as edges.

Declared edges come from the catalog: per service, the union of its serving instances'
`dependencies` (the strongest kind wins when instances disagree). A dependency on a service with
no registered instance is still a node (`instances: 0`), so a missing hard dependency shows.
"""

from __future__ import annotations

from registry.api.console.encode import JSON
from registry.core.catalog import Catalog
from registry.core.model import SERVING_STATUSES, DependencyKind


def declared_graph(catalog: Catalog) -> JSON:
    instances: dict[str, int] = {}
    serving: dict[str, int] = {}
    edges: dict[tuple[str, str], DependencyKind] = {}
    for item in catalog.snapshot():
        name = item.service_name
        instances[name] = instances.get(name, 0) + 1
        if item.status not in SERVING_STATUSES:
            continue
        serving[name] = serving.get(name, 0) + 1
        for dependency in item.registration.dependencies:
            key = (name, dependency.service_name)
            edges[key] = min(edges.get(key, dependency.kind), dependency.kind)  # HARD < SOFT < OPTIONAL
    names = sorted(set(instances) | {target for _, target in edges})
    return {
        "nodes": [{"id": n, "instances": instances.get(n, 0), "serving": serving.get(n, 0)} for n in names],
        "edges": [
            {"source": source, "target": target, "kind": kind.name.lower(), "declared": True}
            for (source, target), kind in sorted(edges.items())
        ],
    }
