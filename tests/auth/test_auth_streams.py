"""Streams are authenticated when they open and end with UNAUTHENTICATED when the token expires;
the documented refresh is to reopen with a fresh token (Watch: after_revision; Heartbeat:
take_over). Tokens here live 1-2 s, the shortest a whole-second `exp` allows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import registry_service_pb2 as pb
from tests.auth.support import bearer, jwt_registry, refused, token
from tests.conftest import StartRegistry
from tests.helpers.registry_api import instance, stub
from tests.helpers.streams import read

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
SNAPSHOT = pb.WATCH_RESPONSE_KIND_SNAPSHOT
EVENTS = pb.WATCH_RESPONSE_KIND_EVENTS


@pytest.fixture
async def channel(start_registry: StartRegistry) -> AsyncIterator[grpc.aio.Channel]:
    registry = await jwt_registry(start_registry)
    async with grpc.aio.insecure_channel(registry.address) as ch:
        yield ch


def short_lived(service: str, scope: str) -> tuple[str, int]:
    """A token expiring 1-2 s from now, and its `exp`."""
    exp = int(time.time()) + 2
    return token(service, scope=scope, exp=exp), exp


async def register(channel: grpc.aio.Channel, service: str, instance_id: str) -> int:
    request = pb.RegisterRequest(instance=instance(service, instance_id))
    response = await stub(channel).Register(request, metadata=bearer(token(service, scope="")))
    return response.instance.mod_revision


async def test_watch_ends_with_unauthenticated_when_its_token_expires(channel: grpc.aio.Channel) -> None:
    value, exp = short_lived("orders", "discover")
    watch = stub(channel).Watch(pb.WatchRequest(service_names=["billing"]), metadata=bearer(value))
    assert (await read(watch, pb.WatchResponse)).kind == SNAPSHOT
    revision = await register(channel, "billing", "billing-1")
    live = await read(watch, pb.WatchResponse)
    assert (live.kind, live.revision) == (EVENTS, revision)  # served normally until expiry

    error = await refused(watch.read(), UNAUTHENTICATED, "TOKEN_EXPIRED")
    ended = time.time()
    assert exp <= ended < exp + 1.0, f"ended {ended - exp:+.3f} s from exp"
    assert "reopen it with a fresh token" in (error.details() or "")
    # The same token, verified (and cached) when the stream opened, is refused on a new call too.
    again = stub(channel).ListServices(pb.ListServicesRequest(), metadata=bearer(value))
    await refused(again, UNAUTHENTICATED, "TOKEN_EXPIRED")

    # The refresh: reopen with a fresh token after the last revision seen; nothing is missed.
    missed = await register(channel, "billing", "billing-2")
    fresh = token("orders", scope="discover")
    request = pb.WatchRequest(service_names=["billing"], after_revision=live.revision)
    resumed = stub(channel).Watch(request, metadata=bearer(fresh))
    replay = await read(resumed, pb.WatchResponse)
    resumed.cancel()
    assert (replay.kind, [e.instance.instance_id for e in replay.events]) == (EVENTS, ["billing-2"])
    assert replay.revision == missed


class BeatStream:
    """A Heartbeat stream whose requests the test sends one at a time."""

    def __init__(self, channel: grpc.aio.Channel, value: str) -> None:
        self._requests: asyncio.Queue[hb.HeartbeatRequest] = asyncio.Queue()
        self.call = hb_grpc.HeartbeatServiceStub(channel).Heartbeat(self._send(), metadata=bearer(value))

    async def _send(self) -> AsyncIterator[hb.HeartbeatRequest]:
        while True:
            yield await self._requests.get()

    async def bind(self, instance_id: str, *, take_over: bool = False) -> None:
        bind = hb.HeartbeatBind(service_name="orders", instance_id=instance_id, take_over=take_over)
        self._requests.put_nowait(hb.HeartbeatRequest(bind=bind))
        assert (await read(self.call, hb.HeartbeatResponse)).WhichOneof("kind") == "bound"

    async def beat(self, sequence: int) -> None:
        self._requests.put_nowait(hb.HeartbeatRequest(beat=hb.Beat(sequence=sequence)))
        assert (await read(self.call, hb.HeartbeatResponse)).WhichOneof("kind") == "ack"


async def test_heartbeat_ends_with_unauthenticated_when_its_token_expires(channel: grpc.aio.Channel) -> None:
    await register(channel, "orders", "orders-1")
    value, exp = short_lived("orders", "")
    stream = BeatStream(channel, value)
    await stream.bind("orders-1")
    await stream.beat(1)

    error = await refused(stream.call.read(), UNAUTHENTICATED, "TOKEN_EXPIRED")
    assert exp <= time.time() < exp + 1.0
    assert "reopen it with a fresh token" in (error.details() or "")


async def test_heartbeat_refresh_by_take_over_before_expiry(channel: grpc.aio.Channel) -> None:
    await register(channel, "orders", "orders-1")
    value, _ = short_lived("orders", "")
    old = BeatStream(channel, value)
    await old.bind("orders-1")

    renewed = BeatStream(channel, token("orders", scope=""))
    await renewed.bind("orders-1", take_over=True)
    await renewed.beat(1)
    with pytest.raises(grpc.aio.AioRpcError) as replaced:
        await old.call.read()
    assert replaced.value.code() != UNAUTHENTICATED  # ended by the take-over, not by expiry
    renewed.call.cancel()


async def test_streams_without_a_token_are_refused_with_the_right_cardinality(
    channel: grpc.aio.Channel,
) -> None:
    """Watch is server-streaming and Heartbeat bidirectional: each gets a refusal of its own shape."""
    watch = stub(channel).Watch(pb.WatchRequest())
    await refused(watch.read(), UNAUTHENTICATED, "TOKEN_MISSING")
    # grpc.aio allows a bidi call without a request iterator (the caller writes instead); grpc-stubs
    # does not know that.
    heartbeat = hb_grpc.HeartbeatServiceStub(channel).Heartbeat()  # type: ignore[call-arg]
    await refused(heartbeat.read(), UNAUTHENTICATED, "TOKEN_MISSING")
    watch_denied = stub(channel).Watch(pb.WatchRequest(), metadata=bearer(token(scope="")))
    await refused(watch_denied.read(), grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")


async def test_one_caller_cannot_take_every_heartbeat_slot(start_registry: StartRegistry) -> None:
    """A token without scopes opens streams that never bind: it gets its own share of the slots
    and no more, so other services still bind."""
    registry = await jwt_registry(start_registry, max_heartbeat_streams=3, max_heartbeat_streams_per_caller=2)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        await register(channel, "orders", "orders-1")
        idle = [BeatStream(channel, token("intruder", scope="")) for _ in range(2)]
        async with asyncio.timeout(5):
            while registry.liveness.open_streams < 2:  # the registry holds both slots
                await asyncio.sleep(0.01)
        third = BeatStream(channel, token("intruder", scope=""))
        await refused(third.call.read(), grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS")
        orders = BeatStream(channel, token("orders", scope=""))
        await orders.bind("orders-1")
        await orders.beat(1)
        for stream in idle:
            stream.call.cancel()
