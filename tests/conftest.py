"""Shared fixtures: a real registry on an ephemeral loopback port, and channels to it.

Nothing of ours is mocked: the fixture runs the same `Registry` composition root that
`registry serve` runs, on a fresh SQLite file per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc
import pytest

from registry.app import Registry
from registry.config import Config, config_for_tests

StartRegistry = Callable[..., Coroutine[Any, Any, Registry]]


@pytest.fixture
async def start_registry(tmp_path: Path) -> AsyncIterator[StartRegistry]:
    """Factory: `await start_registry(**config_overrides)` -> a started Registry, stopped at teardown."""
    started: list[Registry] = []

    def free_db_path() -> Path:
        # `registry.db`, so a test that stops a registry and starts another sees the same data;
        # another file while a registry of this test still runs on it (one process per database).
        busy = {r.config.db_path for r in started if not r.stopped}
        path, n = tmp_path / "registry.db", 1
        while path in busy:
            n += 1
            path = tmp_path / f"registry-{n}.db"
        return path

    async def start(**overrides: Any) -> Registry:
        overrides.setdefault("db_path", free_db_path())
        registry = Registry(config_for_tests(overrides))
        await registry.start()
        started.append(registry)
        return registry

    yield start
    for registry in reversed(started):
        await registry.stop(grace=0)


@pytest.fixture
async def registry(start_registry: StartRegistry) -> Registry:
    return await start_registry()


@pytest.fixture
async def channel(registry: Registry) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(registry.address) as ch:
        yield ch


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return config_for_tests({"db_path": tmp_path / "registry.db"})
