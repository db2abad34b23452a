"""A real topology through the real relay, read back with GetDependencyGraph and `registry graph`,
and every export fed to the real tool that draws it.

Five services (real Inbox servers registered with their declared dependencies):

    web --hard--> orders --hard--> payments --soft--> orders      (a declared cycle)
                  orders --soft--> inventory                       (declared, never called: unused)
                  orders --hard--> ledger                          (nobody serves ledger: unserved)
    payments calls fraud without declaring it                      (undeclared)
    orders publishes order.created, web subscribes                 (an observed event edge)

Graphviz `dot` renders the DOT output, the Mermaid CLI renders the Mermaid output in headless
Chromium, and cytoscape.js (Node) loads the Cytoscape JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from generated.registry.v1 import dependency_graph_pb2 as gpb
from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as rpb
from generated.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from generated.registry.v1 import relay_service_pb2 as pb
from registry.app import Registry
from registry.config import config_for_tests
from tests.helpers.inbox import Inbox, fetch_delivery_keys, start_inbox
from tests.helpers.registry_api import error_info
from tests.helpers.relay_api import COMMAND, QUERY, relay_stub, send_request
from tests.helpers.streams import read

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
RENDER_TOOLS = ROOT / "tools" / "graph-render"
HARD, SOFT = ipb.DEPENDENCY_KIND_HARD, ipb.DEPENDENCY_KIND_SOFT

DECLARED = {
    "web": [("orders", HARD, "")],
    "orders": [("payments", HARD, ">=2,<3"), ("inventory", SOFT, ""), ("ledger", HARD, "")],
    "payments": [("orders", SOFT, "")],
    "inventory": [],
    "fraud": [],
}


@dataclass
class Topology:
    registry: Registry
    channel: grpc.aio.Channel


def as_source(service: str) -> tuple[tuple[str, str], ...]:
    return (("x-source-service", service),)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def topology(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Topology]:
    config = config_for_tests({"db_path": tmp_path_factory.mktemp("graph") / "registry.db"})
    registry = Registry(config)
    await registry.start()
    servers: list[grpc.aio.Server] = []
    try:
        async with grpc.aio.insecure_channel(registry.address) as channel:
            keys, issuer = await fetch_delivery_keys(registry.address)
            stub = rpb_grpc.RegistryServiceStub(channel)
            for service, dependencies in DECLARED.items():
                server, port = await start_inbox(Inbox(service, f"{service}-1", keys, issuer))
                servers.append(server)
                endpoint = ipb.Endpoint(
                    name="inbox", host="127.0.0.1", port=port, protocol=ipb.ENDPOINT_PROTOCOL_GRPC
                )
                deps = [
                    ipb.Dependency(service_name=s, kind=k, version_constraint=v) for s, k, v in dependencies
                ]
                instance = ipb.Instance(
                    service_name=service, instance_id=f"{service}-1", endpoints=[endpoint], dependencies=deps
                )
                await stub.Register(rpb.RegisterRequest(instance=instance), timeout=5)
            await drive_traffic(channel)
            yield Topology(registry, channel)
    finally:
        for server in servers:
            await server.stop(None)
        await registry.stop(grace=0)


async def drive_traffic(channel: grpc.aio.Channel) -> None:
    relay = relay_stub(channel)
    subscription = relay.Subscribe(
        pb.SubscribeRequest(filter=pb.EventFilter(topics=["order.#"])), metadata=as_source("web")
    )
    started = await read(subscription, pb.SubscribeResponse)
    assert started.HasField("started")
    for _ in range(4):
        await relay.Send(send_request("orders", "echo", COMMAND), metadata=as_source("web"), timeout=5)
    for _ in range(2):
        await relay.Send(send_request("payments", "echo", COMMAND), metadata=as_source("orders"), timeout=5)
    await relay.Send(send_request("orders", "echo", QUERY), metadata=as_source("payments"), timeout=5)
    await relay.Send(send_request("fraud", "echo", QUERY), metadata=as_source("payments"), timeout=5)
    failing = send_request("fraud", "fail", QUERY, headers={"code": "UNAVAILABLE"})
    with pytest.raises(grpc.aio.AioRpcError):
        await relay.Send(failing, metadata=as_source("payments"), timeout=5)
    event = epb.Envelope(type=epb.MESSAGE_TYPE_EVENT, name="order.created")
    await relay.Publish(pb.PublishRequest(envelope=event), metadata=as_source("orders"), timeout=5)
    delivered = await asyncio.wait_for(read(subscription, pb.SubscribeResponse), 5)
    assert delivered.event.name == "order.created"
    subscription.cancel()


async def get_graph(topology: Topology, **fields: object) -> gpb.DependencyGraph:
    stub = rpb_grpc.RegistryServiceStub(topology.channel)
    request = rpb.GetDependencyGraphRequest(**fields)  # type: ignore[arg-type]
    response = await stub.GetDependencyGraph(request, timeout=5)
    return response.graph


def pairs(listed: object) -> set[tuple[str, str]]:
    return {(p.source_service, p.target_service) for p in listed}  # type: ignore[attr-defined]


async def test_the_graph_joins_declared_and_observed(topology: Topology) -> None:
    graph = await get_graph(topology)
    edges = {(e.source_service, e.target_service): e for e in graph.edges}
    assert set(edges) == {
        ("web", "orders"),
        ("orders", "payments"),
        ("orders", "inventory"),
        ("orders", "ledger"),
        ("orders", "web"),
        ("payments", "orders"),
        ("payments", "fraud"),
    }
    web_orders = edges[("web", "orders")]
    assert web_orders.declared.kind == HARD
    assert [(o.type, o.count) for o in web_orders.observed] == [(epb.MESSAGE_TYPE_COMMAND, 4)]
    assert 0 < web_orders.observed[0].p50.ToNanoseconds() <= web_orders.observed[0].p99.ToNanoseconds()
    assert list(edges[("orders", "payments")].declared.version_constraints) == [">=2,<3"]
    fraud = edges[("payments", "fraud")]
    assert not fraud.HasField("declared")
    assert [(o.count, [(e.code, e.count) for e in o.errors]) for o in fraud.observed] == [(2, [(14, 1)])]
    event = edges[("orders", "web")]
    assert [(o.type, o.count) for o in event.observed] == [(epb.MESSAGE_TYPE_EVENT, 1)]

    assert [(list(c.services), pairs(c.edges)) for c in graph.cycles] == [
        (["orders", "payments"], {("orders", "payments"), ("payments", "orders")}),
        (["orders", "web"], {("orders", "web"), ("web", "orders")}),
    ]
    assert list(graph.critical_path) == ["web", "orders", "ledger"]
    assert graph.hubs[0] == "orders"
    assert pairs(graph.differences.undeclared) == {("payments", "fraud"), ("orders", "web")}
    assert pairs(graph.differences.unused) == {("orders", "inventory"), ("orders", "ledger")}
    assert pairs(graph.differences.unserved) == {("orders", "ledger")}
    services = {s.service_name: s for s in graph.services}
    assert (services["ledger"].instance_count, services["ledger"].serving_count) == (0, 0)
    assert services["orders"].fan_out == 4


async def test_root_depth_and_kinds_filter_and_the_blast_radius(topology: Topology) -> None:
    graph = await get_graph(topology, root_service="fraud", depth=1)
    assert {s.service_name for s in graph.services} == {"fraud", "payments"}
    assert [(i.service_name, i.kind, i.depth) for i in graph.blast_radius] == [
        ("payments", gpb.IMPACT_KIND_UNDECLARED, 1),
        ("orders", gpb.IMPACT_KIND_UNDECLARED, 2),
        ("web", gpb.IMPACT_KIND_UNDECLARED, 3),
    ]
    hard_only = await get_graph(topology, kinds=[gpb.GRAPH_EDGE_KIND_HARD])
    assert pairs(hard_only.edges) == {("web", "orders"), ("orders", "payments"), ("orders", "ledger")}
    assert list(hard_only.cycles) == []


async def test_a_bad_filter_is_refused_naming_the_field(topology: Topology) -> None:
    stub = rpb_grpc.RegistryServiceStub(topology.channel)
    for request, field in [
        (rpb.GetDependencyGraphRequest(depth=99), "depth"),
        (rpb.GetDependencyGraphRequest(root_service="nobody"), "root_service"),
        (rpb.GetDependencyGraphRequest(kinds=[0]), "kinds[0]"),  # type: ignore[list-item]
        (rpb.GetDependencyGraphRequest(window=9), "window"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetDependencyGraph(request, timeout=5)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert error_info(refused.value).metadata["field"] == field


# --- the CLI and the real renderers ----------------------------------------------------------


def cli(topology: Topology, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "registry.cli.main", "graph", "--address", topology.registry.address, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run(args: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, input=stdin, capture_output=True, text=True, timeout=60, check=False, cwd=RENDER_TOOLS
    )


def render_tool(name: str) -> Path:
    tool = RENDER_TOOLS / "node_modules" / ".bin" / name
    assert tool.exists(), f"{tool} is missing: run `make tools` (npm ci in tools/graph-render)"
    return tool


@pytest.mark.timeout(180)  # real subprocesses (the CLI, a renderer) on a busy machine
async def test_table_output_lists_the_analysis(topology: Topology) -> None:
    text = await asyncio.to_thread(cli, topology)
    assert re.search(r"^web\s+orders\s+hard\s+-\s+4\s+0\s", text, re.MULTILINE), text
    assert "cycles:        orders -> payments -> orders; orders -> web -> orders" in text
    assert "critical path: web -> orders -> ledger" in text
    assert "unserved hard: orders -> ledger" in text


@pytest.mark.timeout(180)  # real subprocesses (the CLI, a renderer) on a busy machine
async def test_dot_output_renders_with_graphviz(topology: Topology, tmp_path: Path) -> None:
    dot = shutil.which("dot")
    assert dot, "Graphviz `dot` is missing: run `make tools` (installs Debian graphviz)"
    source = await asyncio.to_thread(cli, topology, "--format", "dot")
    done = await asyncio.to_thread(run, [dot, "-Tjson"], source)
    assert done.returncode == 0, done.stderr
    drawn = json.loads(done.stdout)
    fills = {o["name"]: o["fillcolor"] for o in drawn["objects"]}
    assert set(fills) == {"web", "orders", "payments", "inventory", "ledger", "fraud"}
    assert [name for name, fill in fills.items() if fill == "#f8d0d0"] == ["ledger"], "nobody serves ledger"
    labels = {e["label"] for e in drawn["edges"]}
    assert "hard: 4 cmd" in labels
    assert "undeclared: 2 query, 1 err" in labels
    red = {
        (drawn["objects"][e["tail"]]["name"], drawn["objects"][e["head"]]["name"])
        for e in drawn["edges"]
        if e.get("color") == "#cc0000"
    }
    assert red == {("orders", "payments"), ("payments", "orders"), ("orders", "web"), ("web", "orders")}


@pytest.mark.timeout(180)  # real subprocesses (the CLI, a renderer) on a busy machine
async def test_mermaid_output_renders_with_the_mermaid_cli(topology: Topology, tmp_path: Path) -> None:
    mmdc = render_tool("mmdc")
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: run `make tools` (installs Debian chromium)"
    source = tmp_path / "graph.mmd"
    source.write_text(await asyncio.to_thread(cli, topology, "--format", "mermaid"))
    svg = tmp_path / "graph.svg"
    done = await asyncio.to_thread(
        subprocess.run,
        [str(mmdc), "-p", str(RENDER_TOOLS / "puppeteer.json"), "-i", str(source), "-o", str(svg)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PUPPETEER_EXECUTABLE_PATH": chromium},
    )
    assert done.returncode == 0, done.stderr
    drawing = svg.read_text()
    assert "Syntax error" not in drawing
    for text in ["web", "payments", "ledger", "hard: 4 cmd", "undeclared: 2 query, 1 err", "0/0 serving"]:
        assert text in drawing, text


@pytest.mark.timeout(180)  # real subprocesses (the CLI, a renderer) on a busy machine
async def test_cytoscape_output_loads_into_cytoscape_js(topology: Topology) -> None:
    render_tool("mmdc")  # the same npm ci installs cytoscape
    elements = await asyncio.to_thread(cli, topology, "--format", "cytoscape")
    done = await asyncio.to_thread(run, ["node", str(RENDER_TOOLS / "load_cytoscape.mjs")], elements)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded["nodes"] == 6
    assert loaded["edges"] == 7
    assert loaded["cycle_edges"] == ["orders->payments", "orders->web", "payments->orders", "web->orders"]
    assert loaded["successors_of_web"] == ["fraud", "inventory", "ledger", "orders", "payments", "web"]
