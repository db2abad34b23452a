"""Proto <-> domain conversion for GetDependencyGraph. Enum numbers are shared with the domain
(`registry.core.graph_model`, `registry.core.graph_window`), so conversion is a cast."""

from __future__ import annotations

from typing import cast

from generated.registry.v1 import dependency_graph_pb2 as gpb
from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from registry.api.convert import duration_message
from registry.core.errors import InvalidArgument
from registry.core.graph_model import ALL_KINDS, Edge, EdgeKind, Graph, GraphQuery
from registry.core.graph_window import Window

_WINDOWS = {0: Window.FIVE_MINUTES, **{int(w): w for w in Window}}
_KINDS = {int(k): k for k in EdgeKind}


def graph_query(request: pb.GetDependencyGraphRequest) -> GraphQuery:
    window = _WINDOWS.get(request.window)
    if window is None:
        raise InvalidArgument("window", f"{request.window} is not a GraphWindow value")
    kinds = set()
    for index, value in enumerate(request.kinds):
        kind = _KINDS.get(value)
        if kind is None:
            raise InvalidArgument(
                f"kinds[{index}]", f"{value} is not a GraphEdgeKind value (nor UNSPECIFIED)"
            )
        kinds.add(kind)
    return GraphQuery(request.root_service, request.depth, window, frozenset(kinds) if kinds else ALL_KINDS)


def _pair(source: str, target: str) -> gpb.ServicePair:
    return gpb.ServicePair(source_service=source, target_service=target)


def _edge(edge: Edge) -> gpb.DependencyEdge:
    message = gpb.DependencyEdge(source_service=edge.source, target_service=edge.target)
    if edge.declared is not None:
        message.declared.kind = cast(ipb.DependencyKind.ValueType, edge.declared.kind)
        message.declared.version_constraints.extend(edge.declared.version_constraints)
        message.declared.instance_count = edge.declared.instances
    for observed in edge.observed:
        stats = observed.stats
        message.observed.append(
            gpb.ObservedTraffic(
                type=cast(epb.MessageType.ValueType, observed.kind),
                count=stats.count,
                errors=[gpb.StatusCount(code=c, count=n) for c, n in sorted(stats.errors.items())],
                p50=duration_message(stats.p50),
                p90=duration_message(stats.p90),
                p99=duration_message(stats.p99),
            )
        )
    return message


def graph_message(graph: Graph) -> gpb.DependencyGraph:
    differences = graph.differences
    return gpb.DependencyGraph(
        services=[
            gpb.GraphService(
                service_name=n.service,
                instance_count=n.instances,
                serving_count=n.serving,
                fan_in=n.fan_in,
                fan_out=n.fan_out,
                dependent_count=n.dependents,
            )
            for n in graph.nodes
        ],
        edges=[_edge(e) for e in graph.edges],
        cycles=[
            gpb.DependencyCycle(services=c.services, edges=[_pair(*p) for p in c.edges]) for c in graph.cycles
        ],
        cycles_truncated=graph.cycles_truncated,
        hubs=[n.service for n in graph.hubs],
        critical_path=graph.critical_path,
        blast_radius=[
            gpb.ImpactedService(
                service_name=i.service, kind=cast(gpb.ImpactKind.ValueType, i.kind), depth=i.depth
            )
            for i in graph.blast_radius
        ],
        differences=gpb.GraphDifferences(
            undeclared=[_pair(*p) for p in differences.undeclared],
            unused=[_pair(*p) for p in differences.unused],
            unserved=[_pair(*p) for p in differences.unserved],
        ),
        window=cast(gpb.GraphWindow.ValueType, graph.query.window),
        observed_dropped=graph.observed_dropped,
    )
