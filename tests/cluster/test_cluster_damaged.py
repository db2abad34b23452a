"""Damaged values under the registry's etcd prefix, written by hand with the real `etcdctl`: a
replica starts and keeps following the store, skipping each with a WARNING naming the key; a
damaged instance value counts as absent on every replica, and the instance's next registration
replaces it; a damaged event is skipped by the follower and by reads. A damaged shared delivery
key cannot be skipped: `registry serve` refuses to start with one line and exit status 2."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import relay_service_pb2 as pb
from registry.app import Registry
from tests.conftest import StartRegistry
from tests.helpers.registry_api import register, stub
from tests.helpers.relay_api import relay_stub
from tests.test_relay_events import Subscriber

WAIT = 10.0


def etcdctl(endpoints: str, *args: str | bytes) -> None:
    subprocess.run(
        ["etcdctl", "--endpoints", endpoints, *args],
        check=True,
        capture_output=True,
        env={**os.environ, "ETCDCTL_API": "3"},
        timeout=30,
    )


def warnings_about(caplog: pytest.LogCaptureFixture, key: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING
        and "unreadable" in r.getMessage()
        and key in str(r.__dict__.get("key"))
    ]


async def until_absent(replica: Registry, instance_id: str, absent: bool = True) -> None:
    async with asyncio.timeout(WAIT):
        while (replica.catalog.find(("orders", instance_id)) is None) != absent:
            await asyncio.sleep(0.01)


async def test_damaged_instance_values_are_skipped_at_start_and_in_the_watch(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = f"{etcd_prefix}/instances/orders"
    etcdctl(etcd_endpoints, "put", f"{root}/broken", '{"service_name": "orders", "endpo')
    etcdctl(etcd_endpoints, "put", f"{root}/not-an-object", "[1, 2, 3]")
    etcdctl(etcd_endpoints, "put", f"{root}/".encode() + b"not-utf8-\xff", "{}")  # a key no one registers
    settings = {"store": "etcd", "etcd_endpoints": etcd_endpoints, "etcd_prefix": etcd_prefix}
    replica = await start_registry(**settings)
    other = await start_registry(**settings)
    assert warnings_about(caplog, f"{root}/broken")
    assert warnings_about(caplog, f"{root}/not-an-object")
    assert warnings_about(caplog, f"{root}/not-utf8-\\ufffd")
    async with grpc.aio.insecure_channel(replica.address) as channel:
        registry = stub(channel)
        await register(registry, "orders", "orders-1")
        await register(registry, "orders", "orders-2")
        await until_absent(other, "orders-1", absent=False)

        # A value written over a live instance: both replicas drop it, with a warning, and go on.
        written = json.loads(json.dumps({"service_name": "orders", "instance_id": "orders-1", "weight": "x"}))
        etcdctl(etcd_endpoints, "put", f"{root}/orders-1", json.dumps(written))
        await until_absent(replica, "orders-1")
        await until_absent(other, "orders-1")
        assert warnings_about(caplog, f"{root}/orders-1")
        etcdctl(etcd_endpoints, "put", f"{root}/".encode() + b"\xfe\xff", "x")
        await register(registry, "orders", "orders-3")  # the watch still applies changes
        await until_absent(other, "orders-3", absent=False)
        assert other.catalog.find(("orders", "orders-2")) is not None

        # The instance's next registration replaces the damaged value (known from the watch, or
        # from the start-up read).
        assert (await register(registry, "orders", "orders-1")).created
        assert (await register(registry, "orders", "broken")).created
        await until_absent(other, "orders-1", absent=False)
        await until_absent(other, "broken", absent=False)


async def test_a_damaged_event_is_skipped_by_the_follower_and_by_reads(
    start_registry: StartRegistry, etcd_endpoints: str, etcd_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    replica = await start_registry(store="etcd", etcd_endpoints=etcd_endpoints, etcd_prefix=etcd_prefix)
    async with grpc.aio.insecure_channel(replica.address) as channel:
        relay = relay_stub(channel)
        subscriber = Subscriber(channel, pb.SubscribeRequest(filter=pb.EventFilter(topics=["ticks.#"])))
        await subscriber.started()
        before = await relay.Publish(pb.PublishRequest(envelope=epb.Envelope(name="ticks.before")))
        # A key that sorts after the real ones (a far-future time) and a value that is no event.
        damaged = f"{etcd_prefix}/events/99999999999999999999-by-hand"
        etcdctl(etcd_endpoints, "put", damaged, '{"name": "ticks.x", "payload": "zz"}')
        after = await relay.Publish(pb.PublishRequest(envelope=epb.Envelope(name="ticks.after")))
        assert [e.sequence for e in await subscriber.events(2)] == [before.sequence, after.sequence]
        listed = await relay.ListEvents(pb.ListEventsRequest(filter=pb.EventFilter(topics=["ticks.#"])))
        assert [e.sequence for e in listed.events] == [before.sequence, after.sequence]
        subscriber.cancel()
    assert warnings_about(caplog, damaged)


def test_a_damaged_delivery_key_refuses_start_with_one_line(
    etcd_endpoints: str, etcd_prefix: str, tmp_path: Path
) -> None:
    etcdctl(etcd_endpoints, "put", f"{etcd_prefix}/keys/delivery", "PRIVATE KEY, damaged")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.cli.main",
            "serve",
            "--port=0",
            f"--db-path={tmp_path / 'registry.db'}",
            "--store=etcd",
            f"--etcd-endpoints={etcd_endpoints}",
            f"--etcd-prefix={etcd_prefix}",
            "--log-level=ERROR",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "REGISTRY_AUTH_MODE": "off"},
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{etcd_prefix}/keys/delivery" in lines[0]
    assert "not an Ed25519 private key" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
