"""A caller as its own process: one traced Send through the registry, then exit.

    python -m tests.helpers.relay_caller REGISTRY_ADDRESS TARGET_SERVICE

Starts a root span `caller.send`, sends its W3C context as gRPC metadata with a QUERY `echo`,
prints one JSON line (the root span's trace id, the SendResponse and the target's reply), and
flushes its spans to OTEL_EXPORTER_OTLP_ENDPOINT before exiting.
"""

from __future__ import annotations

import asyncio
import json
import sys

import grpc
from opentelemetry import trace
from opentelemetry.propagate import inject

from generated.registry.v1 import envelope_pb2, relay_service_pb2, relay_service_pb2_grpc
from tests.helpers import tracing


async def main(registry: str, target: str) -> None:
    provider = tracing.install("caller")
    tracer = trace.get_tracer("caller")
    with tracer.start_as_current_span("caller.send", kind=trace.SpanKind.CLIENT) as span:
        carrier: dict[str, str] = {}
        inject(carrier)
        request = relay_service_pb2.SendRequest(
            envelope=envelope_pb2.Envelope(
                type=envelope_pb2.MESSAGE_TYPE_QUERY, name="echo", target_service=target, payload=b"ping"
            )
        )
        async with grpc.aio.insecure_channel(registry) as channel:
            response = await relay_service_pb2_grpc.RelayServiceStub(channel).Send(
                request, metadata=tuple(carrier.items()), timeout=10
            )
        root_trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    print(
        json.dumps(
            {
                "root_trace_id": root_trace_id,
                "trace_id": response.trace_id,
                "envelope_id": response.envelope_id,
                "reply": json.loads(response.reply.payload),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
