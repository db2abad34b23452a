"""Relay benchmark: Send through the registry beside a direct Deliver to the same target, and
event fan-out from one publisher to 1, 10 and 100 subscribers.

    .venv/bin/python -m bench.relay [--calls 3000] [--events 2000]

Send: the registry (`registry serve`, auth off, tracing off), a target serving InboxService (a
bare echo that does not verify tokens, so every path pays the same target cost) and this
process, the caller, making one call at a time. Three paths alternate in blocks of 100 calls, so
all see the same machine state: a direct Deliver to the target; Send through the registry; and
Send through a bare grpc.aio proxy that forwards the same bytes to the same target and does
nothing else. Two hops make about twice the direct call; the bare proxy is the floor of any
two-hop relay built on grpc.aio on this machine, so the registry's own cost is the gap above it.
The target is <= 2.5x the direct call.

Events: this process publishes `--events` events (64 in flight) while a subscriber process holds
N Subscribe streams; events/s is events published divided by the time until the slowest
subscriber has received the last one. Every phase is bounded in time.

Fan-out index: N subscribers with N different patterns (`spread<i>.#`) and events for the first
one only. The event bus finds subscribers through a trie of their patterns, so the rate should
stay near the floor (the same run with one subscriber) however large N is; a bus that tested
every subscriber per event would fall with N. Matching: microseconds per match of the pattern
that once backtracked for seconds, against a literal pattern.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import uvloop

from bench.harness import child, percentile, print_table
from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import inbox_service_pb2 as ipb
from generated.registry.v1 import inbox_service_pb2_grpc as ipb_grpc
from generated.registry.v1 import instance_pb2, registry_service_pb2, registry_service_pb2_grpc
from generated.registry.v1 import relay_service_pb2 as pb
from generated.registry.v1 import relay_service_pb2_grpc as pb_grpc
from registry.core.event_filter import EventFilter
from registry.core.messages import Envelope, MessageType

REGISTRY_READY = r"registry serving .*address=(\S+)"
TARGET_READY = r"inbox serving address=(\S+)"
PROXY_READY = r"proxy serving address=(\S+)"
SUBSCRIBERS_READY = r"subscribers ready address=(\S+)"
DELIVER = "/registry.v1.InboxService/Deliver"
PAYLOAD = b"x" * 64
BLOCK = 100
PHASE_TIMEOUT = 120.0
SPREAD_SIZES = (1, 100, 1000)
"""Subscribers in the fan-out index run; the first size is the floor."""


# ----------------------------------------------------------------------------- the target process


class EchoInbox(ipb_grpc.InboxServiceServicer):
    async def Deliver(self, request: ipb.DeliverRequest, context: Any) -> ipb.DeliverResponse:
        return ipb.DeliverResponse(reply=epb.Reply(payload=request.envelope.payload))


async def serve_target() -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    ipb_grpc.add_InboxServiceServicer_to_server(EchoInbox(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"inbox serving address=127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


# ----------------------------------------------------------------------------- the bare proxy process


async def serve_proxy(target: str) -> None:
    """Forward the request bytes to the target's Deliver unchanged: no parsing, token or span."""
    forward = grpc.aio.insecure_channel(target).unary_unary(
        DELIVER, request_serializer=None, response_deserializer=None
    )

    async def send(request: bytes, context: Any) -> bytes:
        response: bytes = await forward(request, timeout=context.time_remaining())
        return response

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handlers = {"Send": grpc.unary_unary_rpc_method_handler(send)}
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("bench.Proxy", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"proxy serving address=127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


# ----------------------------------------------------------------------------- the subscriber process


async def run_subscribers(address: str, count: int, events: int, spread: bool = False) -> None:
    """Hold `count` subscriptions; print the time when every one has received `events` events.
    With `spread`, subscription i takes `spread<i>.#` and only the first one's events are
    published: what fan-out costs with many subscribers whose patterns do not match."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.RelayServiceStub(channel)
        topics = [f"spread{i}.#" if spread else "bench.#" for i in range(count)]
        calls = [stub.Subscribe(pb.SubscribeRequest(filter=pb.EventFilter(topics=[t]))) for t in topics]
        for call in calls:
            first = await call.read()
            assert isinstance(first, pb.SubscribeResponse)
            assert first.WhichOneof("kind") == "started"
        print("subscribers ready address=-", flush=True)

        async def drain(call: grpc.aio.UnaryStreamCall[pb.SubscribeRequest, pb.SubscribeResponse]) -> int:
            received = 0
            while received < events and isinstance(await call.read(), pb.SubscribeResponse):
                received += 1
            return received

        receivers = calls[:1] if spread else calls
        received = await asyncio.wait_for(asyncio.gather(*(drain(c) for c in receivers)), PHASE_TIMEOUT)
        print(f"done {time.time():.6f} {min(received)}", flush=True)


# ----------------------------------------------------------------------------- the caller (this process)


async def register_target(channel: grpc.aio.Channel, target: str) -> None:
    host, port = target.rsplit(":", 1)
    endpoint = instance_pb2.Endpoint(host=host, port=int(port), protocol=instance_pb2.ENDPOINT_PROTOCOL_GRPC)
    instance = instance_pb2.Instance(service_name="bench", instance_id="bench-1", endpoints=[endpoint])
    stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
    await stub.Register(registry_service_pb2.RegisterRequest(instance=instance))


async def send_latencies(registry: str, target: str, proxy: str, calls: int) -> list[list[float]]:
    """Latencies in ms of: direct Deliver, Send via the registry, Send via the bare proxy."""
    envelope = epb.Envelope(type=epb.MESSAGE_TYPE_QUERY, name="echo", target_service="bench", payload=PAYLOAD)
    send_request = pb.SendRequest(envelope=envelope)
    deliver_request = ipb.DeliverRequest(envelope=envelope, delivery_token="-")
    raw = deliver_request.SerializeToString()
    async with (
        grpc.aio.insecure_channel(registry) as registry_channel,
        grpc.aio.insecure_channel(target) as target_channel,
        grpc.aio.insecure_channel(proxy) as proxy_channel,
    ):
        await register_target(registry_channel, target)
        inbox = ipb_grpc.InboxServiceStub(target_channel)
        relay = pb_grpc.RelayServiceStub(registry_channel)
        bare = proxy_channel.unary_unary(
            "/bench.Proxy/Send", request_serializer=None, response_deserializer=None
        )
        paths: list[Callable[[], Awaitable[Any]]] = [
            lambda: inbox.Deliver(deliver_request, timeout=10),
            lambda: relay.Send(send_request, timeout=10),
            lambda: bare(raw, timeout=10),
        ]
        for _ in range(200):  # warm up every path and channel
            for call in paths:
                await call()
        latencies: list[list[float]] = [[] for _ in paths]
        async with asyncio.timeout(PHASE_TIMEOUT):
            while len(latencies[0]) < calls:
                for call, found in zip(paths, latencies, strict=True):
                    for _ in range(BLOCK):
                        started = time.perf_counter()
                        await call()
                        found.append((time.perf_counter() - started) * 1000)
    return latencies


async def publish(registry: str, events: int, in_flight: int = 64, topic: str = "bench.load.tick") -> float:
    """Publish `events` events; returns the time the first publish started."""
    async with grpc.aio.insecure_channel(registry) as channel:
        stub = pb_grpc.RelayServiceStub(channel)
        semaphore = asyncio.Semaphore(in_flight)
        request = pb.PublishRequest(envelope=epb.Envelope(name=topic, payload=PAYLOAD))

        async def one() -> None:
            async with semaphore:
                await stub.Publish(request, timeout=30)

        started = time.time()
        async with asyncio.timeout(PHASE_TIMEOUT):
            await asyncio.gather(*(one() for _ in range(events)))
    return started


def fan_out(registry: str, subscribers: int, events: int, spread: bool = False) -> list[object]:
    args = ["-m", "bench.relay", "subscribers", registry, str(subscribers), str(events)]
    with child([*args, "spread"] if spread else args, SUBSCRIBERS_READY, read_output=True) as sub:
        started = uvloop.run(
            publish(registry, events, topic="spread0.load.tick" if spread else "bench.load.tick")
        )
        assert sub.proc.stdout is not None
        output = sub.proc.stdout.readline()
        line = output.split()
        if not line or line[0] != "done":
            raise RuntimeError(f"subscribers failed: {output}{sub.proc.stdout.read()}")
        elapsed = float(line[1]) - started
    receivers = 1 if spread else subscribers
    return [subscribers, events, round(events / elapsed), round(events * receivers / elapsed)]


def matching_costs(rounds: int = 2000) -> list[list[object]]:
    """Microseconds per topic match through an EventFilter, against a literal pattern (the floor)."""
    evil = "evil." + ".".join(["#"] * 14) + ".zz"
    rows: list[list[object]] = []
    for segments in (16, 64):
        topic = "evil." + ".".join(["a"] * (segments - 1))
        costs = []
        for pattern in (topic, evil):  # the floor: a literal pattern walked to its end
            matcher = EventFilter(topics=(pattern,))
            event = Envelope(type=MessageType.EVENT, name=topic)
            started = time.perf_counter()
            for _ in range(rounds):
                matcher.matches(event)
            costs.append((time.perf_counter() - started) / rounds * 1e6)
        rows.append([evil, segments, f"{costs[1]:.1f}", f"{costs[1] / costs[0]:.1f}x"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="relay benchmark")
    parser.add_argument("--calls", type=int, default=3000, help="calls measured per Send path")
    parser.add_argument("--events", type=int, default=2000, help="events per fan-out run (a quarter for 100)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        serve = ["-m", "registry.cli.main", "serve", "--port", "0", "--db-path", str(Path(tmp) / "bench.db")]
        env = {"REGISTRY_AUTH_MODE": "off", "OTEL_SDK_DISABLED": "true"}
        with (
            child(serve, REGISTRY_READY, env=env) as registry,
            child(["-m", "bench.relay", "target"], TARGET_READY) as target,
            child(["-m", "bench.relay", "proxy", target.address], PROXY_READY) as proxy,
        ):
            latencies = uvloop.run(
                send_latencies(registry.address, target.address, proxy.address, args.calls)
            )
            sizes = (1, 10, 100)
            fan = [fan_out(registry.address, n, args.events if n < 100 else args.events // 4) for n in sizes]
            # 1 is the floor: the same events to the same one subscriber, without the others.
            spread = [fan_out(registry.address, n, args.events, spread=True) for n in SPREAD_SIZES]
    names = ("direct Deliver", "Send via registry", "bare proxy (floor)")
    stats = [
        (name, len(found), percentile(found, 50), percentile(found, 99))
        for name, found in zip(names, latencies, strict=True)
    ]
    base50, base99 = stats[0][2], stats[0][3]
    print_table(
        "Send latency, one call at a time (64-byte payload)",
        ["path", "calls", "p50 ms", "p99 ms", "p50 ratio", "p99 ratio"],
        [
            [n, c, f"{p50:.3f}", f"{p99:.3f}", f"{p50 / base50:.2f}x", f"{p99 / base99:.2f}x"]
            for n, c, p50, p99 in stats
        ],
    )
    print(f"\nSend overhead: p50 +{stats[1][2] - base50:.3f} ms over the direct call, "
          f"+{stats[1][2] - stats[2][2]:.3f} ms over the bare proxy")  # fmt: skip
    print_table(
        "Event fan-out, one publisher (64 in flight), durable log",
        ["subscribers", "events", "events/s published", "deliveries/s"],
        fan,
    )
    floor = float(str(spread[0][2]))
    print_table(
        "Fan-out index: one matching subscriber among N with other patterns (`spread<i>.#`)",
        ["subscribers", "events", "events/s published", "deliveries/s", "vs 1 subscriber (floor)"],
        [[*row, f"{float(str(row[2])) / floor:.2f}x"] for row in spread],
    )
    print_table(
        "Topic matching, in process: the pattern that once backtracked for seconds",
        ["pattern", "topic segments", "us per match", "vs the literal topic as pattern (floor)"],
        matching_costs(),
    )


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "target":
        uvloop.run(serve_target())
    elif command == "proxy":
        uvloop.run(serve_proxy(sys.argv[2]))
    elif command == "subscribers":
        uvloop.run(
            run_subscribers(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:] == ["spread"])
        )
    else:
        main()
