"""The dependency graph (a `DependencyGraph` message) as text: a table, JSON, Mermaid, Graphviz DOT
and Cytoscape.js elements. Pure functions from the message to a string, so the tests can feed
each output to the real tool (`dot`, Mermaid's parser, cytoscape.js).

Drawing conventions shared by Mermaid and DOT: a declared hard dependency is a solid arrow, soft
and optional ones are dashed (optional also thinner), a call nobody declared is a bold arrow;
labels carry the kind and the traffic in the window (`3 cmd, 1 err`); edges on a cycle are red; a
service without a serving instance (registered or only depended upon) is filled red.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from google.protobuf import json_format

from generated.registry.v1 import dependency_graph_pb2 as gpb
from generated.registry.v1 import envelope_pb2, instance_pb2

ANONYMOUS = "(anonymous)"
"""How an edge from a sender without an identity (auth off, no x-source-service) is drawn."""

_TYPE_SHORT = {
    envelope_pb2.MESSAGE_TYPE_COMMAND: "cmd",
    envelope_pb2.MESSAGE_TYPE_QUERY: "query",
    envelope_pb2.MESSAGE_TYPE_EVENT: "event",
}


def _name(service: str) -> str:
    return service or ANONYMOUS


def _kind(edge: gpb.DependencyEdge) -> str:
    """hard, soft, optional, or undeclared."""
    if not edge.HasField("declared"):
        return "undeclared"
    return instance_pb2.DependencyKind.Name(edge.declared.kind).removeprefix("DEPENDENCY_KIND_").lower()


def _traffic(edge: gpb.DependencyEdge) -> str:
    parts = [f"{o.count} {_TYPE_SHORT.get(o.type, '?')}" for o in edge.observed]
    errors = sum(e.count for o in edge.observed for e in o.errors)
    if errors:
        parts.append(f"{errors} err")
    return ", ".join(parts)


def _label(edge: gpb.DependencyEdge) -> str:
    traffic = _traffic(edge)
    return f"{_kind(edge)}: {traffic}" if traffic else _kind(edge)


def _unserved(service: gpb.GraphService) -> bool:
    """Drawn red: a named service with no serving instance (registered or not)."""
    return bool(service.service_name) and not service.serving_count


def _cycle_edges(graph: gpb.DependencyGraph) -> set[tuple[str, str]]:
    return {(p.source_service, p.target_service) for c in graph.cycles for p in c.edges}


def _impact(kind: gpb.ImpactKind.ValueType) -> str:
    return gpb.ImpactKind.Name(kind).removeprefix("IMPACT_KIND_").lower()


def _millis(duration: object) -> str:
    seconds = getattr(duration, "seconds", 0) + getattr(duration, "nanos", 0) / 1e9
    return f"{seconds * 1000:.1f}ms"


# ------------------------------------------------------------------------------------- JSON


def to_json(graph: gpb.DependencyGraph) -> str:
    return json.dumps(
        json_format.MessageToDict(graph, preserving_proto_field_name=True), indent=2, sort_keys=True
    )


# ------------------------------------------------------------------------------------ table


def _rows(headers: list[str], rows: list[list[str]]) -> Iterator[str]:
    if not rows:
        yield "(none)"
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        yield "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()


def _pairs(pairs: Iterable[gpb.ServicePair]) -> str:
    listed = [f"{_name(p.source_service)} -> {p.target_service}" for p in pairs]
    return "; ".join(listed) if listed else "(none)"


def to_table(graph: gpb.DependencyGraph) -> str:
    lines = ["SERVICES"]
    lines += _rows(
        ["SERVICE", "INSTANCES", "SERVING", "FAN-IN", "FAN-OUT", "DEPENDENTS"],
        [
            [
                _name(s.service_name),
                str(s.instance_count),
                str(s.serving_count),
                str(s.fan_in),
                str(s.fan_out),
                str(s.dependent_count),
            ]
            for s in graph.services
        ],
    )
    lines += ["", "EDGES"]
    rows = []
    for edge in graph.edges:
        count = sum(o.count for o in edge.observed)
        slowest = max(edge.observed, key=lambda o: o.p99.ToNanoseconds(), default=None)
        rows.append(
            [
                _name(edge.source_service),
                edge.target_service,
                _kind(edge),
                ",".join(edge.declared.version_constraints) or "-",
                str(count),
                str(sum(e.count for o in edge.observed for e in o.errors)),
                _millis(slowest.p50) if slowest else "-",
                _millis(slowest.p99) if slowest else "-",
            ]
        )
    lines += _rows(["SOURCE", "TARGET", "DECLARED", "VERSIONS", "CALLS", "ERRORS", "P50", "P99"], rows)
    lines += ["", "ANALYSIS"]
    cycles = [" -> ".join([*c.services, c.services[0]]) for c in graph.cycles]
    lines.append("cycles:        " + ("; ".join(cycles) if cycles else "(none)"))
    lines.append("critical path: " + (" -> ".join(graph.critical_path) or "(none)"))
    lines.append("hubs:          " + (", ".join(graph.hubs) or "(none)"))
    lines.append("undeclared:    " + _pairs(graph.differences.undeclared))
    lines.append("unused:        " + _pairs(graph.differences.unused))
    lines.append("unserved hard: " + _pairs(graph.differences.unserved))
    if graph.blast_radius:
        hits = [f"{i.service_name} ({_impact(i.kind)}, {i.depth})" for i in graph.blast_radius]
        lines.append("blast radius:  " + ", ".join(hits))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- Mermaid


def _node_ids(graph: gpb.DependencyGraph) -> dict[str, str]:
    return {s.service_name: f"s{i}" for i, s in enumerate(graph.services)}


def _mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid quoted label."""
    return text.replace('"', "#quot;")


def to_mermaid(graph: gpb.DependencyGraph) -> str:
    ids = _node_ids(graph)
    lines = ["flowchart LR"]
    for service in graph.services:
        label = f"{_name(service.service_name)}<br/>{service.serving_count}/{service.instance_count} serving"
        lines.append(f'    {ids[service.service_name]}["{_mermaid_text(label)}"]')
    arrows = {"hard": "-->", "soft": "-.->", "optional": "-.->", "undeclared": "==>"}
    on_cycle = _cycle_edges(graph)
    red = []
    for index, edge in enumerate(graph.edges):
        source, target = ids[edge.source_service], ids[edge.target_service]
        lines.append(f'    {source} {arrows[_kind(edge)]}|"{_mermaid_text(_label(edge))}"| {target}')
        if (edge.source_service, edge.target_service) in on_cycle:
            red.append(str(index))
    unserved = [ids[s.service_name] for s in graph.services if _unserved(s)]
    lines.append("    classDef unserved fill:#f8d0d0,stroke:#c00")
    if unserved:
        lines.append(f"    class {','.join(unserved)} unserved")
    if red:
        lines.append(f"    linkStyle {','.join(red)} stroke:#c00,stroke-width:2px")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- DOT


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(graph: gpb.DependencyGraph) -> str:
    lines = [
        "digraph dependencies {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for service in graph.services:
        label = f"{_name(service.service_name)}\n{service.serving_count}/{service.instance_count} serving"
        fill = ', fillcolor="#f8d0d0"' if _unserved(service) else ""
        lines.append(f"  {_dot_string(service.service_name)} [label={_dot_string(label)}{fill}];")
    styles = {
        "hard": "solid",
        "soft": "dashed",
        "optional": "dashed, penwidth=0.6",
        "undeclared": "bold",
    }
    on_cycle = _cycle_edges(graph)
    for edge in graph.edges:
        color = ', color="#cc0000"' if (edge.source_service, edge.target_service) in on_cycle else ""
        lines.append(
            f"  {_dot_string(edge.source_service)} -> {_dot_string(edge.target_service)} "
            f"[label={_dot_string(_label(edge))}, style={styles[_kind(edge)]}{color}];"
        )
    lines.append("}")
    return "\n".join(lines)


# -------------------------------------------------------------------------------- Cytoscape


def to_cytoscape(graph: gpb.DependencyGraph) -> str:
    """Cytoscape.js elements JSON (`cy.add(...)` or `cytoscape({elements})` takes it as is)."""
    on_cycle = _cycle_edges(graph)
    nodes = [
        {
            "data": {
                "id": _name(s.service_name),
                "label": _name(s.service_name),
                "instances": s.instance_count,
                "serving": s.serving_count,
                "fan_in": s.fan_in,
                "fan_out": s.fan_out,
                "dependents": s.dependent_count,
            }
        }
        for s in graph.services
    ]
    edges = []
    for edge in graph.edges:
        source, target = _name(edge.source_service), _name(edge.target_service)
        edges.append(
            {
                "data": {
                    "id": f"{source}->{target}",
                    "source": source,
                    "target": target,
                    "kind": _kind(edge),
                    "label": _label(edge),
                    "calls": sum(o.count for o in edge.observed),
                    "errors": sum(e.count for o in edge.observed for e in o.errors),
                    "on_cycle": (edge.source_service, edge.target_service) in on_cycle,
                }
            }
        )
    return json.dumps({"elements": {"nodes": nodes, "edges": edges}}, indent=2, sort_keys=True)


RENDERERS = {
    "table": to_table,
    "json": to_json,
    "mermaid": to_mermaid,
    "dot": to_dot,
    "cytoscape": to_cytoscape,
}
