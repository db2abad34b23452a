"""Shared fixtures: a real registry on an ephemeral loopback port, and channels to it.

Nothing of ours is mocked: the fixture runs the same `Registry` composition root that
`registry serve` runs, on a fresh SQLite file per test.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from registry.app import Registry
from registry.config import Config, config_for_tests
from tests.helpers.jaeger import Jaeger, running_jaeger

StartRegistry = Callable[..., Coroutine[Any, Any, Registry]]


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_error_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test during which the registry (or gRPC inside it) logs at ERROR or above: no
    client input may produce an ERROR line or a traceback. A test that breaks the registry's own
    machinery on purpose (a broken key file, a failing callback) says so with
    `@pytest.mark.allow_error_logs`. The SDK's loggers (`client.*`) are not the registry's."""
    handler = _ErrorRecords()
    handler.addFilter(lambda record: record.name.split(".")[0] in ("registry", "grpc", "grpc._cython"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if request.node.get_closest_marker("allow_error_logs") is None and handler.records:
        lines = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in handler.records[:5]]
        pytest.fail("the registry logged at ERROR:\n" + "\n".join(lines), pytrace=False)


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


@pytest.fixture(scope="session")
def jaeger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaeger]:
    """One real Jaeger (in-memory) for the whole run; tests tell their traces apart by trace id."""
    with running_jaeger(tmp_path_factory.mktemp("jaeger")) as instance:
        yield instance


@pytest.fixture(scope="session")
def etcd_endpoints() -> Iterator[str]:
    """One real etcd member for the whole session (tests isolate themselves by key prefix)."""
    from tests.helpers.etcd import ETCD, etcd_cluster  # noqa: PLC0415 - only tests that need etcd

    if not Path(ETCD).exists():
        pytest.fail("etcd is not installed: run `make etcd` (Debian etcd-server)")
    with etcd_cluster(1) as cluster:
        yield cluster.endpoints


@pytest.fixture
def etcd_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test's own in the shared etcd."""
    return f"/t/{request.node.name}-{time.monotonic_ns()}".replace("[", "-").replace("]", "")
