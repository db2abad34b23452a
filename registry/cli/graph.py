"""`registry graph [SERVICE] --format table|json|mermaid|dot|cytoscape`: the dependency graph."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import grpc

from generated.registry.v1 import dependency_graph_pb2, registry_service_pb2, registry_service_pb2_grpc
from registry.cli import common
from registry.cli.graph_render import RENDERERS

WINDOWS = {
    "1m": dependency_graph_pb2.GRAPH_WINDOW_ONE_MINUTE,
    "5m": dependency_graph_pb2.GRAPH_WINDOW_FIVE_MINUTES,
    "60m": dependency_graph_pb2.GRAPH_WINDOW_SIXTY_MINUTES,
}
KINDS = ("hard", "soft", "optional", "command", "query", "event")


async def _graph(args: argparse.Namespace) -> int:
    request = registry_service_pb2.GetDependencyGraphRequest(
        root_service=args.service or "",
        depth=args.depth,
        window=WINDOWS[args.window],
        kinds=[dependency_graph_pb2.GraphEdgeKind.Value("GRAPH_EDGE_KIND_" + k.upper()) for k in args.kind],
    )
    async with common.channel(args) as ch:
        stub = registry_service_pb2_grpc.RegistryServiceStub(ch)
        response = await stub.GetDependencyGraph(
            request, metadata=common.metadata(args), timeout=args.timeout
        )
    output_format = "json" if args.json else args.format
    print(RENDERERS[output_format](response.graph))
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_graph(args))
    except grpc.aio.AioRpcError as error:
        return common.fail(error)


def add_parser(subparsers: Any) -> None:
    graph = subparsers.add_parser(
        "graph", help="the dependency graph: declared dependencies joined with observed traffic"
    )
    common.add_client_arguments(graph)
    graph.add_argument("service", nargs="?", help="root service: its neighbourhood and blast radius")
    graph.add_argument("--format", choices=sorted(RENDERERS), default="table", help="output (default table)")
    graph.add_argument("--depth", type=int, default=0, help="with a root: edges away, 0 unlimited (default)")
    graph.add_argument("--window", choices=list(WINDOWS), default="5m", help="traffic window (default 5m)")
    graph.add_argument(
        "--kind", action="append", default=[], choices=KINDS, help="only these edge kinds (repeatable)"
    )
    graph.set_defaults(func=_run)
