"""Relay scopes with auth on: `send:<service>`, `publish:<pattern>`, `subscribe:<pattern>`, and the
sender's identity taken from its verified token, never from the request."""

from __future__ import annotations

import grpc

from generated.registry.v1 import envelope_pb2 as epb
from generated.registry.v1 import relay_service_pb2 as pb
from tests.auth.support import bearer, jwt_registry, refused, token
from tests.conftest import StartRegistry
from tests.helpers.relay_api import relay_stub, reply_of, send_request, targets_for
from tests.helpers.streams import StreamingCall, read

DENIED = grpc.StatusCode.PERMISSION_DENIED


def admin() -> tuple[tuple[str, str], ...]:
    """A fresh admin token (a module-level one would expire in a long test run)."""
    return bearer(token("ops", "admin"))


def publish(name: str) -> pb.PublishRequest:
    return pb.PublishRequest(envelope=epb.Envelope(name=name))


async def first_response(call: StreamingCall) -> pb.SubscribeResponse:
    try:
        return await read(call, pb.SubscribeResponse)
    finally:
        call.cancel()


async def test_send_needs_a_send_scope_naming_the_target(start_registry: StartRegistry) -> None:
    registry = await jwt_registry(start_registry)
    async with (
        grpc.aio.insecure_channel(registry.address) as channel,
        targets_for(registry.address, channel, admin()) as targets,
    ):
        await targets.start("orders-1")
        await targets.start("payments-1", service="payments")
        relay = relay_stub(channel)
        billing = bearer(token("billing", "send:orders"))
        spoofed = (*billing, ("x-source-service", "payments"))
        response = await relay.Send(send_request("orders"), metadata=spoofed, timeout=5)
        assert reply_of(response)["claims"]["sub"] == "billing", "the sender is the token's subject"
        assert targets.inboxes["orders-1"].arrivals[0].envelope.source_service == "billing"

        error = await refused(
            relay.Send(send_request("payments"), metadata=billing), DENIED, "PERMISSION_DENIED"
        )
        assert "send:payments" in (error.details() or "")
        await refused(
            relay.Send(send_request("orders"), metadata=bearer(token("billing", "discover"))),
            DENIED,
            "PERMISSION_DENIED",
        )
        anyone = bearer(token("billing", "send:*"))
        assert (
            await relay.Send(send_request("payments"), metadata=anyone, timeout=5)
        ).instance_id == "payments-1"
        await refused(relay.Send(send_request("orders")), grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")
        assert not targets.inboxes["payments-1"].arrivals[1:], "refused sends never reach a target"


async def test_publish_needs_a_scope_covering_the_topic(start_registry: StartRegistry) -> None:
    registry = await jwt_registry(start_registry)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        relay = relay_stub(channel)
        billing = bearer(token("billing", "publish:billing.#"))
        published = await relay.Publish(publish("billing.invoice.paid"), metadata=billing)
        await refused(
            relay.Publish(publish("orders.order.created"), metadata=billing), DENIED, "PERMISSION_DENIED"
        )
        listed = await relay.ListEvents(pb.ListEventsRequest(), metadata=admin())
    assert [(e.sequence, e.source_service) for e in listed.events] == [(published.sequence, "billing")]


async def test_subscribe_and_history_need_a_scope_covering_every_pattern(
    start_registry: StartRegistry,
) -> None:
    registry = await jwt_registry(start_registry)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        relay = relay_stub(channel)
        crm = bearer(token("crm", "subscribe:orders.*"))

        def request(*topics: str) -> pb.SubscribeRequest:
            return pb.SubscribeRequest(filter=pb.EventFilter(topics=topics))

        for allowed in (["orders.created"], ["orders.*"], ["orders.created", "orders.paid"]):
            response = await first_response(relay.Subscribe(request(*allowed), metadata=crm))
            assert response.WhichOneof("kind") == "started"
        for denied in (["orders.#"], ["billing.created"], [], ["orders.created", "billing.x"]):
            await refused(
                first_response(relay.Subscribe(request(*denied), metadata=crm)), DENIED, "PERMISSION_DENIED"
            )
        await relay.ListEvents(pb.ListEventsRequest(filter=pb.EventFilter(topics=["orders.*"])), metadata=crm)
        await refused(relay.ListEvents(pb.ListEventsRequest(), metadata=crm), DENIED, "PERMISSION_DENIED")
        await refused(
            relay.ListEvents(pb.ListEventsRequest(), metadata=bearer(token("crm", "send:*"))),
            DENIED,
            "PERMISSION_DENIED",
        )


async def test_delivery_keys_need_a_token_but_no_scope(start_registry: StartRegistry) -> None:
    registry = await jwt_registry(start_registry)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        relay = relay_stub(channel)
        keys = await relay.GetDeliveryKeys(pb.GetDeliveryKeysRequest(), metadata=bearer(token("crm", "")))
        assert keys.issuer == "registry"
        assert registry.signer.key_id in keys.jwks
        await refused(
            relay.GetDeliveryKeys(pb.GetDeliveryKeysRequest()),
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_MISSING",
        )
