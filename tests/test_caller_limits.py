"""Watcher and subscriber slots have a per-caller share (token subject) besides the global limit,
so one caller cannot take every slot; and a stream cut for lagging gives its slot back at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from generated.registry.v1 import relay_service_pb2 as rpb
from registry.app import Registry
from tests.auth.support import Metadata, bearer, jwt_registry, token
from tests.conftest import StartRegistry
from tests.helpers.registry_api import error_info
from tests.helpers.relay_api import relay_stub
from tests.helpers.streams import StreamingCall, read


def _caller(name: str) -> Metadata:
    """Made when used: tokens live 60 s, and a long suite imports this module much earlier."""
    return bearer(token(name, "discover subscribe:#"))


SLOW_READER = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 64 * 1024)]


@pytest.fixture
async def limited(start_registry: StartRegistry) -> Registry:
    return await jwt_registry(
        start_registry,
        max_watchers=6,
        max_watchers_per_caller=3,
        max_subscribers=6,
        max_subscribers_per_caller=3,
    )


@pytest.fixture
async def channel_to(limited: Registry) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(limited.address) as channel:
        yield channel


async def _watch(channel: grpc.aio.Channel, metadata: Metadata) -> StreamingCall:
    call = pb_grpc.RegistryServiceStub(channel).Watch(pb.WatchRequest(), metadata=metadata)
    first = await asyncio.wait_for(read(call, pb.WatchResponse), 5)
    assert first.kind == pb.WATCH_RESPONSE_KIND_SNAPSHOT
    return call


async def _subscribe(channel: grpc.aio.Channel, metadata: Metadata) -> StreamingCall:
    call = relay_stub(channel).Subscribe(rpb.SubscribeRequest(), metadata=metadata)
    first = await asyncio.wait_for(read(call, rpb.SubscribeResponse), 5)
    assert first.WhichOneof("kind") == "started"
    return call


async def _open(kind: str, channel: grpc.aio.Channel, metadata: Metadata) -> StreamingCall:
    return await (_watch if kind == "watch" else _subscribe)(channel, metadata)


@pytest.mark.parametrize(
    ("kind", "reason"), [("watch", "TOO_MANY_WATCHERS"), ("subscribe", "TOO_MANY_SUBSCRIBERS")]
)
async def test_one_caller_cannot_take_every_slot(
    channel_to: grpc.aio.Channel, kind: str, reason: str
) -> None:
    greedy, other = _caller("greedy"), _caller("other")
    mine = [await _open(kind, channel_to, greedy) for _ in range(3)]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _open(kind, channel_to, greedy)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info = error_info(refused.value)
    assert (info.reason, info.metadata["limit"]) == (reason, "3")
    assert "'greedy'" in (refused.value.details() or "")
    theirs = [await _open(kind, channel_to, other) for _ in range(3)]  # the rest is others' to take
    mine.pop().cancel()  # a slot given back is the caller's to use again
    for _ in range(100):
        try:
            mine.append(await _open(kind, channel_to, greedy))
            break
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.02)  # until the cancellation reaches the registry
    assert len(mine) == 3
    for call in mine + theirs:
        call.cancel()


async def test_a_subscriber_cut_for_lagging_frees_its_slot_at_once(start_registry: StartRegistry) -> None:
    registry = await start_registry(event_subscriber_buffer=8, max_subscribers=1)
    async with (
        grpc.aio.insecure_channel(registry.address) as fast,
        grpc.aio.insecure_channel(registry.address, options=SLOW_READER) as slow,
    ):
        laggard = await _subscribe(slow, ())  # never reads again
        relay = relay_stub(fast)
        for _ in range(30):
            await relay.Publish(
                rpb.PublishRequest(envelope=epb.Envelope(name="load.tick", payload=b"x" * 32_768))
            )
        # The laggard was cut (its buffer of 8 overflowed) while its connection stays open:
        # the only slot is free for someone else at once.
        other = await _subscribe(fast, ())
        other.cancel()
        laggard.cancel()
