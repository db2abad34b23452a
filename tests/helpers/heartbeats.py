"""Driving Heartbeat streams and watching status changes from a test, over real channels."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import grpc
from google.protobuf import duration_pb2

from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import heartbeat_service_pb2_grpc as hb_grpc
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from tests.helpers.registry_api import Stub
from tests.helpers.streams import EOF, read, read_or_end

STEP = 5.0
"""Seconds any single expected response or event may take before a test fails."""

HEALTHY = ipb.HEALTH_STATUS_HEALTHY
DEGRADED = ipb.HEALTH_STATUS_DEGRADED
CRITICAL = ipb.HEALTH_STATUS_CRITICAL
DEAD = ipb.HEALTH_STATUS_DEAD
UNKNOWN = ipb.HEALTH_STATUS_UNKNOWN
DRAINING = ipb.HEALTH_STATUS_DRAINING


def duration(seconds: float) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromNanoseconds(round(seconds * 1e9))
    return message


def policy(interval: float, timeout: float, max_failures: int = 3) -> ipb.HeartbeatPolicy:
    return ipb.HeartbeatPolicy(
        interval=duration(interval), timeout=duration(timeout), max_failures=max_failures
    )


def health_stub(channel: grpc.aio.Channel) -> hb_grpc.HeartbeatServiceAsyncStub:
    return hb_grpc.HeartbeatServiceStub(channel)


async def health_of(
    channel: grpc.aio.Channel, instance_id: str, service: str = "orders"
) -> hb.InstanceHealth:
    request = hb.GetInstanceHealthRequest(service_name=service, instance_id=instance_id)
    return (await health_stub(channel).GetInstanceHealth(request)).health


async def summary(channel: grpc.aio.Channel) -> hb.GetHealthSummaryResponse:
    return await health_stub(channel).GetHealthSummary(hb.GetHealthSummaryRequest())


class BeatStream:
    """One Heartbeat call whose requests the test sends one by one."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._requests: asyncio.Queue[hb.HeartbeatRequest | None] = asyncio.Queue()
        self.call = health_stub(channel).Heartbeat(self._iterate())
        self.sequence = 0

    async def _iterate(self) -> AsyncIterator[hb.HeartbeatRequest]:
        while (request := await self._requests.get()) is not None:
            yield request

    def send(self, request: hb.HeartbeatRequest) -> None:
        self._requests.put_nowait(request)

    async def read(self) -> hb.HeartbeatResponse:
        async with asyncio.timeout(STEP):
            return await read(self.call, hb.HeartbeatResponse)

    async def bind(
        self, instance_id: str, service: str = "orders", *, take_over: bool = False
    ) -> hb.HeartbeatBound:
        self.send(
            hb.HeartbeatRequest(
                bind=hb.HeartbeatBind(service_name=service, instance_id=instance_id, take_over=take_over)
            )
        )
        response = await self.read()
        assert response.WhichOneof("kind") == "bound", response
        return response.bound

    def send_beat(self, sent_at: float | None = None) -> None:
        """Send the next beat (with `sent_at`, Unix seconds, as its send time) without waiting."""
        self.sequence += 1
        beat = hb.Beat(sequence=self.sequence)
        if sent_at is not None:
            beat.send_time.FromNanoseconds(round(sent_at * 1e9))
        self.send(hb.HeartbeatRequest(beat=beat))

    async def beat(self, rtt_ms: float | None = None, load: hb.Load | None = None) -> hb.BeatAck:
        """Send the next beat and return its ack (skipping directives, which `directives` keeps)."""
        self.sequence += 1
        beat = hb.Beat(sequence=self.sequence)
        if rtt_ms is not None:
            beat.last_rtt.CopyFrom(duration(rtt_ms / 1000))
        if load is not None:
            beat.load.CopyFrom(load)
        self.send(hb.HeartbeatRequest(beat=beat))
        while True:
            response = await self.read()
            if response.WhichOneof("kind") == "ack":
                assert response.ack.sequence == self.sequence
                return response.ack

    def goodbye(self, reason: int) -> None:
        self.send(hb.HeartbeatRequest(goodbye=hb.HeartbeatGoodbye(reason=reason)))  # type: ignore[arg-type]

    def close(self) -> None:
        """Half-close without a goodbye."""
        self._requests.put_nowait(None)

    async def error(self) -> grpc.aio.AioRpcError:
        """Read until the stream fails; the error."""
        try:
            async with asyncio.timeout(STEP):
                while await self.call.read() is not EOF:
                    pass
        except grpc.aio.AioRpcError as error:
            return error
        raise AssertionError(f"the stream ended with {await self.call.code()}, not an error")


async def bound_stream(channel: grpc.aio.Channel, instance_id: str, service: str = "orders") -> BeatStream:
    """A stream bound to an instance, with one beat sent (so the instance is HEALTHY)."""
    stream = BeatStream(channel)
    await stream.bind(instance_id, service)
    await stream.beat()
    return stream


class Watch:
    """A RegistryService.Watch whose events (after the snapshot) are collected with arrival times."""

    def __init__(self, api: Stub, services: list[str] | None = None) -> None:
        self._call = api.Watch(pb.WatchRequest(service_names=services or []))
        self._events: asyncio.Queue[tuple[float, pb.WatchEvent]] = asyncio.Queue()
        self.seen: list[pb.WatchEvent] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Watch:
        first = await read(self._call, pb.WatchResponse)
        assert first.kind == pb.WATCH_RESPONSE_KIND_SNAPSHOT
        assert not first.snapshot_continues
        self._task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        while (response := await read_or_end(self._call, pb.WatchResponse)) is not None:
            for event in response.events:
                self.seen.append(event)
                self._events.put_nowait((time.monotonic(), event))

    async def next(
        self, matches: Callable[[pb.WatchEvent], bool] = lambda _: True, within: float = STEP
    ) -> tuple[float, pb.WatchEvent]:
        """The next event that `matches` (skipping others) and when it arrived."""
        async with asyncio.timeout(within):
            while True:
                arrived, event = await self._events.get()
                if matches(event):
                    return arrived, event

    def status_changes(self, instance_id: str) -> list[int]:
        return [
            e.instance.status
            for e in self.seen
            if e.type == pb.WATCH_EVENT_TYPE_STATUS_CHANGED and e.instance.instance_id == instance_id
        ]

    def types(self, instance_id: str) -> list[int]:
        return [e.type for e in self.seen if e.instance.instance_id == instance_id]

    def stop(self) -> None:
        self._call.cancel()


def status_is(instance_id: str, status: int) -> Callable[[pb.WatchEvent], bool]:
    def matches(event: pb.WatchEvent) -> bool:
        return (
            event.type == pb.WATCH_EVENT_TYPE_STATUS_CHANGED
            and event.instance.instance_id == instance_id
            and event.instance.status == status
        )

    return matches


def removed(instance_id: str) -> Callable[[pb.WatchEvent], bool]:
    def matches(event: pb.WatchEvent) -> bool:
        return event.type == pb.WATCH_EVENT_TYPE_REMOVED and event.instance.instance_id == instance_id

    return matches
