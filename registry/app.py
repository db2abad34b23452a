"""The composition root: builds the store, the domain core and the server, and runs them.

Start order: open the store and rebuild the catalog, then serve, then report SERVING on the
health service. Stop order is the reverse, with the health service going NOT_SERVING first so
load balancers stop sending work before anything closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2

from registry.api.registry_servicer import RegistryServicer
from registry.config import Config
from registry.core.catalog import Catalog
from registry.server import ServiceBinding, build_server
from registry.store.sqlite import SqliteStore

log = logging.getLogger(__name__)


class Registry:
    """One registry process: store, core, server."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = SqliteStore(config.db_path)
        self.catalog = Catalog(
            self.store,
            history_limit=config.watch_history,
            watcher_buffer=config.watch_buffer,
            max_watchers=config.max_watchers,
            max_instances=config.max_instances,
            persist_interval=config.persist_interval,
        )
        self.health = health.aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self._stopped = False
        self.port = 0

    @property
    def address(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{host}:{self.port}"

    def _services(self) -> list[ServiceBinding]:
        return [RegistryServicer(self.catalog).binding()]

    async def start(self) -> None:
        await self.catalog.start()
        services = self._services()
        self._server = build_server(self.config, services, self.health)
        self.port = self._server.add_insecure_port(self.config.address)
        await self._server.start()
        for name in ["", *(s.full_name for s in services)]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "registry serving",
            extra={"address": self.address, "db": str(self.config.db_path), "revision": self.catalog.revision},
        )

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving; idempotent, so a test may stop a registry its fixture also stops."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.config.grace_seconds if grace is None else grace
        await self.health.enter_graceful_shutdown()
        if self._server is not None:
            stopping = asyncio.create_task(self._server.stop(grace))
            self.catalog.end_watches()
            await stopping
        await self.catalog.close()
        log.info("registry stopped")


async def serve(config: Config) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    registry = Registry(config)
    await registry.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutdown requested", extra={"grace_seconds": config.grace_seconds})
    await registry.stop()
