"""A registry process SIGKILLed and restarted mid-run: services come back to healthy with no user
code, and a fleet of 500 clients spreads its reconnects instead of arriving as one wave."""

from __future__ import annotations

import asyncio
import collections
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import HealthStatus, RegistryClient
from client.registration import EventKind, Registration
from tests.client.conftest import client_config
from tests.helpers.process import ServerProcess, start_server

LOCAL_POOL = [("grpc.use_local_subchannel_pool", 1)]
"""One connection per client, as if each were its own process (gRPC shares them by default)."""


class Restartable:
    """A registry child process that can be killed and started again on the same port and store."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.process: ServerProcess = start_server(db, "--startup-grace-seconds", "0")
        self.address = self.process.address
        self.port = self.address.rpartition(":")[2]

    def kill(self) -> None:
        self.process.kill()

    def start(self) -> None:
        self.process = start_server(self.db, "--port", self.port, "--startup-grace-seconds", "0")

    def stop(self) -> None:
        if self.process.proc.poll() is None:
            self.process.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Restartable]:
    restartable = Restartable(tmp_path / "registry.db")
    try:
        yield restartable
    finally:
        restartable.stop()


async def all_healthy(registrations: list[Registration], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        await asyncio.gather(*(r.wait_for_status() for r in registrations))


async def test_services_return_to_healthy_after_the_registry_is_killed(server: Restartable) -> None:
    clients = [
        RegistryClient(
            client_config(server.address, "orders", instance_id=f"orders-{n}"), channel_options=LOCAL_POOL
        )
        for n in range(3)
    ]
    watcher = RegistryClient(client_config(server.address, "dashboard"))
    try:
        registrations = [
            await c.register(f"127.0.0.1:{9000 + n}", heartbeat_interval=0.1, heartbeat_timeout=1.0)
            for n, c in enumerate(clients)
        ]
        await all_healthy(registrations, 5)
        view = watcher.discovery.view("orders")
        await view.wait_ready(2)

        server.kill()
        await asyncio.sleep(0.2)
        assert all(r.status is HealthStatus.UNKNOWN for r in registrations)  # nobody confirms them
        await asyncio.to_thread(server.start)
        back_at = time.monotonic()  # listening: how long the registry takes to start is not the SDK's
        await all_healthy(registrations, 10)
        recovered = time.monotonic() - back_at
        async with asyncio.timeout(5):
            while {i.status for i in view.instances.values()} != {HealthStatus.HEALTHY} or len(
                view.instances
            ) != 3:
                await asyncio.sleep(0.02)
        assert [r.stats.registrations for r in registrations] == [1, 1, 1]  # the store kept them
        assert all(r.stats.binds == 2 for r in registrations)
        assert view.stats.resumes >= 1
        # Each client waits at most backoff_cap (0.2 s) between tries, and gRPC's own reconnect
        # backoff is capped the same: a few tenths of a second, not the 5 s of the default cap.
        assert recovered < 2, f"recovery took {recovered:.2f}s after the registry was back"
    finally:
        await asyncio.gather(*(c.close() for c in [*clients, watcher]))


FLEET = 500
BASE = 0.2
"""Backoff base of the fleet: the first reconnect of each client is uniform in [0, BASE)."""


async def test_500_clients_spread_their_reconnects(server: Restartable) -> None:
    clients = [
        RegistryClient(
            client_config(
                server.address,
                "fleet",
                instance_id=f"fleet-{n}",
                backoff_base=BASE,
                backoff_cap=1.0,
                call_timeout=5,
            ),
            channel_options=LOCAL_POOL,
        )
        for n in range(FLEET)
    ]
    try:
        registrations = await asyncio.gather(
            *(
                c.register(f"127.0.0.1:{10_000 + n}", heartbeat_interval=1.0, heartbeat_timeout=5.0)
                for n, c in enumerate(clients)
            )
        )
        await all_healthy(list(registrations), 20)

        server.kill()
        killed_at = time.monotonic()
        restart = asyncio.ensure_future(asyncio.to_thread(server.start))  # the loop runs meanwhile
        async with asyncio.timeout(30):
            while not all(r.stats.binds == 2 for r in registrations):
                await asyncio.sleep(0.02)
        await restart
        await all_healthy(list(registrations), 30)
        back_at = time.monotonic()

        # The jitter is judged on the delays the SDK drew, not on wall time between events: under
        # CPU load one loop running 500 clients fires timers late, which is not the SDK's doing.
        first_retry: list[float] = []  # per client: the backoff drawn when its stream failed
        attempts: list[float] = []  # every attempt of every client after the kill, in seconds since the kill
        for r in registrations:
            events = [e for e in r.events if e.at >= killed_at]
            failed = next(e for e in events if e.kind is EventKind.FAILED)
            tries = [e.at for e in events if e.kind is EventKind.ATTEMPT]
            assert failed.delay is not None
            assert tries[0] - failed.at >= failed.delay - 0.001  # it waited what it drew
            first_retry.append(failed.delay)
            attempts.extend(t - killed_at for t in tries)

        deciles = statistics.quantiles(first_retry, n=10)
        bins = collections.Counter(int(t / 0.01) for t in first_retry)
        busiest_10ms = max(bins.values()) / FLEET
        wave = collections.Counter(int(t / 0.05) for t in attempts)
        busiest_50ms = max(wave.values()) / len(attempts)
        print(
            f"\n{FLEET} clients: first retry p10={deciles[0] * 1000:.0f}ms p50={deciles[4] * 1000:.0f}ms "
            f"p90={deciles[8] * 1000:.0f}ms; busiest 10ms holds {busiest_10ms:.1%} of first retries; "
            f"{len(attempts)} attempts, busiest 50ms holds {busiest_50ms:.1%}; "
            f"all healthy {back_at - killed_at:.2f}s after the kill"
        )
        # Full jitter: first retries uniform over [0, BASE) -> deciles near 0.1*BASE and 0.9*BASE,
        # ~5% per 10 ms. A herd (no jitter) would put 100% in one bin.
        assert deciles[0] < 0.25 * BASE
        assert deciles[8] > 0.75 * BASE
        assert busiest_10ms < 0.15  # ~5% expected; 15% is ten standard deviations out
        assert busiest_50ms < 0.35  # the attempts the registry saw: late timers bunch some of them
        assert all(r.stats.registrations == 1 for r in registrations)
    finally:
        await asyncio.gather(*(c.close() for c in clients))
