"""The dependency graph as the console draws it: the core's `DependencyGraph` (declared edges
joined with the relay's observed traffic, and its analyses) encoded as JSON for Cytoscape.js."""

from __future__ import annotations

from registry.api.console.encode import JSON
from registry.core.errors import InvalidArgument
from registry.core.graph import DependencyGraph
from registry.core.graph_model import Edge, Graph, GraphQuery
from registry.core.graph_window import Window

WINDOWS = {"1m": Window.ONE_MINUTE, "5m": Window.FIVE_MINUTES, "60m": Window.SIXTY_MINUTES}


def graph_json(graph: DependencyGraph, window: str) -> JSON:
    if window not in WINDOWS:
        raise InvalidArgument("window", f"{window[:16]!r} is not one of {', '.join(WINDOWS)}")
    return encode(graph.get(GraphQuery(window=WINDOWS[window])))


def encode(graph: Graph) -> JSON:
    return {
        "nodes": [
            {
                "id": n.service,
                "instances": n.instances,
                "serving": n.serving,
                "fanIn": n.fan_in,
                "fanOut": n.fan_out,
                "dependents": n.dependents,
            }
            for n in graph.nodes
        ],
        "edges": [_edge(e) for e in graph.edges],
        "analysis": {
            "cycles": [list(c.services) for c in graph.cycles],
            "cyclesTruncated": graph.cycles_truncated,
            "criticalPath": list(graph.critical_path),
            "hubs": [n.service for n in graph.hubs],
            "undeclared": [list(p) for p in graph.differences.undeclared],
            "unused": [list(p) for p in graph.differences.unused],
            "unserved": [list(p) for p in graph.differences.unserved],
        },
    }


def _edge(edge: Edge) -> JSON:
    observed = None
    if edge.observed:
        worst = max(edge.observed, key=lambda o: o.stats.p99)
        observed = {
            "count": edge.calls,
            "errors": edge.errors,
            "kinds": [o.kind.name.lower() for o in edge.observed],
            "p50ms": round(worst.stats.p50 * 1000, 2),
            "p99ms": round(worst.stats.p99 * 1000, 2),
        }
    return {
        "source": edge.source,
        "target": edge.target,
        "kind": "undeclared" if edge.declared is None else edge.declared.kind.name.lower(),
        "declared": edge.declared is not None,
        "observed": observed,
    }
