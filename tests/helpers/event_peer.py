"""A publisher or a subscriber of one event, as its own process, built on the Python client SDK.

    python -m tests.helpers.event_peer subscribe REGISTRY_ADDRESS TOPIC
    python -m tests.helpers.event_peer publish REGISTRY_ADDRESS TOPIC

The subscriber serves an Inbox with one event handler, prints `subscribed`, and on the first event
prints one JSON line (the trace id its CONSUMER span ran in, the envelope's trace id) and exits.
The publisher publishes one event inside a root span and prints that span's trace id and the
published sequence. Both export their spans to OTEL_EXPORTER_OTLP_ENDPOINT and flush before exiting.
"""

from __future__ import annotations

import asyncio
import json
import sys

from opentelemetry import trace

from client import Inbox, Message, RegistryClient
from tests.helpers import tracing


async def subscribe(registry: str, topic: str) -> None:
    provider = tracing.install("subscriber")
    received: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
    inbox = Inbox()

    @inbox.event(topic)
    async def on_event(message: Message) -> None:
        span = trace.get_current_span().get_span_context()
        if not received.done():
            received.set_result(
                {"handler_trace_id": format(span.trace_id, "032x"), "trace_id": message.trace_id}
            )

    async with RegistryClient.from_env(registry_url=registry, service_name="subscriber") as client:
        await client.serve_inbox(inbox)
        await inbox.events_ready()
        print("subscribed", flush=True)
        result = await asyncio.wait_for(received, 20)
    provider.shutdown()
    print(json.dumps(result), flush=True)


async def publish(registry: str, topic: str) -> None:
    provider = tracing.install("publisher")
    async with RegistryClient.from_env(registry_url=registry, service_name="publisher") as client:
        with trace.get_tracer("publisher").start_as_current_span("order placed") as span:
            published = await client.publish(topic, {"order": 1})
            trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    assert published
    print(json.dumps({"trace_id": trace_id, "sequence": published.sequence}), flush=True)


if __name__ == "__main__":
    command, address, name = sys.argv[1:4]
    asyncio.run({"subscribe": subscribe, "publish": publish}[command](address, name))
