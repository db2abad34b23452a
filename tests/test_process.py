"""The `registry serve` process itself: durability across kill -9, graceful SIGTERM, bad config."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from generated.registry.v1 import (
    envelope_pb2,
    instance_pb2,
    registry_service_pb2,
    registry_service_pb2_grpc,
    relay_service_pb2,
    relay_service_pb2_grpc,
)
from tests.helpers.process import running_server


def _instance(n: int) -> instance_pb2.Instance:
    return instance_pb2.Instance(
        service_name="orders",
        instance_id=f"orders-{n}",
        endpoints=[
            instance_pb2.Endpoint(
                host="10.0.0.1", port=9000 + n, protocol=instance_pb2.ENDPOINT_PROTOCOL_GRPC
            )
        ],
        version="1.2.3",
        metadata={"team": "checkout"},
    )


def test_registrations_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    with running_server(db) as server, grpc.insecure_channel(server.address) as ch:
        stub = registry_service_pb2_grpc.RegistryServiceStub(ch)
        for n in range(20):
            stub.Register(registry_service_pb2.RegisterRequest(instance=_instance(n)), timeout=5)
        before = stub.ListInstances(registry_service_pb2.ListInstancesRequest(), timeout=5)
        server.kill()  # SIGKILL right after the acks: no shutdown path runs
    assert len(before.instances) == 20

    with running_server(db) as server, grpc.insecure_channel(server.address) as ch:
        stub = registry_service_pb2_grpc.RegistryServiceStub(ch)
        after = stub.ListInstances(registry_service_pb2.ListInstancesRequest(), timeout=5)
        got = stub.GetInstance(
            registry_service_pb2.GetInstanceRequest(service_name="orders", instance_id="orders-7"), timeout=5
        )
    assert sorted(i.instance_id for i in after.instances) == sorted(i.instance_id for i in before.instances)
    assert got.instance.endpoints[0].port == 9007
    assert dict(got.instance.metadata) == {"team": "checkout"}
    assert got.instance.status == instance_pb2.HEALTH_STATUS_UNKNOWN
    assert after.revision > before.revision


def test_sigterm_drains_and_exits_cleanly(tmp_path: Path) -> None:
    with running_server(tmp_path / "registry.db", "--grace-seconds", "2") as server:
        with grpc.insecure_channel(server.address) as ch:
            stub = registry_service_pb2_grpc.RegistryServiceStub(ch)
            watch = iter(stub.Watch(registry_service_pb2.WatchRequest()))
            first = next(watch)
            assert first.kind == registry_service_pb2.WATCH_RESPONSE_KIND_SNAPSHOT
            code = server.terminate()
            with pytest.raises(grpc.RpcError) as ended:
                next(watch)
        assert code == 0
        assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "registry stopped" in server.output()


def test_bad_configuration_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli.main",
            "serve",
            "--port",
            "70000",
            "--db-path",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "port must be 0-65535" in result.stderr


def test_registrations_committed_together_survive_kill_9_in_flight(tmp_path: Path) -> None:
    """A thousand Registers kept in flight (each caller registers its next instance as soon as
    one is acknowledged) commit in shared transactions (group commit), each with its
    `registry.instance.started` event in the same transaction; kill -9 in the middle of the
    stream loses no registration that was acknowledged, nor its event."""
    db = tmp_path / "registry.db"
    acknowledged: list[str] = []
    in_flight, kill_after = 1000, 2000
    sent = 0
    killed = False

    async def flood(address: str) -> None:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = registry_service_pb2_grpc.RegistryServiceStub(channel)

            async def caller() -> None:
                nonlocal sent, killed
                while True:
                    n, sent = sent, sent + 1
                    try:
                        await stub.Register(
                            registry_service_pb2.RegisterRequest(instance=_instance(n)), timeout=20
                        )
                    except grpc.aio.AioRpcError as error:
                        if killed or error.code() != grpc.StatusCode.CANCELLED:
                            return  # the kill cuts the rest
                        continue  # grpc.aio cancels the odd call with a thousand on one connection

                    acknowledged.append(f"orders-{n}")
                    if len(acknowledged) == kill_after:
                        killed = True
                        server.kill()  # SIGKILL with a thousand registrations in flight

            await asyncio.gather(*(caller() for _ in range(in_flight)))

    with running_server(db) as server:
        asyncio.run(flood(server.address))
        commits = [int(n) for n in re.findall(r"registered new=(\d+)", server.output())]
    with running_server(db) as server, grpc.insecure_channel(server.address) as ch:
        stored = {i.instance_id for i in _all_instances(registry_service_pb2_grpc.RegistryServiceStub(ch))}
        announced = {
            e.headers["instance-id"] for e in _started_events(relay_service_pb2_grpc.RelayServiceStub(ch))
        }
    assert kill_after <= len(acknowledged) < sent
    assert set(acknowledged) <= stored
    assert set(acknowledged) <= announced, "an acknowledged registration has its started event"
    assert max(commits) > 1, "registrations were committed together"


def _all_instances(stub: registry_service_pb2_grpc.RegistryServiceStub) -> list[instance_pb2.Instance]:
    found: list[instance_pb2.Instance] = []
    token = ""
    while True:
        page = stub.ListInstances(
            registry_service_pb2.ListInstancesRequest(page_size=1000, page_token=token), timeout=5
        )
        found.extend(page.instances)
        token = page.next_page_token
        if not token:
            return found


def _started_events(relay: relay_service_pb2_grpc.RelayServiceStub) -> list[envelope_pb2.Envelope]:
    """Every stored `registry.instance.started` event."""
    found: list[envelope_pb2.Envelope] = []
    token = ""
    while True:
        page = relay.ListEvents(
            relay_service_pb2.ListEventsRequest(
                filter=relay_service_pb2.EventFilter(topics=["registry.instance.started"]),
                page_size=1000,
                page_token=token,
            ),
            timeout=5,
        )
        found.extend(page.events)
        token = page.next_page_token
        if not token:
            return found
