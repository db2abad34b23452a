"""A target service for relay tests: an InboxService built from the generated stubs only, the way
a real service would implement it, which verifies every delivery token against the registry's
published keys.

What it does is chosen by the envelope's name:
- `echo` (or anything else): reply with a JSON description of what arrived (envelope fields,
  verified token claims, the deadline it saw, the trace it ran in);
- `sleep`: sleep `headers["sleep"]` seconds first (deadline tests);
- `fail`: fail with the status code named in `headers["code"]` (e.g. `UNAVAILABLE`), on every
  instance or, when `headers["instance"]` is set, only on that one.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import grpc
import jwt
from opentelemetry import trace
from opentelemetry.propagate import extract

from generated.registry.v1 import envelope_pb2, inbox_service_pb2, inbox_service_pb2_grpc
from generated.registry.v1 import relay_service_pb2 as relay_pb
from generated.registry.v1 import relay_service_pb2_grpc as relay_grpc


async def fetch_delivery_keys(
    registry_address: str, metadata: tuple[tuple[str, str], ...] = ()
) -> tuple[jwt.PyJWKSet, str]:
    async with grpc.aio.insecure_channel(registry_address) as channel:
        stub = relay_grpc.RelayServiceStub(channel)
        keys = await stub.GetDeliveryKeys(relay_pb.GetDeliveryKeysRequest(), metadata=metadata)
    return jwt.PyJWKSet.from_json(keys.jwks), keys.issuer


@dataclass
class Arrival:
    """What one delivery looked like on arrival."""

    envelope: envelope_pb2.Envelope
    claims: dict[str, Any]
    time_remaining: float | None
    metadata: dict[str, str]
    cancelled: bool = False


@dataclass
class Inbox(inbox_service_pb2_grpc.InboxServiceServicer):
    service_name: str
    instance_id: str
    keys: jwt.PyJWKSet
    issuer: str
    tracer: trace.Tracer = field(default_factory=lambda: trace.get_tracer("inbox"))
    arrivals: list[Arrival] = field(default_factory=list)

    def verify(self, token: str, envelope_id: str) -> dict[str, Any]:
        header = jwt.get_unverified_header(token)
        key = self.keys[header["kid"]]
        claims: dict[str, Any] = jwt.decode(
            token, key.key, algorithms=["EdDSA"], audience=self.service_name, issuer=self.issuer
        )
        if claims["eid"] != envelope_id:
            raise ValueError("token names another envelope")
        return claims

    async def Deliver(
        self, request: inbox_service_pb2.DeliverRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> inbox_service_pb2.DeliverResponse:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        with self.tracer.start_as_current_span(
            "inbox.handle", context=extract(metadata), kind=trace.SpanKind.SERVER
        ) as span:
            try:
                claims = self.verify(request.delivery_token, request.envelope.id)
            except (jwt.PyJWTError, KeyError, ValueError) as exc:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, f"delivery token rejected: {exc}")
            arrival = Arrival(request.envelope, claims, context.time_remaining(), metadata)
            self.arrivals.append(arrival)
            envelope = request.envelope
            if envelope.name == "sleep":
                try:
                    await asyncio.sleep(float(envelope.headers["sleep"]))
                except asyncio.CancelledError:
                    arrival.cancelled = True
                    raise
            if (
                envelope.name == "fail"
                and envelope.headers.get("instance", self.instance_id) == self.instance_id
            ):
                await context.abort(grpc.StatusCode[envelope.headers["code"]], "failing on purpose")
            description = {
                "instance_id": self.instance_id,
                "envelope_id": envelope.id,
                "trace_id": envelope.trace_id,
                "handler_trace_id": format(span.get_span_context().trace_id, "032x"),
                "source_service": envelope.source_service,
                "claims": claims,
                "time_remaining": arrival.time_remaining,
                "payload": envelope.payload.decode(errors="replace"),
            }
        reply = envelope_pb2.Reply(
            payload=json.dumps(description).encode(),
            content_type="application/json",
            headers={"served-by": "x"},
        )
        return inbox_service_pb2.DeliverResponse(reply=reply)


async def start_inbox(inbox: Inbox, port: int = 0) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    inbox_service_pb2_grpc.add_InboxServiceServicer_to_server(inbox, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, bound
