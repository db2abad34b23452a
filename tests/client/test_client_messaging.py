"""Messaging through a real registry's relay: commands, queries, events, a subscription that
resumes across a registry restart without loss or duplicates, graceful degradation, the Inbox's
delivery-token check, and trace context carried end to end."""

from __future__ import annotations

import asyncio
import logging
import time

import grpc
import pytest
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider

from client import (
    Inbox,
    Message,
    MessageType,
    NotFoundError,
    Published,
    RegistryClient,
    UnavailableError,
    UnimplementedError,
)
from client.inbox import topic_matches
from generated.registry.v1 import envelope_pb2, inbox_service_pb2, inbox_service_pb2_grpc
from registry.app import Registry
from tests.client.conftest import FAST_BEATS, Connect, client_config
from tests.conftest import StartRegistry


async def serve(client: RegistryClient, inbox: Inbox) -> None:
    await client.serve_inbox(inbox)
    registration = await client.register(inbox=inbox, **FAST_BEATS)
    async with asyncio.timeout(3):
        await registration.wait_for_status()


async def test_send_and_query_reach_the_decorated_handlers(connect: Connect) -> None:
    inbox = Inbox()
    seen: list[Message] = []

    @inbox.command("analyze")
    async def analyze(message: Message) -> dict[str, object]:
        seen.append(message)
        return {"lead": message.json()["id"], "score": 0.9}

    @inbox.query("status")
    def status(message: Message) -> str:  # a plain function: runs in a worker thread
        return "idle"

    await serve(await connect("ai-agents", instance_id="ai-1"), inbox)
    crm = await connect("crm")

    reply = await crm.send("ai-agents", "analyze", {"id": 7}, headers={"x-request": "r1"})
    assert reply.json() == {"lead": 7, "score": 0.9}
    assert (reply.instance_id, reply.attempts, len(reply.trace_id)) == ("ai-1", 1, 32)
    [message] = seen
    assert (message.type, message.source_service, message.headers["x-request"]) == (
        MessageType.COMMAND,
        "crm",
        "r1",
    )
    assert (await crm.query("ai-agents", "status")).text == "idle"

    with pytest.raises(UnimplementedError, match="no handler"):
        await crm.send("ai-agents", "dance")
    with pytest.raises(NotFoundError):
        await crm.send("nobody", "analyze")
    assert inbox.in_flight == 0


async def test_inbox_refuses_deliveries_that_did_not_come_through_the_registry(connect: Connect) -> None:
    inbox = Inbox()
    called = []

    @inbox.command("analyze")
    async def analyze(message: Message) -> None:
        called.append(message)

    await serve(await connect("ai-agents", instance_id="ai-1"), inbox)
    envelope = envelope_pb2.Envelope(
        id="forged", type=envelope_pb2.MESSAGE_TYPE_COMMAND, name="analyze", source_service="crm"
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inbox.port}") as channel:
        direct = inbox_service_pb2_grpc.InboxServiceStub(channel)
        for token in ("", "not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjcm0ifQ.c2ln"):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await direct.Deliver(
                    inbox_service_pb2.DeliverRequest(envelope=envelope, delivery_token=token)
                )
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert called == []


async def test_subscription_resumes_after_a_registry_restart_without_loss_or_duplicates(
    start_registry: StartRegistry, registry: Registry
) -> None:
    subscriber = RegistryClient(client_config(registry.address, "analytics"))
    publisher = RegistryClient(client_config(registry.address, "crm"))
    try:
        subscription = subscriber.subscribe("crm.lead.#")
        first = asyncio.ensure_future(anext(subscription))
        async with asyncio.timeout(3):
            await subscription.started.wait()
        for n in range(1, 6):
            assert await publisher.publish("crm.lead.created", {"n": n})
        await publisher.publish("crm.deal.won", {"n": 0})  # filtered out by the registry
        received = [await first] + [await anext(subscription) for _ in range(4)]

        await registry.stop(grace=0)
        await start_registry(port=registry.port)
        for n in range(6, 11):  # published while the subscriber is still backing off
            async with asyncio.timeout(3):
                while not await _try_publish(publisher, n):
                    await asyncio.sleep(0.02)
        async with asyncio.timeout(5):
            received += [await anext(subscription) for _ in range(5)]
        assert [m.json()["n"] for m in received] == list(range(1, 11))
        sequences = [m.sequence for m in received]
        assert sequences == sorted(set(sequences))
        assert subscription.reconnects >= 1
        assert subscription.resume_after == sequences[-1]
        with pytest.raises(TimeoutError):  # and nothing more: no duplicate after the resume
            async with asyncio.timeout(0.2):
                await anext(subscription)
    finally:
        await subscriber.close()
        await publisher.close()


async def _try_publish(publisher: RegistryClient, n: int) -> bool:
    try:
        return bool(await publisher.publish("crm.lead.created", {"n": n}))
    except UnavailableError:
        return False


async def test_degraded_publish_returns_false_logs_once_and_queues_nothing(
    start_registry: StartRegistry, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    degraded = RegistryClient(
        client_config(registry.address, "crm", call_timeout=0.5), degrade=True, reset_timeout=0.2
    )
    strict = RegistryClient(client_config(registry.address, "crm", call_timeout=0.5))
    try:
        assert isinstance(await degraded.publish("crm.lead.created", {"n": 1}), Published)
        await registry.stop(grace=0)
        caplog.clear()
        started = time.perf_counter()
        results = [await degraded.publish("crm.lead.created", {"n": n}) for n in range(2, 102)]
        elapsed = time.perf_counter() - started
        assert results == [False] * 100
        assert degraded.messenger.dropped == 100
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "dropped" in r.getMessage()]
        assert len(warnings) == 1  # rate-limited, with a count
        assert elapsed < 2.0, f"100 dropped events took {elapsed:.2f}s"
        with pytest.raises(UnavailableError):  # without degradation the caller hears about it
            await strict.publish("crm.lead.created", {"n": 0})

        await start_registry(port=registry.port)
        async with asyncio.timeout(5):
            while not await degraded.publish("crm.lead.created", {"n": 200}):
                await asyncio.sleep(0.05)
        listing = degraded.subscribe("crm.lead.#", after_sequence=0)
        stored = [(await anext(listing)).json()["n"] for _ in range(2)]
        assert stored == [1, 200]  # nothing of the outage was queued and replayed
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await anext(listing)
    finally:
        await degraded.close()
        await strict.close()


async def _traced_send(crm: RegistryClient, target: str) -> int:
    """Send `analyze` to `target` inside a span, with baggage `tenant=acme`; the span's trace id."""
    tracer = TracerProvider().get_tracer("test")
    token = otel_context.attach(baggage.set_baggage("tenant", "acme"))
    try:
        with tracer.start_as_current_span("create lead") as span:
            await crm.send(target, "analyze", {"id": 7})
            return span.get_span_context().trace_id
    finally:
        otel_context.detach(token)


def _tracing_inbox(seen: dict[str, object], publisher: list[RegistryClient]) -> Inbox:
    inbox = Inbox()

    @inbox.command("analyze")
    async def analyze(message: Message) -> None:
        seen["trace_id"] = trace.get_current_span().get_span_context().trace_id
        seen["envelope_trace_id"] = message.trace_id
        seen["tenant"] = baggage.get_baggage("tenant")
        for client in publisher:
            await client.publish("ai.analysis.completed", {"lead": 7})

    return inbox


async def test_one_trace_runs_from_sender_through_handler_to_the_event(connect: Connect) -> None:
    ai = await connect("ai-agents", instance_id="ai-1")
    seen: dict[str, object] = {}
    await serve(ai, _tracing_inbox(seen, [ai]))
    crm = await connect("crm")
    events = crm.subscribe("ai.#")
    first = asyncio.ensure_future(anext(events))
    async with asyncio.timeout(3):
        await events.started.wait()

    trace_id = await _traced_send(crm, "ai-agents")
    event = await asyncio.wait_for(first, 3)
    assert seen["trace_id"] == trace_id
    assert seen["envelope_trace_id"] == event.trace_id == f"{trace_id:032x}"


async def test_baggage_reaches_the_handler_through_the_relay(connect: Connect) -> None:
    ai = await connect("ai-agents", instance_id="ai-1")
    seen: dict[str, object] = {}
    await serve(ai, _tracing_inbox(seen, []))
    await _traced_send(await connect("crm"), "ai-agents")
    assert seen["tenant"] == "acme"


async def test_channel_calls_carry_trace_context_and_baggage(connect: Connect) -> None:
    """Direct calls (no relay) through a ServiceChannel: the SDK's interceptor alone carries it."""
    ai = await connect("ai-agents", instance_id="ai-1")
    seen: dict[str, object] = {}
    inbox = _tracing_inbox(seen, [])
    inbox.verify = False
    await serve(ai, inbox)
    crm = await connect("crm")
    direct = inbox_service_pb2_grpc.InboxServiceStub(await crm.channel("ai-agents"))
    tracer = TracerProvider().get_tracer("test")
    token = otel_context.attach(baggage.set_baggage("tenant", "acme"))
    try:
        with tracer.start_as_current_span("create lead") as span:
            envelope = envelope_pb2.Envelope(id="m1", type=envelope_pb2.MESSAGE_TYPE_COMMAND, name="analyze")
            await direct.Deliver(inbox_service_pb2.DeliverRequest(envelope=envelope))
    finally:
        otel_context.detach(token)
    assert seen["trace_id"] == span.get_span_context().trace_id
    assert seen["tenant"] == "acme"


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("lead.*", "lead.created", True),
        ("lead.*", "lead.created.twice", False),
        ("lead.#", "lead", True),
        ("lead.#", "lead.a.b", True),
        ("*.created", "deal.created", True),
        ("#.created", "crm.lead.created", True),
        ("crm.*.created", "crm.created", False),
    ],
)
def test_topic_patterns_follow_amqp_rules(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


async def test_event_handlers_receive_matching_events(connect: Connect) -> None:
    inbox = Inbox()
    got: list[tuple[str, str]] = []

    @inbox.event("crm.lead.*")
    async def on_lead(message: Message) -> None:
        got.append(("lead", message.name))

    @inbox.event("crm.#")
    def on_anything(message: Message) -> None:
        got.append(("any", message.name))

    ai = await connect("ai-agents", instance_id="ai-1")
    await serve(ai, inbox)
    async with asyncio.timeout(3):
        await inbox.events_ready()
    crm = await connect("crm")
    await crm.publish("crm.lead.created", {"id": 1})
    await crm.publish("crm.deal.won", {"id": 2})
    await crm.publish("billing.paid", {"id": 3})
    async with asyncio.timeout(3):
        while len(got) < 3:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert got == [("lead", "crm.lead.created"), ("any", "crm.lead.created"), ("any", "crm.deal.won")]


async def test_a_misspelt_keyword_is_refused_as_python_refuses_any(connect: Connect) -> None:
    """The shared keyword sets (`**options`) still refuse a keyword they do not declare."""
    client = await connect("crm")
    with pytest.raises(TypeError, match="unexpected keyword argument 'tenant'"):
        await client.send("ai-agents", "analyze", tenant="acme")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'priorty'"):
        await client.publish("crm.lead", priorty=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'tag'"):
        await client.register("127.0.0.1:9000", tag=["x"])  # type: ignore[call-arg]
