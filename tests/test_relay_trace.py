"""One OpenTelemetry trace across three real processes: caller -> `registry serve` -> target.

Each process exports its spans over OTLP/gRPC to a real Jaeger; the test reads the trace back from
Jaeger's query API by the envelope's trace id. It must hold the spans of all three services, linked
caller (CLIENT) -> registry Send (SERVER) -> registry Deliver (CLIENT) -> target handler (SERVER),
and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from generated.registry.v1 import relay_service_pb2 as relay_pb
from generated.registry.v1.relay_service_pb2_grpc import RelayServiceStub
from tests.auth.support import SECRET, refused
from tests.conftest import StartRegistry
from tests.helpers.jaeger import Jaeger, kind_of, parent_of, spans_by_service
from tests.helpers.process import running_server

ROOT = Path(__file__).resolve().parent.parent
_READY = re.compile(rb"inbox serving address=(\S+)")


async def _start_target(registry: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.helpers.inbox_target", registry, "orders", "orders-1",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        while not _READY.search(line := await proc.stdout.readline()):
            assert line, "the target exited before serving"
    return proc


def _complete(services: set[str], spans: int) -> Callable[[dict[str, Any]], bool]:
    """Done waiting once every service has reported and the trace holds `spans` spans."""
    return lambda trace: len(trace["spans"]) >= spans and services <= set(spans_by_service(trace))


def assert_linked(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Exactly one root, and every other span's parent is in the trace; spans by id."""
    spans = {span["spanID"]: span for span in trace["spans"]}
    roots = [span for span in spans.values() if parent_of(span) is None]
    assert len(roots) == 1, f"one root span: {roots}"
    for span in spans.values():
        assert parent_of(span) in {None, *spans}, f"{span['operationName']}: parent missing from the trace"
    return spans


async def test_one_trace_runs_from_caller_through_registry_to_target(tmp_path: Path, jaeger: Jaeger) -> None:
    env = {**os.environ, **jaeger.otlp_env, "PYTHONPATH": str(ROOT)}
    with running_server(
        tmp_path / "registry.db", "--otlp-endpoint", jaeger.otlp_grpc, "--log-level", "DEBUG", env=env
    ) as registry:
        target = await _start_target(registry.address, env)
        try:
            caller = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.helpers.relay_caller", registry.address, "orders",
                cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            async with asyncio.timeout(30):
                out, err = await caller.communicate()
            assert caller.returncode == 0, err.decode()
            result = json.loads(out)
            trace_id = result["root_trace_id"]
            trace = await asyncio.to_thread(
                jaeger.trace, trace_id, _complete({"caller", "registry", "orders"}, spans=4)
            )
        finally:
            target.terminate()
            await target.wait()
        registry_log = registry.output()

    assert trace["traceID"] == trace_id
    assert result["trace_id"] == trace_id, "SendResponse.trace_id is the Jaeger trace id"
    assert result["reply"]["trace_id"] == trace_id, "the delivered envelope's trace_id is the trace id"
    assert result["reply"]["handler_trace_id"] == trace_id, "the target's handler joined the trace"

    spans = assert_linked(trace)
    by_service = spans_by_service(trace)
    assert set(by_service) == {"caller", "registry", "orders"}
    (root,) = by_service["caller"]
    assert root["operationName"] == "caller.send"
    assert parent_of(root) is None, "the caller started the trace"
    assert kind_of(root) == "client"
    operations = {span["operationName"]: span for span in by_service["registry"]}
    server = operations["registry.v1.RelayService/Send"]
    client = operations["registry.v1.InboxService/Deliver"]
    (handler,) = by_service["orders"]
    assert parent_of(server) == root["spanID"], "the registry continues the caller's span"
    assert kind_of(server) == "server"
    assert parent_of(client) == server["spanID"], "the forward is a child of the Send span"
    assert kind_of(client) == "client"
    assert parent_of(handler) == client["spanID"], "the target continues the forward's span"
    assert kind_of(handler) == "server"
    assert len(spans) == 4, f"no stray spans (e.g. one per heartbeat or registration): {list(operations)}"

    relayed = [line for line in registry_log.splitlines() if "relayed" in line]
    assert relayed, registry_log
    assert all(f"trace_id={trace_id}" in line for line in relayed), registry_log


async def _peer(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.helpers.event_peer", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_one_trace_runs_from_publisher_through_registry_to_subscriber(
    tmp_path: Path, jaeger: Jaeger
) -> None:
    env = {**os.environ, **jaeger.otlp_env, "PYTHONPATH": str(ROOT)}
    with running_server(tmp_path / "registry.db", "--otlp-endpoint", jaeger.otlp_grpc, env=env) as registry:
        subscriber = await _peer(env, "subscribe", registry.address, "orders.placed")
        assert subscriber.stdout is not None
        try:
            async with asyncio.timeout(20):
                assert await subscriber.stdout.readline() == b"subscribed\n"
            publisher = await _peer(env, "publish", registry.address, "orders.placed")
            async with asyncio.timeout(30):
                out, err = await publisher.communicate()
                assert publisher.returncode == 0, err.decode()
                received, err = await subscriber.communicate()
                assert subscriber.returncode == 0, err.decode()
        finally:
            if subscriber.returncode is None:
                subscriber.kill()
                await subscriber.wait()
        published, delivered = json.loads(out), json.loads(received)
        trace_id = published["trace_id"]
        trace = await asyncio.to_thread(
            jaeger.trace, trace_id, _complete({"publisher", "registry", "subscriber"}, spans=4)
        )

    assert delivered["trace_id"] == trace_id, "the delivered envelope's trace_id is the publisher's trace"
    assert delivered["handler_trace_id"] == trace_id, "the subscriber's handler joined the trace"
    spans = assert_linked(trace)
    by_service = spans_by_service(trace)
    assert set(by_service) == {"publisher", "registry", "subscriber"}
    operations = {span["operationName"]: span for span in by_service["publisher"]}
    root, producer = operations["order placed"], operations["publish orders.placed"]
    assert parent_of(root) is None
    assert parent_of(producer) == root["spanID"]
    assert kind_of(producer) == "producer"
    (server,) = by_service["registry"]
    assert server["operationName"] == "registry.v1.RelayService/Publish"
    assert kind_of(server) == "server"
    assert parent_of(server) == producer["spanID"], "the registry continues the publisher's span"
    (consumer,) = by_service["subscriber"]
    assert consumer["operationName"] == "event orders.placed"
    assert kind_of(consumer) == "consumer"
    assert parent_of(consumer) in {server["spanID"], producer["spanID"]}, "the subscriber's span is linked"
    assert len(spans) == 4, f"no stray spans: {[s['operationName'] for s in spans.values()]}"


async def test_a_send_refused_by_auth_still_gets_its_server_span(
    start_registry: StartRegistry, jaeger: Jaeger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tracing wraps auth: the caller's trace shows its Send ended at the registry, and why."""
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    registry = await start_registry(auth_mode="jwt", jwt_secret=SECRET, otlp_endpoint=jaeger.otlp_grpc)
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    metadata = (("traceparent", f"00-{trace_id}-{caller_span}-01"),)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        send = RelayServiceStub(channel).Send(relay_pb.SendRequest(), metadata=metadata)
        await refused(send, grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
    trace = await asyncio.to_thread(jaeger.trace, trace_id, lambda found: len(found["spans"]) >= 1)

    (span,) = trace["spans"]
    tags = {tag["key"]: tag["value"] for tag in span["tags"]}
    assert span["operationName"] == "registry.v1.RelayService/Send"
    assert kind_of(span) == "server"
    assert parent_of(span) == caller_span, "the registry continues the caller's span"
    assert tags["rpc.grpc.status_code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert tags["otel.status_code"] == "ERROR"
