"""The REREGISTER that ends a removed instance's stream reaches the client before the status, even
when the stream's handler was cancelled in the middle of writing an ack (a client slow to read:
the ack's write waits on HTTP/2 flow control when the instance is removed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import registry_service_pb2 as pb
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import BeatStream, policy
from tests.helpers.registry_api import register, stub
from tests.helpers.streams import read
from tests.helpers.waiting import until

# A client that reads little ahead: its stream window stays small (no BDP growth), so a registry
# writing acks the client does not read blocks on flow control after a few dozen.
SLOW_READER = [("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]
INTERVAL = 0.01
BEATS = 150


class WrittenStream(BeatStream):
    """A BeatStream that tells when grpc has written every request given so far (`written`).

    The test waits for that before the instance is removed: a grpc client still writing when the
    server ends a bidirectional call may report "Internal error from Core" instead of what the
    server sent (grpc's client, whatever the server does), which is not what this test is about."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.written = asyncio.Event()
        super().__init__(channel)

    def all_written(self) -> bool:
        return self._requests.empty() and self.written.is_set()

    async def _iterate(self) -> AsyncIterator[hb.HeartbeatRequest]:
        while True:
            if self._requests.empty():
                self.written.set()  # grpc asks for the next request: the previous one is written
            request = await self._requests.get()
            self.written.clear()
            if request is None:
                return
            yield request


async def test_the_final_reregister_survives_a_write_blocked_on_a_slow_reader(
    start_registry: StartRegistry,
) -> None:
    registry = await start_registry()
    async with (
        grpc.aio.insecure_channel(registry.address) as control,
        grpc.aio.insecure_channel(registry.address, options=SLOW_READER) as slow,
    ):
        api = stub(control)
        await register(api, "orders", "orders-1", heartbeat_policy=policy(INTERVAL, 10))
        stream = WrittenStream(slow)
        await stream.bind("orders-1")
        for _ in range(BEATS):  # acks the client does not read, until the registry's writes block
            # With their send times, beats a busy registry reads in a bunch are paced as sent.
            stream.send_beat(time.time())
            await asyncio.sleep(INTERVAL / 2)
        await until(lambda: stream.all_written() or stream.call.done(), 10)
        assert not stream.call.done(), f"the stream ended early: {await stream.call.code()}"
        await api.Deregister(pb.DeregisterRequest(service_name="orders", instance_id="orders-1"))
        received: list[hb.HeartbeatResponse] = []
        try:
            async with asyncio.timeout(10):
                while True:
                    received.append(await read(stream.call, hb.HeartbeatResponse))
        except grpc.aio.AioRpcError as error:
            code, details = error.code(), error.details()
    kinds = [r.WhichOneof("kind") for r in received]
    assert code == grpc.StatusCode.NOT_FOUND, (details, kinds[-3:], len(kinds))
    assert kinds.count("ack") < BEATS, "the registry's writes never waited for the client"
    assert kinds[-1] == "directive", kinds[-5:]
    assert received[-1].directive.type == hb.DIRECTIVE_TYPE_REREGISTER
