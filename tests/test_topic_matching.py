"""Topic matching is linear in the topic's length whatever the pattern, and fan-out reaches the
subscribers whose patterns can match without testing every subscriber.

The attack it stops: a subscription to `evil.#.#.#.#.#.#.#.#.#.#.#.#.#.#.zz` and a publish to
`evil.a.b.c.d.e.f.g.h.i.j.k.l.m.n` once kept the event loop busy for 3.4 s (regex backtracking),
during which no heartbeat was acked and no Lookup answered."""

from __future__ import annotations

import asyncio
import random
import time

import grpc

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import registry_service_pb2 as rpb
from generated.registry.v1 import relay_service_pb2 as pb
from registry.app import Registry
from registry.auth import scopes
from registry.core.event_filter import EventFilter
from registry.core.messages import Envelope, MessageType
from registry.core.topic_trie import TopicTrie
from tests.helpers.registry_api import register, stub
from tests.helpers.relay_api import relay_stub
from tests.helpers.streams import read

EVIL_PATTERN = "evil." + ".".join(["#"] * 14) + ".zz"
EVIL_TOPIC = "evil.a.b.c.d.e.f.g.h.i.j.k.l.m.n"


def test_the_evil_pattern_costs_steps_linear_in_the_topic() -> None:
    trie: TopicTrie[int] = TopicTrie()
    trie.add(EVIL_PATTERN, 1)
    assert trie.match(EVIL_TOPIC) == set()
    assert trie.match(EVIL_TOPIC + ".zz") == {1}
    pattern_nodes = len(EVIL_PATTERN.split(".")) + 1
    for length in (16, 64, 256):
        trie.steps = 0
        topic = "evil." + ".".join(["a"] * (length - 1))
        assert trie.match(topic) == set()
        # Each topic segment visits each trie node at most once: linear, not exponential.
        assert trie.steps <= length * pattern_nodes


def test_the_evil_pattern_is_fast_through_the_filter() -> None:
    evil = EventFilter(topics=(EVIL_PATTERN,))
    event = Envelope(type=MessageType.EVENT, name=EVIL_TOPIC)
    started = time.perf_counter()
    for _ in range(100):
        assert not evil.matches(event)
    assert time.perf_counter() - started < 0.5  # 100 matches; the regex took 3.4 s for one


def test_the_trie_agrees_with_the_scope_matcher_on_random_patterns() -> None:
    """Two independent implementations of AMQP matching (auth's memoised recursion and the trie)."""
    rng = random.Random(12)
    segments = ["a", "b", "*", "#"]
    for _ in range(3000):
        patterns = [".".join(rng.choices(segments, k=rng.randint(1, 5))) for _ in range(rng.randint(1, 4))]
        topic = ".".join(rng.choices("abc", k=rng.randint(1, 6)))
        trie: TopicTrie[int] = TopicTrie()
        for index, pattern in enumerate(patterns):
            trie.add(pattern, index)
        expected = {i for i, p in enumerate(patterns) if scopes.covers(p, topic)}
        assert trie.match(topic) == expected, (patterns, topic)
        for index, pattern in enumerate(patterns):
            trie.remove(pattern, index)
        assert not trie  # removal prunes every node it no longer needs


Subscription = grpc.aio.UnaryStreamCall[pb.SubscribeRequest, pb.SubscribeResponse]


async def _subscribe(channel: grpc.aio.Channel, *topics: str) -> Subscription:
    call = relay_stub(channel).Subscribe(pb.SubscribeRequest(filter=pb.EventFilter(topics=topics)))
    first = await read(call, pb.SubscribeResponse)
    assert first.WhichOneof("kind") == "started"
    return call


async def test_an_evil_subscription_does_not_stall_the_registry(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    await register(stub(channel), "orders", "orders-1")
    evil = await _subscribe(channel, EVIL_PATTERN)
    relay = relay_stub(channel)
    started = time.perf_counter()
    for _ in range(5):
        await relay.Publish(pb.PublishRequest(envelope=epb.Envelope(name=EVIL_TOPIC)), timeout=5)
        await stub(channel).Lookup(rpb.LookupRequest(service_name="orders"), timeout=5)
    assert time.perf_counter() - started < 2.0  # generous: about 10 ms here; once 17 s
    evil.cancel()


async def test_fan_out_visits_the_matching_subscribers_not_all(
    registry: Registry, channel: grpc.aio.Channel
) -> None:
    calls = [await _subscribe(channel, f"team{n}.orders.*", f"team{n}.#.failed") for n in range(60)]
    everything = await _subscribe(channel)  # no pattern: every event
    bus_trie = registry.events.topic_index
    bus_trie.steps = 0
    relay = relay_stub(channel)
    await relay.Publish(pb.PublishRequest(envelope=epb.Envelope(name="team7.orders.created")), timeout=5)
    # Root, `team7`, `team7.orders`, `team7.#` and the root's `#`: a handful, not 60 x 2 patterns.
    assert bus_trie.steps <= 12
    got = await asyncio.wait_for(read(calls[7], pb.SubscribeResponse), 5)
    assert got.event.name == "team7.orders.created"
    got = await asyncio.wait_for(read(everything, pb.SubscribeResponse), 5)
    assert got.event.name == "team7.orders.created"
    await relay.Publish(pb.PublishRequest(envelope=epb.Envelope(name="team8.x.y.failed")), timeout=5)
    got = await asyncio.wait_for(read(calls[8], pb.SubscribeResponse), 5)
    assert got.event.name == "team8.x.y.failed"
    for call in [*calls, everything]:
        call.cancel()
    await asyncio.sleep(0.05)
    assert not bus_trie  # every subscriber that left is out of the index
