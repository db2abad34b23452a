"""A target service as its own process: an Inbox server that registers with the registry.

    python -m tests.helpers.inbox_target REGISTRY_ADDRESS SERVICE INSTANCE_ID

Traces go where OTEL_EXPORTER_OTLP_ENDPOINT says (service.name = SERVICE). Prints
`inbox serving address=HOST:PORT` once registered; on SIGTERM it stops and flushes its spans.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import grpc
from opentelemetry import trace

from generated.registry.v1 import instance_pb2, registry_service_pb2, registry_service_pb2_grpc
from tests.helpers import tracing
from tests.helpers.inbox import Inbox, fetch_delivery_keys, start_inbox


async def main(registry: str, service: str, instance_id: str) -> None:
    provider = tracing.install(service)
    keys, issuer = await fetch_delivery_keys(registry)
    inbox = Inbox(service, instance_id, keys, issuer, tracer=trace.get_tracer("inbox"))
    server, port = await start_inbox(inbox)
    endpoint = instance_pb2.Endpoint(
        name="inbox", host="127.0.0.1", port=port, protocol=instance_pb2.ENDPOINT_PROTOCOL_GRPC
    )
    async with grpc.aio.insecure_channel(registry) as channel:
        await registry_service_pb2_grpc.RegistryServiceStub(channel).Register(
            registry_service_pb2.RegisterRequest(
                instance=instance_pb2.Instance(
                    service_name=service, instance_id=instance_id, endpoints=[endpoint]
                )
            )
        )
    print(f"inbox serving address=127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(1)
    provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
