"""The failure table of docs/cluster.md, with real etcd members and real `registry serve` processes:
SIGKILL and SIGSTOP are the failure injectors, the SDK is the client."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import grpc
import pytest

from client import ClientConfig, RegistryClient
from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import relay_service_pb2 as rpb
from generated.registry.v1 import relay_service_pb2_grpc as rpb_grpc
from tests.helpers.etcd import EtcdCluster, etcd_cluster
from tests.helpers.heartbeats import health_stub
from tests.helpers.process import ServerProcess, start_server
from tests.helpers.registry_api import error_reason, register, stub

BAD = {pb.WATCH_EVENT_TYPE_REMOVED}
HEALTHY = 2
NOT_SERVING = {4, 5, 6}  # CRITICAL, DEAD, DRAINING: out of discovery


@pytest.fixture(scope="module")
def etcd3() -> Iterator[EtcdCluster]:
    with etcd_cluster(3) as cluster:
        yield cluster


@pytest.fixture
def start_replicas(
    etcd3: EtcdCluster, etcd_prefix: str, tmp_path: Path
) -> Iterator[Callable[..., list[ServerProcess]]]:
    started: list[ServerProcess] = []

    def start(count: int, *extra: str) -> list[ServerProcess]:
        replicas = []
        for index in range(count):
            folder = tmp_path / f"r{len(started)}"
            folder.mkdir()
            replica = start_server(
                folder / "registry.db",
                "--store=etcd",
                f"--etcd-endpoints={etcd3.endpoints}",
                f"--etcd-prefix={etcd_prefix}",
                f"--replica-id=r{len(started)}",
                "--etcd-lease-ttl=2",
                "--etcd-timeout=2",
                *extra,
            )
            started.append(replica)
            replicas.append(replica)
            del index
        return replicas

    yield start
    for replica in started:
        if replica.proc.poll() is None:
            replica.proc.send_signal(signal.SIGCONT)
            replica.kill()


@contextlib.asynccontextmanager
async def channel_to(replica: ServerProcess) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(replica.address) as channel:
        yield channel


class Recorder:
    """Every watch event of every service on one replica, from before the failure on."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.call = stub(channel).Watch(pb.WatchRequest())
        self.events: list[pb.WatchEvent] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for response in self.call:
            self.events.extend(response.events)

    def bad(self) -> list[str]:
        return [
            f"{pb.WatchEventType.Name(e.type)} {e.instance.instance_id} status={e.instance.status}"
            for e in self.events
            if e.type in BAD
            or (e.type == pb.WATCH_EVENT_TYPE_STATUS_CHANGED and e.instance.status in NOT_SERVING)
        ]

    def stop(self) -> None:
        self.call.cancel()
        self.task.cancel()


async def connected_on(channel: grpc.aio.Channel) -> set[str]:
    """Instances whose heartbeat stream is held by this replica."""
    found: set[str] = set()
    token = ""
    while True:
        page = await health_stub(channel).ListInstanceHealth(
            hb.ListInstanceHealthRequest(service_name="fleet", page_size=500, page_token=token)
        )
        found |= {h.instance_id for h in page.healths if h.stream_connected}
        token = page.next_page_token
        if not token:
            return found


async def counted(channel: grpc.aio.Channel, service: str, count: int) -> None:
    """Wait until this replica has applied `count` instances of `service` (replicas apply a
    write a few milliseconds apart)."""
    async with asyncio.timeout(5):
        while len((await stub(channel).Lookup(pb.LookupRequest(service_name=service))).instances) < count:
            await asyncio.sleep(0.01)


async def bound_across(channels: list[grpc.aio.Channel], everyone: set[str]) -> None:
    """Wait until every instance in `everyone` has its stream held by one of these replicas."""
    while True:
        held: set[str] = set()
        for channel in channels:
            held |= await connected_on(channel)
        if held == everyone:
            return
        await asyncio.sleep(0.1)


def sdk(addresses: list[str]) -> RegistryClient:
    config = ClientConfig(
        registry_url=",".join(addresses),
        service_name="fleet",
        backoff_base=0.05,
        backoff_cap=0.5,
        call_timeout=3.0,
    )
    return RegistryClient(config)


async def test_sigkill_of_a_replica_moves_its_instances_without_marking_any_down(
    start_replicas: Callable[..., list[ServerProcess]],
) -> None:
    a, b, c = start_replicas(3)
    clients = [sdk([a.address, b.address, c.address]) for _ in range(10)]
    try:
        async with channel_to(a) as ca, channel_to(b) as cb, channel_to(c) as cc:
            for index, client in enumerate(clients):
                await asyncio.gather(
                    *(
                        client.register(
                            "127.0.0.1:9000",
                            instance_id=f"i{index}-{n}",
                            heartbeat_interval=1.0,
                            heartbeat_timeout=30.0,
                            max_failures=10,  # 300 SDK instances share this test's one event loop:
                        )  # a starved loop must not pass for a failover defect
                        for n in range(30)
                    )
                )
            everyone = {f"i{i}-{n}" for i in range(10) for n in range(30)}
            async with asyncio.timeout(30):
                await bound_across([ca, cb, cc], everyone)
            on_a = await connected_on(ca)
            assert on_a, "round-robin put no stream on replica A"
            recorder = Recorder(cb)
            await asyncio.sleep(0.2)

            a.kill()
            killed = time.monotonic()
            async with asyncio.timeout(10):
                await bound_across([cb, cc], everyone)
                moved = time.monotonic() - killed
                while True:
                    found = await stub(cb).Lookup(pb.LookupRequest(service_name="fleet"))
                    if len(found.instances) == 300 and {i.status for i in found.instances} == {HEALTHY}:
                        break
                    await asyncio.sleep(0.1)
                healthy = time.monotonic() - killed
            await asyncio.sleep(max(0.0, 3 - healthy))  # past A's lease TTL: its owner keys are gone
            found = await stub(cc).Lookup(pb.LookupRequest(service_name="fleet"))
            recorder.stop()
        bad = recorder.bad()
        assert bad == [], [line for r in (a, b, c) for line in r.output().splitlines() if "critical" in line]
        assert len(found.instances) == 300
        assert not {i.status for i in found.instances} & NOT_SERVING  # a late beat may degrade one
        print(
            f"{len(on_a)} instances moved off the killed replica in {moved:.2f} s, healthy in {healthy:.2f} s"
        )
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()


async def test_sigkill_of_one_etcd_member_goes_unnoticed(
    start_replicas: Callable[..., list[ServerProcess]], etcd3: EtcdCluster
) -> None:
    a, b = start_replicas(2)
    client = sdk([a.address, b.address])
    try:
        async with channel_to(a) as ca, channel_to(b) as cb:
            await client.register("127.0.0.1:9000", instance_id="steady", heartbeat_interval=0.2)
            recorder = Recorder(cb)
            member = etcd3.members[0]
            member.kill()
            try:
                for n in range(20):
                    await register(stub(ca if n % 2 else cb), "orders", f"o{n}")
                    await client.publish("fleet.tick", {"n": n})
                await asyncio.sleep(1.0)
                found = await stub(ca).Lookup(pb.LookupRequest(service_name="orders"))
                steady = await stub(cb).Lookup(pb.LookupRequest(service_name="fleet"))
            finally:
                recorder.stop()
                etcd3.restart(member)
        assert len(found.instances) == 20
        assert [i.status for i in steady.instances] == [HEALTHY]
        assert recorder.bad() == []
    finally:
        await client.close()


async def test_without_quorum_writes_fail_clearly_reads_go_on_and_nothing_acknowledged_is_lost(
    start_replicas: Callable[..., list[ServerProcess]], etcd3: EtcdCluster
) -> None:
    a, b = start_replicas(2)
    async with channel_to(a) as ca, channel_to(b) as cb:
        for n in range(5):
            await register(stub(ca), "orders", f"o{n}")
        await counted(cb, "orders", 5)
        watch = stub(cb).Watch(pb.WatchRequest(service_names=["orders"]))
        first = await watch.read()
        assert isinstance(first, pb.WatchResponse)
        assert len(first.events) == 5
        stopped = etcd3.members[1:]
        for member in stopped:
            member.signal(signal.SIGSTOP)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await register(stub(ca), "orders", "during")
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_reason(refused.value) in {"STORE_UNAVAILABLE", "REPLICA_FENCED"}
            # Once its lease has run out, a replica says so; each runs out on its own last
            # keep-alive, so A may say it a keep-alive interval after B.
            async with asyncio.timeout(10):
                for channel in (cb, ca):
                    while True:
                        call = stub(channel).Lookup(pb.LookupRequest(service_name="orders"))
                        found = await call
                        assert len(found.instances) == 5  # the last known catalog, all along
                        if ("registry-catalog-stale", "true") in tuple(await call.trailing_metadata() or ()):
                            break
                        await asyncio.sleep(0.2)
            fresh = stub(ca).Watch(pb.WatchRequest(service_names=["orders"]))
            snapshot = await fresh.read()
            assert isinstance(snapshot, pb.WatchResponse)
            assert len(snapshot.events) == 5
            assert ("registry-catalog-stale", "true") in tuple(await fresh.initial_metadata() or ())
            fresh.cancel()
        finally:
            for member in stopped:
                member.signal(signal.SIGCONT)
        async with asyncio.timeout(20):
            while True:
                try:
                    await register(stub(ca), "orders", "after")
                    break
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.2)
        async with asyncio.timeout(20):  # B has rejoined (no longer stale) and has A's last write
            while True:
                call = stub(cb).Lookup(pb.LookupRequest(service_name="orders"))
                found = await call
                stale = ("registry-catalog-stale", "true") in tuple(await call.trailing_metadata() or ())
                if not stale and "after" in {i.instance_id for i in found.instances}:
                    break
                await asyncio.sleep(0.2)
        watch.cancel()
    # "during" was refused, yet etcd may still commit it once quorum returns (an unanswered write
    # has no known outcome, as with any replicated store): Register is idempotent, retry it.
    assert {i.instance_id for i in found.instances} - {"during"} == {*(f"o{n}" for n in range(5)), "after"}


class Subscriber:
    """A raw Subscribe on one replica that, when its replica dies, resumes on the next one after
    the last sequence it was given (what the SDK does by itself)."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self.received: list[tuple[int, str]] = []
        self.resume_after = 0
        self.moves = 0
        self.started = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        for address in self.addresses:
            async with grpc.aio.insecure_channel(address) as channel:
                request = rpb.SubscribeRequest(filter=rpb.EventFilter(topics=["fleet.#"]))
                if self.resume_after:
                    request.after_sequence = self.resume_after
                call = rpb_grpc.RelayServiceStub(channel).Subscribe(request)
                try:
                    async for response in call:
                        if response.WhichOneof("kind") == "started":
                            self.started.set()
                        else:
                            self.received.append((response.event.sequence, response.event.id))
                        self.resume_after = max(self.resume_after, response.resume_after_sequence)
                except grpc.aio.AioRpcError:
                    self.moves += 1


async def test_events_from_every_replica_reach_subscribers_on_every_replica_across_a_sigkill(
    start_replicas: Callable[..., list[ServerProcess]],
) -> None:
    a, b, c = start_replicas(3)
    subscribers = [
        Subscriber([a.address, b.address]),
        Subscriber([b.address]),
        Subscriber([c.address]),
    ]
    async with asyncio.timeout(10):
        for subscriber in subscribers:
            await subscriber.started.wait()
    published: list[str] = []

    async def publish_on(replica: ServerProcess, numbers: range) -> None:
        async with channel_to(replica) as channel:
            relay = rpb_grpc.RelayServiceStub(channel)
            for n in numbers:
                envelope = epb.Envelope(
                    type=epb.MESSAGE_TYPE_EVENT, name="fleet.tick", payload=str(n).encode()
                )
                answer = await relay.Publish(rpb.PublishRequest(envelope=envelope))
                published.append(answer.event_id)

    await asyncio.gather(
        publish_on(a, range(0, 500, 3)), publish_on(b, range(1, 500, 3)), publish_on(c, range(2, 500, 3))
    )
    a.kill()
    await asyncio.gather(publish_on(b, range(500, 1000, 2)), publish_on(c, range(501, 1000, 2)))
    async with asyncio.timeout(20):
        while any(len({i for _, i in s.received}) < 1000 for s in subscribers):
            await asyncio.sleep(0.05)
    for subscriber in subscribers:
        subscriber.task.cancel()
    assert len(set(published)) == 1000
    orders = []
    for subscriber in subscribers:
        ids = {i for _, i in subscriber.received}
        assert ids == set(published)  # all of them, none lost
        sequences = [s for s, _ in subscriber.received]
        assert sequences == sorted(sequences)  # one order (a resume may repeat, never reorder)
        orders.append(sorted(set(subscriber.received)))
    assert orders[0] == orders[1] == orders[2]  # the same order everywhere
    assert subscribers[0].moves == 1  # its replica was killed and it resumed on another


async def test_a_replica_paused_past_its_lease_loses_its_instances_and_rejoins_without_flapping(
    start_replicas: Callable[..., list[ServerProcess]],
) -> None:
    a, b, c = start_replicas(3)
    clients = [sdk([a.address, b.address, c.address]) for _ in range(3)]
    try:
        async with channel_to(a) as ca, channel_to(b) as cb, channel_to(c) as cc:
            for index, client in enumerate(clients):
                for n in range(10):
                    # A timeout above the SDK's keepalive detection (10 s + 5 s) of a silent replica.
                    await client.register(
                        "127.0.0.1:9000",
                        instance_id=f"p{index}-{n}",
                        heartbeat_interval=1.0,
                        heartbeat_timeout=40,
                    )
            everyone = {f"p{i}-{n}" for i in range(3) for n in range(10)}
            async with asyncio.timeout(30):
                await bound_across([ca, cb, cc], everyone)
            on_a = await connected_on(ca)
            assert on_a, "round-robin put no stream on replica A"
            recorder = Recorder(cb)
            a.proc.send_signal(signal.SIGSTOP)  # cut off from etcd and from its clients alike
            try:  # the SDK notices a replica that stopped acknowledging within ~5 s and moves
                async with asyncio.timeout(30):
                    await bound_across([cb, cc], everyone)
            finally:
                a.proc.send_signal(signal.SIGCONT)
            async with asyncio.timeout(10):
                while "replica rejoined with a new lease" not in a.output():
                    await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # it stays quiet after rejoining
            found = await stub(ca).Lookup(pb.LookupRequest(service_name="fleet"))
            still = await connected_on(ca)
            recorder.stop()
        assert "replica fenced" in a.output()
        assert recorder.bad() == []
        assert len(found.instances) == 30
        assert not {i.status for i in found.instances} & NOT_SERVING
        assert still == set()  # it took nothing back: its old clients stay where they moved
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()


async def test_all_replicas_restarted_at_once_lose_no_registration_and_mark_nobody_down(
    start_replicas: Callable[..., list[ServerProcess]],
) -> None:
    first = start_replicas(3)
    addresses = [r.address for r in first]
    clients = [sdk(addresses) for _ in range(3)]
    try:
        for index, client in enumerate(clients):
            for n in range(10):
                await client.register("127.0.0.1:9000", instance_id=f"r{index}-{n}", heartbeat_interval=1.0)
        everyone = {f"r{i}-{n}" for i in range(3) for n in range(10)}
        for replica in first:
            replica.kill()
        again = [start_replicas(1, f"--port={address.rpartition(':')[2]}")[0] for address in addresses]
        async with channel_to(again[0]) as c0, channel_to(again[1]) as c1, channel_to(again[2]) as c2:
            recorder = Recorder(c1)
            async with asyncio.timeout(20):
                await bound_across([c0, c1, c2], everyone)
                while True:
                    found = await stub(c2).Lookup(pb.LookupRequest(service_name="fleet"))
                    if {i.status for i in found.instances} == {HEALTHY}:
                        break
                    await asyncio.sleep(0.1)
            recorder.stop()
        assert {i.instance_id for i in found.instances} == everyone  # no registration lost
        assert recorder.bad() == []
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
