"""Metrics: OpenTelemetry's metrics SDK, scraped by Prometheus and pushed over OTLP.

Off unless asked for. `--metrics-port` serves the Prometheus text format on its own port
(loopback by default, `--metrics-host`), from OpenTelemetry's Prometheus reader; the HTTP side is
a tiny asyncio server in the registry's own event loop, so a scrape reads the registry's state on
the thread that owns it. `--otlp-metrics-endpoint` pushes the same instruments over OTLP/gRPC
every `--otlp-metrics-interval` seconds (a separate endpoint from the traces' one: Jaeger takes
OTLP traces but refuses metrics).

Cost on the hot paths: nothing per heartbeat but the integer `Liveness.beats += 1`; nothing per
Lookup unless metrics are on (then one histogram record for Lookup and Register each); the relay's
counters and latencies are read at scrape time from the dependency graph's per-edge windows.
Almost everything is an observable instrument whose callback reads a counter or a size when the
reader collects.

Label cardinality is bounded (see docs/operations.md#metrics): service labels on
`registry_instances` come from at most `MAX_SERVICE_SERIES` services (the biggest; the rest are
summed under service="_other"); relay series are per observed edge, at most 1,024 edges (the
graph's bound) times the status codes seen; no series carries an instance id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from bisect import bisect_left
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from itertools import accumulate
from typing import Any, TypeVar

import grpc
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from registry.core.catalog import Catalog
from registry.core.events import EventBus
from registry.core.graph_model import OBSERVED_KINDS
from registry.core.graph_traffic import Traffic
from registry.core.graph_window import Window, percentile
from registry.core.liveness import Liveness
from registry.core.messages import Envelope
from registry.core.model import Change, ChangeType, HealthStatus, Instance, InstanceKey
from registry.core.ports import ReplicatedStore, Store, StoredChange, StoredState
from registry.telemetry import Handler, UnaryWrapper

log = logging.getLogger(__name__)

MAX_SERVICE_SERIES = 200
"""Services with their own `registry_instances` series; the others are summed as `_other`."""
OTHER = "_other"
ANONYMOUS = "_anonymous"
"""The source (or subscriber) label of messages from callers without an identity (auth off)."""
TIMED_METHODS = ("Register", "Deregister", "Lookup")
"""RegistryService methods whose latency is a histogram (by `method`)."""
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
DETECTION_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
HISTOGRAM_BUCKETS = {
    "registry.store.write.duration": LATENCY_BUCKETS,
    "registry.heartbeat.detection": DETECTION_BUCKETS,
}
QUANTILES = (("0.5", "p50"), ("0.9", "p90"), ("0.99", "p99"))

T = TypeVar("T")


def _name(status: HealthStatus) -> str:
    return status.name.lower()


def _service(name: str) -> str:
    return name or ANONYMOUS


def _kind(kind: object) -> str:
    return OBSERVED_KINDS[kind].name.lower()  # type: ignore[index]


class MetricsExport:
    """The meter provider and where its readings go: the scrape port, OTLP, or both. Built before
    the store (whose writes it times), started after the server."""

    def __init__(
        self, *, scrape_host: str, scrape_port: int, otlp_endpoint: str, otlp_interval: float
    ) -> None:
        readers: list[MetricReader] = []
        self.scrape: ScrapeServer | None = None
        if scrape_port >= 0:
            collected = CollectorRegistry(auto_describe=False)
            readers.append(PrometheusMetricReader(registry=collected))
            self.scrape = ScrapeServer(collected, scrape_host, scrape_port)
        if otlp_endpoint:
            # Imported only when pushing: it pulls in the exporter's own gRPC machinery.
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # noqa: PLC0415
                OTLPMetricExporter,
            )

            endpoint = otlp_endpoint if "://" in otlp_endpoint else f"http://{otlp_endpoint}"
            readers.append(
                PeriodicExportingMetricReader(
                    OTLPMetricExporter(endpoint=endpoint), export_interval_millis=otlp_interval * 1000
                )
            )
            log.info("exporting metrics", extra={"otlp_endpoint": endpoint})
        self.provider = MeterProvider(
            metric_readers=readers,
            resource=Resource.create({"service.name": "registry"}),
            views=[
                View(instrument_name=name, aggregation=ExplicitBucketHistogramAggregation(buckets))
                for name, buckets in HISTOGRAM_BUCKETS.items()
            ],
        )
        self.meter = self.provider.get_meter("registry")
        self.store_write = self.meter.create_histogram(
            "registry.store.write.duration", unit="s", description="store write latency by operation"
        )

    @property
    def port(self) -> int:
        """The scrape port (0 when not serving one)."""
        return self.scrape.port if self.scrape is not None else 0

    async def start(self) -> None:
        if self.scrape is not None:
            await self.scrape.start()

    async def stop(self) -> None:
        if self.scrape is not None:
            await self.scrape.stop()
        await asyncio.to_thread(self.provider.shutdown)  # a last OTLP push; bounded by its timeout


class RegistryMetrics:
    """Every instrument of one registry process, bound to its parts. Build it, then `start`."""

    def __init__(
        self,
        export: MetricsExport,
        *,
        catalog: Catalog,
        liveness: Liveness,
        events: EventBus,
        traffic: Traffic,
        refusals: Callable[[], Mapping[str, int]],
    ) -> None:
        self._catalog = catalog
        self._liveness = liveness
        self._events = events
        self._traffic = traffic
        self._refusals = refusals
        meter = export.meter
        self.rpc_latency = RpcLatency()
        if export.scrape is not None:
            export.scrape.registry.register(self.rpc_latency)
        detection = meter.create_histogram(
            "registry.heartbeat.detection",
            unit="s",
            description="from a heartbeat stream break to the instance's CRITICAL status",
        )
        transitions = meter.create_counter(
            "registry.status.transitions", description="instance status changes by from and to"
        )
        liveness.on_detection = detection.record

        def on_change(change: Change) -> None:
            if change.type is ChangeType.STATUS_CHANGED and change.previous_status is not None:
                attributes = {"from": _name(change.previous_status), "to": _name(change.instance.status)}
                transitions.add(1, attributes)

        catalog.add_listener(on_change)
        observe = _observer(meter)
        observe("counter", "registry.rpc.calls", self._rpc_calls, "Register, Deregister and Lookup calls")
        observe(
            "gauge", "registry.rpc.latency_seconds", self._rpc_latency, "call latency quantiles since start"
        )
        observe("gauge", "registry.instances", self._instances, "registered instances by service and status")
        observe("gauge", "registry.heartbeat.streams", self._streams, "open heartbeat streams")
        observe("counter", "registry.heartbeats", self._beats, "heartbeats received")
        observe("gauge", "registry.self_preservation.active", self._preserving, "1 while expiries are held")
        observe("gauge", "registry.startup_grace.active", self._in_grace, "1 during the startup grace")
        observe("gauge", "registry.watchers", self._watchers, "open Watch streams")
        observe(
            "gauge", "registry.watch.backlog", self._watch_backlog, "changes queued for the slowest watcher"
        )
        observe("counter", "registry.watch.cut", self._watch_cut, "watchers ended for falling behind")
        observe(
            "counter", "registry.relay.messages", self._relay_messages, "relayed messages by edge and code"
        )
        observe(
            "gauge",
            "registry.relay.latency_seconds",
            self._relay_latency,
            "relay latency quantiles, last minute",
        )
        observe("counter", "registry.relay.uncounted", self._relay_dropped, "messages over the edge bounds")
        observe("counter", "registry.events.published", self._published, "events stored")
        observe("counter", "registry.events.delivered", self._delivered, "events sent to subscribers")
        observe("counter", "registry.events.dropped", self._dropped, "events lost to cut subscribers")
        observe("gauge", "registry.events.subscribers", self._subscribers, "open Subscribe streams")
        observe(
            "gauge",
            "registry.events.backlog",
            self._event_backlog,
            "events queued for the slowest subscriber",
        )
        observe("gauge", "registry.event_log.events", self._log_size, "events held in the durable log")
        observe("counter", "registry.auth.refusals", self._auth_refusals, "calls refused by reason")

    # ----------------------------------------------------------------- readings

    def _instances(self) -> Iterator[Observation]:
        counts = self._catalog.status_counts()
        ranked = sorted(counts, key=lambda s: (-sum(counts[s].values()), s))
        other: dict[HealthStatus, int] = {}
        for index, service in enumerate(ranked):
            if index < MAX_SERVICE_SERIES:
                for status, count in counts[service].items():
                    yield Observation(count, {"service": service, "status": _name(status)})
            else:
                for status, count in counts[service].items():
                    other[status] = other.get(status, 0) + count
        for status, count in other.items():
            yield Observation(count, {"service": OTHER, "status": _name(status)})

    def _rpc_calls(self) -> Iterator[Observation]:
        for method, counts in self.rpc_latency.counts.items():
            yield Observation(sum(counts), {"method": method})

    def _rpc_latency(self) -> Iterator[Observation]:
        for method in TIMED_METHODS:
            for quantile, _ in QUANTILES:
                value = self.rpc_latency.quantile(method, float(quantile))
                yield Observation(value, {"method": method, "quantile": quantile})

    def _streams(self) -> Iterator[Observation]:
        yield Observation(self._liveness.open_streams)

    def _beats(self) -> Iterator[Observation]:
        yield Observation(self._liveness.beats)

    def _preserving(self) -> Iterator[Observation]:
        yield Observation(int(self._liveness.self_preservation_active))

    def _in_grace(self) -> Iterator[Observation]:
        yield Observation(int(self._liveness.startup_grace_active))

    def _watchers(self) -> Iterator[Observation]:
        yield Observation(self._catalog.watch_hub.watcher_count)

    def _watch_backlog(self) -> Iterator[Observation]:
        yield Observation(max(self._catalog.watch_hub.backlogs(), default=0))

    def _watch_cut(self) -> Iterator[Observation]:
        yield Observation(self._catalog.watch_hub.cut)

    def _relay_messages(self) -> Iterator[Observation]:
        for (source, target, kind), code, count in self._traffic.totals():
            attributes = {"source": _service(source), "target": _service(target), "kind": _kind(kind)}
            attributes["code"] = str(code)
            yield Observation(count, attributes)

    def _relay_latency(self) -> Iterator[Observation]:
        for (source, target, kind), stats in self._traffic.quantiles(Window.ONE_MINUTE):
            for quantile, field in QUANTILES:
                attributes = {"source": _service(source), "target": _service(target), "kind": _kind(kind)}
                attributes["quantile"] = quantile
                yield Observation(getattr(stats, field), attributes)

    def _relay_dropped(self) -> Iterator[Observation]:
        yield Observation(self._traffic.dropped)

    def _published(self) -> Iterator[Observation]:
        yield Observation(self._events.published)

    def _delivered(self) -> Iterator[Observation]:
        yield Observation(self._events.delivered)

    def _dropped(self) -> Iterator[Observation]:
        yield Observation(self._events.dropped)

    def _subscribers(self) -> Iterator[Observation]:
        yield Observation(len(self._events.backlogs()))

    def _event_backlog(self) -> Iterator[Observation]:
        yield Observation(max(self._events.backlogs(), default=0))

    def _log_size(self) -> Iterator[Observation]:
        oldest, head = self._events.oldest, self._events.head
        yield Observation(head - oldest + 1 if oldest else 0)

    def _auth_refusals(self) -> Iterator[Observation]:
        for reason, count in dict(self._refusals()).items():
            yield Observation(count, {"reason": reason})


def _observer(meter: Any) -> Callable[..., None]:
    """Registers an observable gauge or counter whose callback reads `read()`. A reading that
    races a change on another thread (the OTLP reader's) is skipped, never raised: the next
    collection reads again."""

    def observe(
        kind: str, name: str, read: Callable[[], Iterable[Observation]], description: str, unit: str = ""
    ) -> None:
        def callback(_: CallbackOptions) -> Iterable[Observation]:
            try:
                return list(read())
            except RuntimeError:  # a dict or set resized under a reader on another thread
                return []

        create = meter.create_observable_gauge if kind == "gauge" else meter.create_observable_counter
        create(name, callbacks=[callback], description=description, unit=unit)

    return observe


# --------------------------------------------------------------------------- call latency


class RpcLatency:
    """Latency of the `TIMED_METHODS`, per method, in fixed buckets: a bisect and two additions
    per call (about 0.2 µs), where OpenTelemetry's synchronous histogram costs about 15 µs on
    this machine, more than a tenth of a Lookup. Read at collection time: by the scrape as a
    Prometheus histogram (`registry_rpc_duration_seconds`, this object is a prometheus_client
    collector), and by every reader as call counters and quantile gauges."""

    def __init__(self) -> None:
        self.counts = {m: array("q", bytes(8 * (len(LATENCY_BUCKETS) + 1))) for m in TIMED_METHODS}
        self.sums = dict.fromkeys(TIMED_METHODS, 0.0)

    def record(self, method: str, seconds: float) -> None:
        self.counts[method][bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.sums[method] += seconds

    def describe(self) -> list[HistogramMetricFamily]:
        return []

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "registry_rpc_duration_seconds", "RegistryService call latency by method", labels=["method"]
        )
        for method, counts in self.counts.items():
            cumulative = list(accumulate(counts))
            buckets = [(repr(bound), float(n)) for bound, n in zip(LATENCY_BUCKETS, cumulative, strict=False)]
            family.add_metric([method], [*buckets, ("+Inf", float(cumulative[-1]))], self.sums[method])
        yield family

    def quantile(self, method: str, q: float) -> float:
        """Interpolated inside the bucket, like PromQL's histogram_quantile."""
        counts = self.counts[method]
        return percentile(counts, sum(counts), q, LATENCY_BUCKETS)


class RpcTimer(UnaryWrapper):
    """Times the `TIMED_METHODS` of RegistryService into an `RpcLatency`; every other method
    keeps its handler, untouched (see `UnaryWrapper`). Installed only with metrics on."""

    def __init__(self, latency: RpcLatency, service: str) -> None:
        super().__init__(f"/{service}/{m}" for m in TIMED_METHODS)
        self._latency = latency

    def _wrap(self, method: str, handler: Handler) -> Handler:
        behavior: Callable[..., Awaitable[Any]] = handler.unary_unary  # type: ignore[assignment]
        record = self._latency.record
        name = method.rsplit("/", 1)[1]

        async def timed(request: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return await behavior(request, context)
            finally:
                record(name, time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            timed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


# --------------------------------------------------------------------------- store latency


class _WriteTimer:
    """Times each store write into `registry.store.write.duration{operation}`. Writes are
    registrations, removals and the batched status flushes: never per heartbeat."""

    def __init__(self, record: Callable[[float, Mapping[str, str]], None]) -> None:
        self._record = record

    async def _timed(self, operation: str, write: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await write
        finally:
            self._record(time.perf_counter() - started, {"operation": operation})


class TimedStore(_WriteTimer):
    """The single-node store (SQLite), its writes timed."""

    def __init__(self, store: Store, record: Callable[[float, Mapping[str, str]], None]) -> None:
        super().__init__(record)
        self._store = store

    async def open(self) -> StoredState:
        return await self._store.open()

    async def put_instance(self, instance: Instance) -> None:
        await self._timed("put_instance", self._store.put_instance(instance))

    async def put_instances(
        self, instances: Sequence[Instance], events: Sequence[Envelope] = (), keep_events_from: int = 0
    ) -> None:
        # One transaction of registrations (group commit): the same operation as a single put.
        await self._timed("put_instance", self._store.put_instances(instances, events, keep_events_from))

    async def delete_instance(self, key: InstanceKey) -> None:
        await self._timed("delete_instance", self._store.delete_instance(key))

    async def save_batch(self, instances: Sequence[Instance], revision_ceiling: int) -> None:
        await self._timed("save_batch", self._store.save_batch(instances, revision_ceiling))

    async def close(self) -> None:
        await self._store.close()


class TimedReplicatedStore(_WriteTimer):
    """The cluster store (etcd), its writes timed under the same operation names: a guarded
    registration put, a removal, a batch of guarded status writes (`save_batch`)."""

    def __init__(self, store: ReplicatedStore, record: Callable[[float, Mapping[str, str]], None]) -> None:
        super().__init__(record)
        self._store = store

    async def open(self) -> StoredState:
        return await self._store.open()

    async def put_instance(self, instance: Instance, expect_mod_revision: int) -> int | None:
        return await self._timed("put_instance", self._store.put_instance(instance, expect_mod_revision))

    async def delete_instance(self, key: InstanceKey) -> int | None:
        return await self._timed("delete_instance", self._store.delete_instance(key))

    async def save_statuses(self, instances: Sequence[Instance]) -> None:
        await self._timed("save_batch", self._store.save_statuses(instances))

    def changes(self, after_revision: int) -> AsyncIterator[StoredChange]:
        return self._store.changes(after_revision)

    async def close(self) -> None:
        await self._store.close()


# --------------------------------------------------------------------------- the scrape port


class ScrapeServer:
    """`GET /metrics` (any path) in the Prometheus text format, served from the event loop."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.registry = registry
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics scrape endpoint", extra={"address": f"http://{self._host}:{self.port}/metrics"})

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request = await reader.readuntil(b"\r\n\r\n")
            method = request.split(b" ", 1)[0]
            if method not in (b"GET", b"HEAD"):
                status, body, content_type = b"405 Method Not Allowed", b"GET only\n", b"text/plain"
            else:
                status, body, content_type = (
                    b"200 OK",
                    generate_latest(self.registry),
                    CONTENT_TYPE_LATEST.encode(),
                )
            head = b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
                status,
                content_type,
                len(body),
            )
            writer.write(head if method == b"HEAD" else head + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a scraper that hung up or sent garbage: nothing to answer
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
