"""Fixtures for the SDK tests: clients with short backoffs talking to a real registry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypedDict

import pytest

from client import ClientConfig, RegistryClient
from registry.app import Registry

Connect = Callable[..., Coroutine[Any, Any, RegistryClient]]


class FastBeats(TypedDict):
    heartbeat_interval: float
    heartbeat_timeout: float


FAST_BEATS: FastBeats = {"heartbeat_interval": 0.05, "heartbeat_timeout": 0.5}
"""A heartbeat policy fast enough that tests see status changes in tens of milliseconds."""


def client_config(address: str, service: str = "orders", **settings: Any) -> ClientConfig:
    settings.setdefault("backoff_base", 0.02)
    settings.setdefault("backoff_cap", 0.2)
    settings.setdefault("call_timeout", 2.0)
    return ClientConfig(registry_url=address, service_name=service, **settings)


@pytest.fixture
async def connect(registry: Registry) -> AsyncIterator[Connect]:
    """Factory: `await connect("orders", instance_id=..., **settings)` -> a client of `registry`,
    closed (gracefully: goodbye, deregister) at teardown."""
    clients: list[RegistryClient] = []

    async def make(
        service: str = "orders",
        *,
        address: str = "",
        degrade: bool = False,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        **settings: Any,
    ) -> RegistryClient:
        client = RegistryClient(
            client_config(address or registry.address, service, **settings),
            degrade=degrade,
            failure_threshold=failure_threshold,
            reset_timeout=reset_timeout,
        )
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        await client.close()
