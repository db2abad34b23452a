"""Publish, Subscribe and ListEvents against a real registry: the durable log, filters, resume,
priority under lag, the slow-subscriber cut, retention and lifecycle events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence

import grpc
import pytest
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import heartbeat_service_pb2 as hb
from generated.registry.v1 import registry_service_pb2 as rpb
from generated.registry.v1 import relay_service_pb2 as pb
from registry.app import Registry
from tests.conftest import StartRegistry
from tests.helpers.heartbeats import BeatStream
from tests.helpers.registry_api import bad_request_fields, register, stub
from tests.helpers.relay_api import relay_stub
from tests.helpers.streams import read_or_end

STEP = 5.0
BIG = b"x" * 32 * 1024
SLOW_READER = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 64 * 1024)]
"""A subscriber that takes at most 64 KiB (two BIG events) ahead of what it reads, so the registry
buffers the rest: how a slow consumer looks from the server."""


def event(name: str, priority: int = 0, payload: bytes = b"", **fields: str) -> pb.PublishRequest:
    return pb.PublishRequest(envelope=epb.Envelope(name=name, priority=priority, payload=payload, **fields))  # type: ignore[arg-type]


async def publish_all(
    channel: grpc.aio.Channel, requests: Sequence[pb.PublishRequest], source: str = ""
) -> list[int]:
    relay = relay_stub(channel)
    metadata = [("x-source-service", source)] if source else []
    return [(await relay.Publish(r, metadata=metadata, timeout=STEP)).sequence for r in requests]


class Subscriber:
    """One Subscribe stream. Eager: a background reader drains it into a queue, so a test can wait
    for "nothing more" without cancelling the call (cancelling a read cancels the RPC). Lazy: it
    reads only when asked, so the subscriber lags while the test does not read."""

    def __init__(
        self, channel: grpc.aio.Channel, request: pb.SubscribeRequest, *, lazy: bool = False
    ) -> None:
        self.call = relay_stub(channel).Subscribe(request)
        self.resume_after = 0
        self._queue: asyncio.Queue[pb.SubscribeResponse | BaseException] = asyncio.Queue()
        self._lazy = lazy
        if not lazy:
            self._reader = asyncio.create_task(self._read_all())

    async def _read_all(self) -> None:
        try:
            while (response := await read_or_end(self.call, pb.SubscribeResponse)) is not None:
                self._queue.put_nowait(response)
            self._queue.put_nowait(EOFError("the stream ended"))
        except grpc.aio.AioRpcError as error:
            self._queue.put_nowait(error)

    async def _next(self) -> pb.SubscribeResponse:
        async with asyncio.timeout(STEP):
            item: pb.SubscribeResponse | BaseException
            if self._lazy:
                response = await read_or_end(self.call, pb.SubscribeResponse)
                item = EOFError("the stream ended") if response is None else response
            else:
                item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        self.resume_after = item.resume_after_sequence
        return item

    async def started(self) -> pb.SubscriptionStarted:
        response = await self._next()
        assert response.WhichOneof("kind") == "started", response
        return response.started

    async def events(self, count: int) -> list[epb.Envelope]:
        found = []
        for _ in range(count):
            response = await self._next()
            assert response.WhichOneof("kind") == "event", response
            found.append(response.event)
        return found

    async def quiet(self, seconds: float = 0.1) -> bool:
        """True when nothing arrives for `seconds`."""
        assert not self._lazy
        await asyncio.sleep(seconds)
        return self._queue.empty()

    def cancel(self) -> None:
        self.call.cancel()


async def read_until_error(subscriber: Subscriber) -> tuple[list[int], grpc.aio.AioRpcError]:
    """The sequences received until the stream failed, and the failure."""
    got: list[int] = []
    while True:
        try:
            (received,) = await subscriber.events(1)
        except grpc.aio.AioRpcError as error:
            return got, error
        got.append(received.sequence)


async def subscribe(
    channel: grpc.aio.Channel, *topics: str, lazy: bool = False, **fields: object
) -> Subscriber:
    start = {k: fields.pop(k) for k in ("after_sequence", "start_time") if k in fields}
    request = pb.SubscribeRequest(filter=pb.EventFilter(topics=topics, **fields), **start)  # type: ignore[arg-type]
    subscriber = Subscriber(channel, request, lazy=lazy)
    await subscriber.started()
    return subscriber


@pytest.fixture
async def subscriber_channel(registry: Registry) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(registry.address) as ch:
        yield ch


async def test_subscribers_get_the_events_their_filters_match(
    channel: grpc.aio.Channel, subscriber_channel: grpc.aio.Channel
) -> None:
    one_segment = await subscribe(subscriber_channel, "orders.*.created")
    rest = await subscribe(subscriber_channel, "orders.#")
    failures = await subscribe(subscriber_channel, "#.failed")
    tenant = await subscribe(subscriber_channel, tenant_id="acme")
    from_billing = await subscribe(subscriber_channel, "#", source_services=["billing"])
    for_crm = await subscribe(subscriber_channel, "orders.#", target_services=["crm"])
    await publish_all(channel, [
        event("orders.order.created", tenant_id="acme"),
        event("orders.order.line.created"),
        event("orders"),
        event("payments.charge.failed", target_service="crm"),
        event("orders.order.failed", target_service="ai"),
    ])  # fmt: skip
    await publish_all(channel, [event("invoices.invoice.created", target_service="crm")], source="billing")

    async def names(subscriber: Subscriber, count: int) -> list[str]:
        found = [e.name for e in await subscriber.events(count)]
        assert await subscriber.quiet(), "no event beyond the expected ones"
        return found

    assert await names(one_segment, 1) == ["orders.order.created"]
    assert await names(rest, 4) == [
        "orders.order.created",
        "orders.order.line.created",
        "orders",
        "orders.order.failed",
    ]
    assert await names(failures, 2) == ["payments.charge.failed", "orders.order.failed"]
    assert await names(tenant, 1) == ["orders.order.created"]
    assert await names(from_billing, 1) == ["invoices.invoice.created"]
    # addressed to crm, or to nobody (broadcast); not the one addressed to ai
    assert await names(for_crm, 3) == ["orders.order.created", "orders.order.line.created", "orders"]


async def test_published_events_carry_what_the_registry_stamps(
    channel: grpc.aio.Channel, subscriber_channel: grpc.aio.Channel
) -> None:
    subscriber = await subscribe(subscriber_channel, "orders.#")
    before = time.time()
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("publisher") as span:
        carrier: dict[str, str] = {}
        inject(carrier)
        request = event("orders.order.paid", epb.PRIORITY_HIGH, b"{}", content_type="application/json")
        request.envelope.source_service = "forged"
        response = await relay_stub(channel).Publish(
            request, metadata=[*carrier.items(), ("x-source-service", "orders")], timeout=STEP
        )
    publisher_trace = format(span.get_span_context().trace_id, "032x")
    (received,) = await subscriber.events(1)
    assert response.trace_id == publisher_trace == received.trace_id, "the event joins the publisher's trace"
    assert received.trace_context["traceparent"].split("-")[1] == publisher_trace
    assert received.sequence == response.sequence
    assert received.id == response.event_id
    assert received.source_service == "orders"
    assert received.type == epb.MESSAGE_TYPE_EVENT
    assert received.priority == epb.PRIORITY_HIGH
    assert received.content_type == "application/json"
    assert received.payload == b"{}"
    assert before <= received.create_time.ToNanoseconds() / 1e9 <= time.time()


async def test_a_subscriber_resumes_from_its_last_sequence_without_losing_any(
    channel: grpc.aio.Channel, subscriber_channel: grpc.aio.Channel
) -> None:
    first = await subscribe(subscriber_channel, "ticks.#", after_sequence=0)
    published = await publish_all(channel, [event(f"ticks.n{i}") for i in range(5)])
    seen = [e.sequence for e in await first.events(3)]
    resume = first.resume_after
    first.cancel()
    published += await publish_all(channel, [event(f"ticks.n{i}") for i in range(5, 10)])

    second = await subscribe(subscriber_channel, "ticks.#", after_sequence=resume)
    seen += [e.sequence for e in await second.events(len(published) - resume)]
    assert await second.quiet()
    assert resume == seen[2]
    assert seen == published, "every event once, in order, across the reconnect"
    published += await publish_all(channel, [event("ticks.live")])
    assert [e.sequence for e in await second.events(1)] == published[-1:], "then live"


async def test_subscribing_from_a_time_replays_from_there(
    channel: grpc.aio.Channel, subscriber_channel: grpc.aio.Channel
) -> None:
    await publish_all(channel, [event("ticks.old")] * 3)
    await asyncio.sleep(0.02)
    since = time.time()
    recent = await publish_all(channel, [event("ticks.new")] * 2)
    request = pb.SubscribeRequest(filter=pb.EventFilter(topics=["ticks.#"]))
    request.start_time.FromNanoseconds(int(since * 1e9))
    subscriber = Subscriber(subscriber_channel, request)
    await subscriber.started()
    assert [e.sequence for e in await subscriber.events(2)] == recent
    assert await subscriber.quiet()


async def test_high_priority_events_overtake_when_a_subscriber_lags(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    async with grpc.aio.insecure_channel(registry.address, options=SLOW_READER) as slow:
        subscriber = await subscribe(slow, "load.#", lazy=True)
        low = await publish_all(channel, [event("load.metric", epb.PRIORITY_LOW, BIG)] * 40)
        normal = await publish_all(channel, [event("load.done", epb.PRIORITY_NORMAL, BIG)] * 2)
        high = await publish_all(channel, [event("load.changed", epb.PRIORITY_HIGH, BIG)] * 2)
        critical = await publish_all(channel, [event("load.alert", epb.PRIORITY_CRITICAL, BIG)] * 2)
        received = [e.sequence for e in await subscriber.events(46)]
        resume_points = subscriber.resume_after

    assert sorted(received) == low + normal + high + critical, "everything arrives once"
    position = {sequence: index for index, sequence in enumerate(received)}
    # The first few were already on the wire before the subscriber fell behind; among the events
    # that waited in the registry, CRITICAL went first, then HIGH, then NORMAL, then LOW in order.
    waiting = received[received.index(critical[0]) :]
    assert waiting[:6] == critical + high + normal
    assert [s for s in waiting if s in low] == [s for s in low if position[s] > position[critical[0]]]
    assert max(position[s] for s in critical) < 8
    assert resume_points == max(received), "nothing waits any more: the resume point is the head"


async def test_resume_points_never_skip_an_event_that_was_overtaken(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    async with grpc.aio.insecure_channel(registry.address, options=SLOW_READER) as slow:
        subscriber = await subscribe(slow, "load.#", lazy=True)
        low = await publish_all(channel, [event("load.metric", epb.PRIORITY_LOW, BIG)] * 10)
        (critical,) = await publish_all(channel, [event("load.alert", epb.PRIORITY_CRITICAL, BIG)])
        got: list[int] = []
        while critical not in got:
            got += [e.sequence for e in await subscriber.events(1)]
        resume = subscriber.resume_after
        subscriber.cancel()
    assert resume < min(set(low) - set(got)), "the resume point stays below every LOW still waiting"
    async with grpc.aio.insecure_channel(registry.address) as fresh:
        again = await subscribe(fresh, "load.#", after_sequence=resume)
        replayed = [e.sequence for e in await again.events(critical - resume)]
    assert set(got) | set(replayed) == {*low, critical}


async def test_a_subscriber_too_slow_for_its_buffer_is_cut_and_can_resume(
    start_registry: StartRegistry, channel: grpc.aio.Channel
) -> None:
    registry = await start_registry(event_subscriber_buffer=8)
    async with (
        grpc.aio.insecure_channel(registry.address) as fast,
        grpc.aio.insecure_channel(registry.address, options=SLOW_READER) as slow,
    ):
        subscriber = await subscribe(slow, "load.#", lazy=True)
        published = await publish_all(fast, [event("load.metric", epb.PRIORITY_NORMAL, BIG)] * 30)
        got, error = await read_until_error(subscriber)
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "buffer limit" in (error.details() or "")
        resumed = await subscribe(fast, "load.#", after_sequence=subscriber.resume_after)
        got += [e.sequence for e in await resumed.events(published[-1] - subscriber.resume_after)]
    assert set(got) == set(published), "nothing lost across the cut"
    assert got == sorted(set(got)), "in order and no duplicate either, here"


async def test_retention_keeps_at_most_the_configured_count(start_registry: StartRegistry) -> None:
    registry = await start_registry(event_retention_count=5)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        published = await publish_all(channel, [event(f"ticks.n{i}") for i in range(12)])
        listed = await relay_stub(channel).ListEvents(
            pb.ListEventsRequest(filter=pb.EventFilter(topics=["ticks.#"]))
        )
        assert [e.sequence for e in listed.events] == published[-5:]
        subscriber = Subscriber(channel, pb.SubscribeRequest(after_sequence=0))
        started = await subscriber.started()
        assert started.oldest_sequence == published[-5]
        assert started.head_sequence == published[-1]
        assert [e.sequence for e in await subscriber.events(5)] == published[-5:]


async def test_retention_drops_events_older_than_the_configured_age(start_registry: StartRegistry) -> None:
    registry = await start_registry(event_retention_seconds=0.2)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        relay = relay_stub(channel)
        old = await publish_all(channel, [event("ticks.old")] * 3)
        async with asyncio.timeout(STEP):
            while (await relay.ListEvents(pb.ListEventsRequest())).events:
                await asyncio.sleep(0.02)
        (fresh,) = await publish_all(channel, [event("ticks.fresh")])
        assert fresh == old[-1] + 1, "a sequence is never reused, even after the log emptied"
        listed = await relay.ListEvents(pb.ListEventsRequest())
        assert [e.sequence for e in listed.events] == [fresh]
        assert listed.head_sequence == fresh


async def test_events_survive_a_restart_and_sequences_continue(start_registry: StartRegistry) -> None:
    first = await start_registry()
    async with grpc.aio.insecure_channel(first.address) as channel:
        before = await publish_all(channel, [event("ticks.n1"), event("ticks.n2")])
    await first.stop(grace=0)
    second = await start_registry()
    async with grpc.aio.insecure_channel(second.address) as channel:
        (after,) = await publish_all(channel, [event("ticks.n3")])
        listed = await relay_stub(channel).ListEvents(pb.ListEventsRequest())
    assert after == before[-1] + 1
    assert [e.sequence for e in listed.events] == [*before, after]


async def test_list_events_filters_and_pages(channel: grpc.aio.Channel) -> None:
    relay = relay_stub(channel)
    published = await publish_all(
        channel, [event(f"orders.n{i}", tenant_id="a" if i % 2 else "b") for i in range(7)]
    )
    tenant_a = [s for i, s in enumerate(published) if i % 2]
    request = pb.ListEventsRequest(filter=pb.EventFilter(topics=["orders.*"], tenant_id="a"), page_size=2)
    pages = []
    token = ""
    while True:
        page = await relay.ListEvents(request)
        pages.append([e.sequence for e in page.events])
        if not page.next_page_token:
            break
        request.page_token = token = page.next_page_token
    assert [s for p in pages for s in p] == tenant_a
    assert all(len(p) <= 2 for p in pages)
    newest = await relay.ListEvents(
        pb.ListEventsRequest(newest_first=True, page_size=3, after_sequence=published[-1])
    )
    assert [e.sequence for e in newest.events] == published[-2:-5:-1]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await relay.ListEvents(pb.ListEventsRequest(page_size=2, page_token=token))  # other filter
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == ["page_token"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (event(""), "envelope.name"),
        (event("orders.*"), "envelope.name"),
        (event("orders.a", target_service="Bad"), "envelope.target_service"),
        (pb.PublishRequest(envelope=epb.Envelope(type=epb.MESSAGE_TYPE_COMMAND, name="a")), "envelope.type"),
        (pb.PublishRequest(), "envelope"),
    ],
)
async def test_invalid_publishes_name_the_field(
    channel: grpc.aio.Channel, request_: pb.PublishRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await relay_stub(channel).Publish(request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == [field]


@pytest.mark.parametrize(
    ("filter_", "field"),
    [
        (pb.EventFilter(topics=["orders..x"]), "filter.topics[0]"),
        (pb.EventFilter(topics=["a"] * 33), "filter.topics"),
        (pb.EventFilter(source_services=["Nope"]), "filter.source_services[0]"),
    ],
)
async def test_invalid_subscriptions_name_the_field(
    channel: grpc.aio.Channel, filter_: pb.EventFilter, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await Subscriber(channel, pb.SubscribeRequest(filter=filter_)).started()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(caught.value) == [field]


async def test_the_registry_announces_instance_lifecycle(
    channel: grpc.aio.Channel, subscriber_channel: grpc.aio.Channel
) -> None:
    subscriber = await subscribe(subscriber_channel, "registry.instance.*")
    await register(stub(channel), "orders", "orders-1")
    stream = BeatStream(channel)
    await stream.bind("orders-1")
    await stream.beat()
    await stream.beat()  # still healthy: no second `ready`
    stream.goodbye(hb.GOODBYE_REASON_DRAIN)
    started, ready, stopping = await subscriber.events(3)
    stream.close()
    await stub(channel).Deregister(rpb.DeregisterRequest(service_name="orders", instance_id="orders-1"))
    (stopped,) = await subscriber.events(1)
    assert [e.name for e in (started, ready, stopping, stopped)] == [
        "registry.instance.started",
        "registry.instance.ready",
        "registry.instance.stopping",
        "registry.instance.stopped",
    ]
    for announced in (started, ready, stopping, stopped):
        assert announced.source_service == "registry"
        assert announced.priority == epb.PRIORITY_HIGH
        assert dict(announced.headers) == {"service-name": "orders", "instance-id": "orders-1"}
        assert json.loads(announced.payload)["instance_id"] == "orders-1"
    assert json.loads(ready.payload)["status"] == "HEALTHY"
    assert json.loads(stopping.payload)["status"] == "DRAINING"
