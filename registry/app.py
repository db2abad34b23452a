"""The composition root: builds the store, the domain core and the server, and runs them.

Start order: open the store and rebuild the catalog, then serve, then report SERVING on the
health service. Stop order is the reverse, with the health service going NOT_SERVING first so
load balancers stop sending work before anything closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health_pb2

from registry.api.heartbeat_servicer import HeartbeatServicer
from registry.api.inbox_client import InboxClient
from registry.api.registry_servicer import REGISTRY_SERVICE_NAME, RegistryServicer
from registry.api.relay_servicer import TRACED_METHODS, RelayServicer
from registry.auth.delivery_tokens import DeliverySigner
from registry.auth.interceptor import AuthInterceptor, build_interceptor
from registry.clock import SystemClock
from registry.cluster import ClusterParts
from registry.config import Config
from registry.core import paging
from registry.core.catalog import Catalog
from registry.core.cluster_liveness import ClusterLiveness
from registry.core.errors import Unavailable
from registry.core.events import BusSettings, EventBus
from registry.core.graph import DependencyGraph
from registry.core.graph_share import SharedTraffic
from registry.core.graph_traffic import Traffic
from registry.core.lifecycle import LifecycleAnnouncer
from registry.core.liveness import Liveness, LivenessSettings
from registry.core.liveness.stall import StallClock
from registry.core.ports import ReplicatedStore, Store, StoreOpenError
from registry.core.relay import Relay
from registry.core.replicated_catalog import ReplicatedCatalog
from registry.core.replicated_events import ReplicatedEventBus
from registry.metrics import MetricsExport, RegistryMetrics, RpcTimer, TimedReplicatedStore, TimedStore
from registry.server import build_server
from registry.store.sqlite import SqliteStore
from registry.store.sqlite_events import SqliteEventLog
from registry.telemetry import Telemetry, TracingInterceptor
from registry.tls import describe, server_certificates
from registry.wire.binding import ServiceBinding
from registry.wire.handlers import MethodWrapper
from registry.wire.health import HealthServicer

if TYPE_CHECKING:
    from registry.api.console.server import ConsoleServer

log = logging.getLogger(__name__)


def _metrics_export(config: Config) -> MetricsExport | None:
    if config.metrics_port < 0 and not config.otlp_metrics_endpoint:
        return None
    return MetricsExport(
        scrape_host=config.metrics_host,
        scrape_port=config.metrics_port,
        otlp_endpoint=config.otlp_metrics_endpoint,
        otlp_interval=config.otlp_metrics_interval,
    )


class Registry:
    """One registry process: store, core, server."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics_export = _metrics_export(config)  # None when metrics are off
        catalog_settings: dict[str, Any] = {
            "history_limit": config.watch_history,
            "watcher_buffer": config.watch_buffer,
            "max_watchers": config.max_watchers,
            "max_watchers_per_caller": config.max_watchers_per_caller,
            "watcher_buffer_bytes": config.watch_buffer_bytes,
            "max_instances": config.max_instances,
            "persist_interval": config.persist_interval,
        }
        self.cluster: ClusterParts | None = None
        self.catalog: Catalog
        if config.store == "etcd":
            self.cluster = ClusterParts(config)
            ownership = self.cluster.ownership
            replicated: ReplicatedStore = self.cluster.store
            if self.metrics_export is not None:
                replicated = TimedReplicatedStore(replicated, self.metrics_export.store_write.record)
            self.catalog = ReplicatedCatalog(replicated, **catalog_settings, fenced=lambda: ownership.fenced)
        else:
            store = SqliteStore(config.db_path)
            if self.metrics_export is not None:
                self.store: Store = TimedStore(store, self.metrics_export.store_write.record)
            else:
                self.store = store
            self.catalog = Catalog(self.store, **catalog_settings)
        self.liveness_clock, self.liveness = self._liveness(config)
        self.health = HealthServicer()
        self.certificates = server_certificates(config)  # None: plaintext
        # Keys are read or created in `start`, once the store has opened (and locked) the data
        # directory: a registry that cannot start must leave no secret or key behind.
        self.auth: AuthInterceptor | None = None  # None when auth is off
        self.telemetry = Telemetry(config.otlp_endpoint)
        bus_settings = BusSettings(
            retention_count=config.event_retention_count,
            retention_seconds=config.event_retention_seconds,
            subscriber_buffer=config.event_subscriber_buffer,
            max_subscribers=config.max_subscribers,
            max_subscribers_per_caller=config.max_subscribers_per_caller,
        )
        self.events: EventBus
        if self.cluster is not None:
            self.events = ReplicatedEventBus(self.cluster.events, bus_settings)
        else:
            self.events = EventBus(SqliteEventLog(config.db_path), bus_settings)
        # The signer is made in `start` (like the auth keys): its key file may be created there.
        self.signer: DeliverySigner
        self.relay: Relay
        self._signer_of_cluster = None if self.cluster is None else self.cluster.signer
        self.inbox = InboxClient(
            self.telemetry.tracer,
            max_channels=config.relay_max_channels,
            max_message_bytes=config.max_message_bytes,
        )
        self.traffic = Traffic()
        self.shared_traffic: SharedTraffic | None = None  # cluster mode: every replica's share
        if self.cluster is not None:
            self.shared_traffic = SharedTraffic(self.traffic, self.cluster.graph_share)
        self.graph = DependencyGraph(self.catalog.snapshot, self.traffic, self.shared_traffic)
        self._lifecycle = self._announce_lifecycle()
        self.metrics: RegistryMetrics | None = None
        if self.metrics_export is not None:
            self.metrics = RegistryMetrics(
                self.metrics_export,
                catalog=self.catalog,
                liveness=self.liveness,
                events=self.events,
                traffic=self.traffic,
                refusals=lambda: self.auth.refusals if self.auth is not None else {},
            )
        self._server: grpc.aio.Server | None = None
        self.console: ConsoleServer | None = None  # when --console-address is set
        self._stopped = False
        self.port = 0

    def _announce_lifecycle(self) -> LifecycleAnnouncer:
        """Lifecycle events for the catalog's changes; on a single node a registration and its
        `started` event commit together (`Catalog.journal`)."""
        announcer = LifecycleAnnouncer(self.events, time.time, started_by_catalog=self.cluster is None)
        announce = announcer.on_change
        if self.cluster is None:
            self.catalog.journal(self.events, announcer.started)
            self.catalog.add_listener(announce)
        else:
            self.catalog.add_listener(self.cluster.decided_here(announce))
        return announcer

    def _liveness(self, config: Config) -> tuple[StallClock, Liveness]:
        """The liveness engine on its stall clock: silence is measured on it, rates and send
        times on the real clock (see registry/core/liveness/stall.py)."""
        settings = LivenessSettings(
            reap_seconds=config.reap_seconds,
            startup_grace_seconds=config.startup_grace_seconds,
            self_preservation_threshold=config.self_preservation_threshold,
            self_preservation_window_seconds=config.self_preservation_window_seconds,
            max_streams=config.max_heartbeat_streams,
            max_streams_per_caller=config.max_heartbeat_streams_per_caller,
            bind_timeout=config.heartbeat_bind_timeout,
            stream_break_debounce=config.stream_break_debounce_ms / 1000,
        )
        system_clock = SystemClock()
        clock = StallClock(system_clock)
        liveness: Liveness
        if self.cluster is not None:
            liveness = ClusterLiveness(
                self.catalog,
                settings,
                clock,
                self.cluster.ownership,
                real_clock=system_clock,
                on_beat_read=clock.beat_read,
            )
        else:
            liveness = Liveness(
                self.catalog, settings, clock, real_clock=system_clock, on_beat_read=clock.beat_read
            )
        clock.watch_reads(lambda: liveness.beats, liveness.expected_beat_rate)
        return clock, liveness

    @property
    def stopped(self) -> bool:
        """`stop` was called (the store, and its lock on the database, are then released)."""
        return self._stopped

    @property
    def address(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{host}:{self.port}"

    def _services(self) -> list[ServiceBinding]:
        relay = RelayServicer(
            self.relay,
            self.events,
            self.signer,
            max_payload_bytes=self.config.relay_max_payload_bytes,
            traffic=self.traffic,
        )
        return [
            RegistryServicer(self.catalog, self.graph).binding(),
            HeartbeatServicer(self.liveness).binding(),
            relay.binding(),
        ]

    async def start(self) -> None:
        self._lifecycle.seed(await self.catalog.start())  # opens and locks the store first
        try:
            # Cluster mode: per-service keys come from etcd (filled in `cluster.start`, before the
            # server starts), so every replica verifies the same services.
            self.auth = build_interceptor(
                self.config, None if self.cluster is None else self.cluster.service_keys
            )
            self.signer = self._signer_of_cluster or DeliverySigner.from_data_dir(self.config.data_dir)
        except BaseException:
            await self.catalog.close()  # releases the database for the next attempt
            raise
        self.relay = Relay(
            self.catalog,
            self.inbox,
            self.signer,
            default_timeout=self.config.relay_timeout,
            load_of=self.liveness.load,
            traffic=self.traffic,
        )
        self.catalog.add_listener(self.relay.on_change)
        await self.events.start()  # after the catalog: its store migrates the shared file
        self.liveness_clock.start()
        self.liveness.start()
        services = self._services()
        tracing = TracingInterceptor(
            self.telemetry.tracer, TRACED_METHODS, recording=self.telemetry.recording
        )
        wrappers: list[MethodWrapper] = [tracing.wrap]  # outermost first
        if self.auth is not None:
            wrappers.append(self.auth.wrap)
        if self.metrics is not None:
            wrappers.append(RpcTimer(self.metrics.rpc_latency, REGISTRY_SERVICE_NAME).wrap)
        self._server = build_server(self.config, services, self.health, wrappers)
        if self.certificates is None:
            self.port = self._server.add_insecure_port(self.config.address)
        else:
            self.port = self._server.add_secure_port(self.config.address, self.certificates.credentials())
        if self.cluster is not None:
            await self.cluster.start(self.address)  # the shared signer adopts the cluster's key
        if self.shared_traffic is not None:
            self.shared_traffic.start()
        # Page tokens are signed with a key derived from the delivery key: they survive a restart,
        # and in cluster mode every replica accepts every other replica's tokens.
        paging.use_key(self.signer.derived_key("page tokens"))
        await self._server.start()
        await self._start_console()
        for name in ["", *(s.full_name for s in services)]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        if self.metrics_export is not None:
            await self.metrics_export.start()
        log.info(
            "registry serving",
            extra={
                "address": self.address,
                "transport": describe(self.config, self.certificates),
                "db": str(self.config.db_path),
                "revision": self.catalog.revision,
            },
        )

    async def _start_console(self) -> None:
        """The web console on its own port, when configured (docs/console.md)."""
        address = self.config.console_host_port
        if address is None:
            return
        # Imported here: aiohttp costs a third of a second at start, which every CLI command
        # (they share this module's imports) would pay for a console it does not run.
        from registry.api.console.server import ConsoleServer  # noqa: PLC0415

        tls = None
        if self.certificates is not None:
            from registry.api.console.tls import ConsoleTls  # noqa: PLC0415

            tls = ConsoleTls(self.certificates, self.config.tls_reload_seconds).context
        self.console = ConsoleServer(
            address,
            catalog=self.catalog,
            liveness=self.liveness,
            events=self.events,
            graph=self.graph,
            verifier=None if self.auth is None else self.auth.verifier,
            trace_url=self.config.console_trace_url,
            ssl_context=tls,
        )
        await self.console.start()

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving; idempotent, so a test may stop a registry its fixture also stops."""
        if self._stopped:
            return
        self._stopped = True
        await self.liveness.stop()  # first: streams cancelled below must not mark the fleet critical
        await self.liveness_clock.stop()
        grace = self.config.grace_seconds if grace is None else grace
        await self.health.enter_graceful_shutdown()
        if self._server is not None:
            stopping = asyncio.create_task(self._server.stop(grace))
            self.catalog.end_watches()
            self.events.end_subscriptions()
            if self.console is not None:
                await self.console.stop()  # its pages' watches and tails have just ended
            await stopping
        if self.shared_traffic is not None:
            await self.shared_traffic.stop()
        await self.inbox.close()
        await self.events.close()
        await self.catalog.close()
        if self.cluster is not None:
            await self.cluster.close()
        await asyncio.to_thread(self.telemetry.shutdown)  # flushes spans; blocking, bounded by its timeout
        if self.metrics_export is not None:
            await self.metrics_export.stop()
        log.info("registry stopped")


async def serve(config: Config) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    registry = Registry(config)
    try:
        await registry.start()
    except Unavailable as error:  # the cluster store unreachable at start (etcd down, TLS refused)
        if config.store != "etcd":
            raise
        raise StoreOpenError(f"etcd at {config.etcd_endpoints}", str(error)) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutdown requested", extra={"grace_seconds": config.grace_seconds})
    await registry.stop()
