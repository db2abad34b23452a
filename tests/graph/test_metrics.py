"""The Prometheus scrape endpoint of a real registry under a small real workload, parsed with
prometheus_client's own text parser, values checked against what the workload did."""

from __future__ import annotations

import asyncio
import logging
import os
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import registry_service_pb2 as rpb
from generated.registry.v1 import relay_service_pb2 as pb
from registry.app import Registry
from registry.core.model import HealthStatus
from tests.auth.support import jwt_registry, token
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import BeatStream
from tests.helpers.registry_api import stub as registry_stub
from tests.helpers.relay_api import COMMAND, Targets, relay_stub, send_request, targets_for
from tests.helpers.streams import read

Samples = list[tuple[str, dict[str, str], float]]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def raw(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    """The one sample named `name` whose labels include `labels`."""
    found = [v for n, got, v in samples if n == name and labels.items() <= got.items()]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


@pytest.fixture
async def metered(start_registry: StartRegistry) -> Registry:
    return await start_registry(metrics_port=0, stream_break_debounce_ms=20)


@pytest.fixture
async def targets(metered: Registry) -> AsyncIterator[Targets]:
    async with (
        grpc.aio.insecure_channel(metered.address) as channel,
        targets_for(metered.address, channel) as t,
    ):
        yield t


async def wait_for_status(registry: Registry, key: tuple[str, str], status: HealthStatus) -> None:
    async with asyncio.timeout(5):
        while registry.liveness.status(key) is not status:
            await asyncio.sleep(0.01)


async def test_scrape_reports_the_workload(metered: Registry, targets: Targets) -> None:
    await targets.start("orders-1")
    await targets.start("orders-2")
    async with grpc.aio.insecure_channel(metered.address) as channel:
        streams = [BeatStream(channel), BeatStream(channel)]
        for index, stream in enumerate(streams, 1):
            await stream.bind(f"orders-{index}")
            for _ in range(3):
                await stream.beat()
        streams[1].call.cancel()  # the stream breaks: orders-2 goes critical after the debounce
        await wait_for_status(metered, ("orders", "orders-2"), HealthStatus.CRITICAL)

        registry = registry_stub(channel)
        for _ in range(5):
            await registry.Lookup(rpb.LookupRequest(service_name="orders"))
        watch = registry.Watch(rpb.WatchRequest(service_names=["orders"]))
        await watch.read()

        relay = relay_stub(channel)
        billing = (("x-source-service", "billing"),)
        subscription = relay.Subscribe(pb.SubscribeRequest(filter=pb.EventFilter(topics=["order.#"])))
        await subscription.read()
        for _ in range(3):
            await relay.Send(send_request("orders", "echo", COMMAND), metadata=billing, timeout=5)
        failing = send_request("orders", "fail", COMMAND, headers={"code": "FAILED_PRECONDITION"})
        with pytest.raises(grpc.aio.AioRpcError):
            await relay.Send(failing, metadata=billing, timeout=5)
        for _ in range(2):
            event = epb.Envelope(type=epb.MESSAGE_TYPE_EVENT, name="order.created")
            await relay.Publish(pb.PublishRequest(envelope=event), metadata=billing, timeout=5)
        for _ in range(2):
            assert (
                await asyncio.wait_for(read(subscription, pb.SubscribeResponse), 5)
            ).event.name == "order.created"

        samples = await asyncio.to_thread(scrape, metered.metrics_export.port)  # type: ignore[union-attr]
        if os.environ.get("SHOW_SCRAPE"):
            print(await asyncio.to_thread(raw, metered.metrics_export.port))  # type: ignore[union-attr]
        watch.cancel()
        subscription.cancel()
        streams[0].close()

    assert value(samples, "registry_instances", service="orders", status="healthy") == 1
    assert value(samples, "registry_instances", service="orders", status="critical") == 1
    assert value(samples, "registry_heartbeat_streams") == 1
    assert value(samples, "registry_heartbeats_total") == 6
    assert value(samples, "registry_status_transitions_total", **{"from": "unknown", "to": "healthy"}) == 2
    assert value(samples, "registry_status_transitions_total", **{"from": "healthy", "to": "critical"}) == 1
    assert value(samples, "registry_heartbeat_detection_seconds_count") == 1
    detected = value(samples, "registry_heartbeat_detection_seconds_sum")
    assert 0.02 <= detected < 1.0, "stream break to critical: the debounce plus scheduling"
    assert value(samples, "registry_startup_grace_active") == 1
    assert value(samples, "registry_self_preservation_active") == 0
    assert value(samples, "registry_rpc_duration_seconds_count", method="Lookup") == 5
    assert value(samples, "registry_rpc_duration_seconds_count", method="Register") == 2
    assert value(samples, "registry_rpc_duration_seconds_bucket", method="Lookup", le="+Inf") == 5
    assert value(samples, "registry_rpc_calls_total", method="Lookup") == 5
    lookup_p99 = value(samples, "registry_rpc_latency_seconds", method="Lookup", quantile="0.99")
    assert 0 < lookup_p99 <= 5.0
    assert value(samples, "registry_store_write_duration_seconds_count", operation="put_instance") == 2
    assert value(samples, "registry_watchers") == 1
    assert value(samples, "registry_watch_backlog") == 0
    edge = {"source": "billing", "target": "orders", "kind": "command"}
    assert value(samples, "registry_relay_messages_total", code="0", **edge) == 3
    assert value(samples, "registry_relay_messages_total", code="9", **edge) == 1
    p99 = value(samples, "registry_relay_latency_seconds", quantile="0.99", **edge)
    assert 0 < value(samples, "registry_relay_latency_seconds", quantile="0.5", **edge) <= p99 < 5
    event_edge = {"source": "billing", "target": "_anonymous", "kind": "event"}
    assert value(samples, "registry_relay_messages_total", code="0", **event_edge) == 2
    assert value(samples, "registry_events_published_total") == metered.events.head
    assert value(samples, "registry_events_delivered_total") == 2
    assert value(samples, "registry_events_dropped_total") == 0
    assert value(samples, "registry_event_log_events") == metered.events.head - metered.events.oldest + 1
    assert not [n for n, labels, _ in samples if "instance_id" in labels or "instance" in labels]


async def test_auth_refusals_are_counted_by_reason(start_registry: StartRegistry) -> None:
    registry = await jwt_registry(start_registry, metrics_port=0)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = registry_stub(channel)
        lookup = rpb.LookupRequest(service_name="orders")
        for metadata in [(), (), (("authorization", f"Bearer {token(scope='send:orders')}"),)]:
            with pytest.raises(grpc.aio.AioRpcError):
                await api.Lookup(lookup, metadata=metadata)
        await api.Lookup(lookup, metadata=(("authorization", f"Bearer {token()}"),))
    samples = await asyncio.to_thread(scrape, registry.metrics_export.port)  # type: ignore[union-attr]
    assert value(samples, "registry_auth_refusals_total", reason="TOKEN_MISSING") == 2
    assert value(samples, "registry_auth_refusals_total", reason="PERMISSION_DENIED") == 1


async def test_metrics_are_off_by_default_and_loopback_when_on(
    registry: Registry, start_registry: StartRegistry, tmp_path: Any
) -> None:
    assert registry.metrics_export is None
    assert registry.metrics is None
    on = await start_registry(metrics_port=0, db_path=tmp_path / "other.db")
    assert on.config.metrics_host == "127.0.0.1"
    assert on.metrics_export is not None
    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(
            urllib.request.urlopen,
            urllib.request.Request(f"http://127.0.0.1:{on.metrics_export.port}/metrics", method="POST"),
        )
    assert refused.value.code == 405


class MetricsSink(metrics_service_pb2_grpc.MetricsServiceServicer):
    """A real OTLP/gRPC metrics receiver keeping the data points it is sent, by metric name."""

    def __init__(self) -> None:
        self.points: dict[str, list[Any]] = {}

    async def Export(  # noqa: N802
        self, request: metrics_service_pb2.ExportMetricsServiceRequest, context: Any
    ) -> metrics_service_pb2.ExportMetricsServiceResponse:
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    assert kind is not None
                    data = getattr(metric, kind)
                    self.points.setdefault(metric.name, []).extend(data.data_points)
        return metrics_service_pb2.ExportMetricsServiceResponse()


async def test_the_same_metrics_are_pushed_over_otlp(start_registry: StartRegistry) -> None:
    sink = MetricsSink()
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    # opentelemetry-proto ships its generated gRPC code without type annotations.
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(sink, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        registry = await start_registry(otlp_metrics_endpoint=f"127.0.0.1:{port}")
        assert registry.metrics_export is not None
        assert registry.metrics_export.port == 0, "no scrape port unless asked for"
        async with grpc.aio.insecure_channel(registry.address) as channel:
            for _ in range(3):
                await registry_stub(channel).Lookup(rpb.LookupRequest(service_name="orders"))
        await registry.stop(grace=0)  # the last push happens on the way out
    finally:
        await server.stop(None)
    calls = {p.attributes[0].value.string_value: p.as_int for p in sink.points["registry.rpc.calls"]}
    assert calls == {"Lookup": 3, "Register": 0, "Deregister": 0}
    assert [p.as_int for p in sink.points["registry.heartbeats"]] == [0]


async def test_the_scrape_port_shrugs_off_garbage(
    start_registry: StartRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    registry = await start_registry(metrics_port=0)
    assert registry.metrics_export is not None
    port = registry.metrics_export.port
    for garbage in [b"\x00\xff" * 50 + b"\r\n\r\n", b"GET /metrics HTTP/1.1\r\n", b""]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(garbage)
        writer.write_eof()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 405"), answer[:40]
    samples = await asyncio.to_thread(scrape, port)
    assert value(samples, "registry_heartbeats_total") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
