"""Relay test plumbing: target services (real Inbox servers) registered with a real registry, and
request builders."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as rpb
from generated.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from generated.registry.v1 import relay_service_pb2 as pb
from generated.registry.v1 import relay_service_pb2_grpc as pb_grpc
from tests.helpers.inbox import Inbox, fetch_delivery_keys, start_inbox

QUERY = epb.MESSAGE_TYPE_QUERY
COMMAND = epb.MESSAGE_TYPE_COMMAND


def relay_stub(channel: grpc.aio.Channel) -> pb_grpc.RelayServiceAsyncStub:
    return pb_grpc.RelayServiceStub(channel)


def send_request(
    target: str = "orders", name: str = "echo", kind: int = QUERY, /, **fields: Any
) -> pb.SendRequest:
    balancing = fields.pop("load_balancing", 0)
    envelope = epb.Envelope(type=kind, name=name, target_service=target, **fields)  # type: ignore[arg-type]
    return pb.SendRequest(envelope=envelope, load_balancing=balancing)


def reply_of(response: pb.SendResponse) -> dict[str, Any]:
    """The echo target's JSON description of what it received."""
    description: dict[str, Any] = json.loads(response.reply.payload)
    return description


class Targets:
    """Inbox servers for one registry; each registered as an instance with a GRPC endpoint."""

    def __init__(
        self, registry_address: str, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """`metadata`: what registration needs when auth is on (a token for the service, or admin)."""
        self._address = registry_address
        self._metadata = metadata
        self._registry = rpb_grpc.RegistryServiceStub(channel)
        self.inboxes: dict[str, Inbox] = {}
        self._servers: dict[str, grpc.aio.Server] = {}

    async def start(self, instance_id: str, service: str = "orders") -> Inbox:
        keys, issuer = await fetch_delivery_keys(self._address, self._metadata)
        inbox = Inbox(service, instance_id, keys, issuer)
        server, port = await start_inbox(inbox)
        self.inboxes[instance_id], self._servers[instance_id] = inbox, server
        endpoint = ipb.Endpoint(
            name="inbox", host="127.0.0.1", port=port, protocol=ipb.ENDPOINT_PROTOCOL_GRPC
        )
        await self._registry.Register(
            rpb.RegisterRequest(
                instance=ipb.Instance(service_name=service, instance_id=instance_id, endpoints=[endpoint])
            ),
            metadata=self._metadata,
        )
        return inbox

    async def kill(self, instance_id: str) -> None:
        """Stop serving without deregistering: the registry still believes in the instance."""
        await self._servers.pop(instance_id).stop(None)

    async def close(self) -> None:
        for server in self._servers.values():
            await server.stop(None)


@asynccontextmanager
async def targets_for(
    registry_address: str, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...] = ()
) -> AsyncIterator[Targets]:
    targets = Targets(registry_address, channel, metadata)
    try:
        yield targets
    finally:
        await targets.close()
