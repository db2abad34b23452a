"""Discovery against a real registry: the watch-fed cache, its filters (checked against the
registry's own Lookup), resuming after a registry restart, pickers, and the bound on watched
services."""

from __future__ import annotations

import asyncio
import collections
import random
import time

import grpc
import pytest

from client import (
    Filters,
    HealthStatus,
    Instance,
    InvalidArgumentError,
    Load,
    RegistryClient,
    RoundRobin,
    Weighted,
)
from client.discovery import LoadBoard
from client.pickers import LeastLoaded
from client.versions import parse_constraint, satisfies
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from registry.app import Registry
from registry.core import versions as server_versions
from registry.core.errors import InvalidArgument
from tests.client.conftest import FAST_BEATS, Connect, client_config
from tests.conftest import StartRegistry
from tests.helpers.registry_api import instance, register, stub
from tests.helpers.waiting import until


def ids(instances: list[Instance]) -> list[str]:
    return [i.instance_id for i in instances]


async def test_resolve_is_served_from_the_cache_once_warm(registry: Registry, connect: Connect) -> None:
    api = stub(grpc.aio.insecure_channel(registry.address))
    await register(api, "orders", "orders-1")
    client = await connect("caller")
    assert ids(await client.resolve("orders")) == ["orders-1"]

    await register(api, "orders", "orders-2")  # arrives by watch, not by asking
    view = client.discovery.view("orders")
    await until(lambda: "orders-2" in view.instances)

    started = time.perf_counter()
    for _ in range(10_000):
        await client.resolve("orders")
    per_call = (time.perf_counter() - started) / 10_000
    await registry.stop(grace=0)
    assert ids(await client.resolve("orders")) == ["orders-1", "orders-2"]  # no registry needed
    assert per_call < 200e-6, f"{per_call * 1e6:.1f} us per resolve: not a cache read"
    assert view.stats.snapshots == 1


async def test_cache_catches_up_after_a_registry_restart(
    start_registry: StartRegistry, registry: Registry
) -> None:
    api = stub(grpc.aio.insecure_channel(registry.address))
    await register(api, "orders", "orders-1")
    await register(api, "orders", "orders-2")
    client = RegistryClient(client_config(registry.address, "caller"))
    try:
        assert ids(await client.resolve("orders")) == ["orders-1", "orders-2"]
        view = client.discovery.view("orders")
        await registry.stop(grace=0)
        await until(lambda: view.stats.failures >= 1)

        restarted = await start_registry(port=registry.port)
        api = stub(grpc.aio.insecure_channel(restarted.address))
        await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="orders-2"))
        await register(api, "orders", "orders-3")
        await until(lambda: set(view.instances) == {"orders-1", "orders-3"})
        assert view.stats.resumes >= 1  # it asked to resume after its last revision
        assert view.revision >= restarted.catalog.revision - 1
    finally:
        await client.close()


FILTER_CASES = [
    Filters(),
    Filters(tags=("blue",)),
    Filters(tags=("blue", "canary")),
    Filters(version=">=1.2,<2"),
    Filters(version="~=1.4"),
    Filters(version="!=1.4.2"),
    Filters(metadata={"team": "checkout"}),
    Filters(zone="eu-1"),
    Filters(zone="eu-1", limit=2),
    Filters(statuses=frozenset({HealthStatus.UNKNOWN, HealthStatus.DRAINING})),
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=repr)
async def test_local_filters_answer_like_the_registry_lookup(
    registry: Registry, connect: Connect, filters: Filters
) -> None:
    api = stub(grpc.aio.insecure_channel(registry.address))
    shapes = [
        ("a", "1.2.0", ["blue"], {"team": "checkout"}, "eu-1", 100),
        ("b", "1.4.2", ["blue", "canary"], {}, "us-1", 300),
        ("c", "1.5.0-rc.1", [], {"team": "checkout"}, "eu-1", 0),
        ("d", "2.0.0", ["canary"], {"team": "search"}, "us-1", 50),
        ("e", "", ["blue"], {}, "", 100),
    ]
    for name, version, tags, metadata, zone, weight in shapes:
        await register(
            api, "orders", name, version=version, tags=tags, metadata=metadata, zone=zone, weight=weight
        )
    client = await connect("caller")
    local = await client.resolve("orders", filters)
    remote = await api.Lookup(
        pb.LookupRequest(
            service_name="orders",
            tags=list(filters.tags),
            version_constraint=filters.version,
            metadata=dict(filters.metadata),
            preferred_zone=filters.zone,
            statuses=[ipb.HealthStatus.ValueType(s) for s in filters.statuses],
            limit=filters.limit,
        )
    )
    assert ids(local) == [i.instance_id for i in remote.instances]


VERSIONS = [
    "0.9.0",
    "1.0.0-rc.1",
    "1.0.0",
    "1.2.0",
    "1.4.0",
    "1.4.2",
    "1.4.10",
    "1.5.0-alpha.2",
    "1.5.0",
    "2.0.0",
]
CONSTRAINTS = [
    ">=1.2,<2",
    "~=1.4",
    "~=1.4.2",
    "==1.4",
    "!=1.4.2",
    ">1.0.0-rc.1",
    "<=1.5.0-alpha.10",
    "<2",
    "==1",
]


@pytest.mark.parametrize("constraint", CONSTRAINTS)
def test_version_constraints_match_the_server_implementation(constraint: str) -> None:
    ours = parse_constraint(constraint)
    theirs = server_versions.parse_constraint(constraint, "version_constraint")
    for version in VERSIONS:
        expected = server_versions.satisfies(server_versions.parse_version(version, "v"), theirs)
        assert satisfies(version, ours) is expected, (constraint, version)


@pytest.mark.parametrize("bad", ["~=1", ">=", "1.2", ">=1.2-rc", ">=1.x"])
def test_bad_version_constraints_are_refused_like_the_server(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        server_versions.parse_constraint(bad, "version_constraint")
    with pytest.raises(InvalidArgumentError, match="version_constraint"):
        parse_constraint(bad)


def _instance(name: str, weight: int = 100) -> Instance:
    return Instance("orders", name, (), HealthStatus.HEALTHY, weight=weight)


def test_round_robin_takes_each_in_turn() -> None:
    candidates = [_instance("a"), _instance("b"), _instance("c")]
    picker = RoundRobin()
    assert ids([picker.pick(candidates) for _ in range(6)]) == ["a", "b", "c", "a", "b", "c"]


def test_weighted_follows_the_weights() -> None:
    candidates = [_instance("heavy", 300), _instance("light", 100)]
    picker = Weighted(random.Random(7))
    counts = collections.Counter(picker.pick(candidates).instance_id for _ in range(4000))
    assert 2.6 < counts["heavy"] / counts["light"] < 3.4


async def test_least_loaded_prefers_the_instance_reporting_less_load(connect: Connect) -> None:
    busy_client = await connect("orders", instance_id="busy")
    idle_client = await connect("orders", instance_id="idle")
    busy = await busy_client.register("127.0.0.1:9001", load=lambda: Load(in_flight=40), **FAST_BEATS)
    idle = await idle_client.register("127.0.0.1:9002", load=lambda: Load(in_flight=1), **FAST_BEATS)
    async with asyncio.timeout(3):
        await busy.wait_for_status()
        await idle.wait_for_status()
    caller = await connect("caller")
    board = LoadBoard(caller.transport, refresh=0.05)
    picker = LeastLoaded(board.load)
    candidates = await caller.resolve("orders")
    await until(lambda: board.load(candidates[0]) + board.load(candidates[1]) >= 41)
    assert {picker.pick(candidates).instance_id for _ in range(50)} == {"idle"}

    for _ in range(45):  # this client's own open calls count too
        board.begin(candidates[1] if candidates[1].instance_id == "idle" else candidates[0])
    assert {picker.pick(candidates).instance_id for _ in range(50)} == {"busy"}


async def test_watched_services_are_bounded(registry: Registry) -> None:
    api = stub(grpc.aio.insecure_channel(registry.address))
    for service in ("one", "two", "three"):
        await api.Register(pb.RegisterRequest(instance=instance(service, f"{service}-1")))
    client = RegistryClient(client_config(registry.address, "caller"), max_services=2)
    try:
        for service in ("one", "two", "three"):
            assert ids(await client.resolve(service)) == [f"{service}-1"]
        assert client.discovery.watched == ["two", "three"]  # the least recently resolved was dropped
    finally:
        await client.close()
