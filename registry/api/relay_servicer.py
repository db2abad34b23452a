"""RelayService: requests converted to relay and event-bus calls, answers converted back.

Also where the caller's identity meets the message: the source service is the verified token's
subject (with auth off: the `x-source-service` header, which nothing verifies), and the scopes
that name a target or topic (`send:`, `publish:`, `subscribe:`) are checked here, against the
request's fields, after the interceptor has checked the caller holds some grant of that kind.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from generated.registry.v1 import relay_service_pb2 as pb
from generated.registry.v1 import relay_service_pb2_grpc as pb_grpc
from registry.api.convert import seconds, timestamp_message
from registry.api.relay_convert import (
    EventMessages,
    envelope_from_proto,
    envelope_message,
    reply_message,
)
from registry.auth.identity import LOCAL, Identity, current_identity
from registry.auth.policy import require_publish, require_send, require_subscribe
from registry.core import event_filter, messages, validation
from registry.core.errors import InvalidArgument
from registry.core.event_filter import EventFilter
from registry.core.events import EventBus, EventQuery
from registry.core.graph_traffic import Traffic
from registry.core.messages import MessageType, Stamp
from registry.core.ports import DeliveryTokenSigner
from registry.core.relay import Balancing, Relay
from registry.telemetry import current_carrier, current_trace_id
from registry.wire.binding import ServiceBinding
from registry.wire.status import maps_domain_errors

Context = grpc.aio.ServicerContext[Any, Any]

SOURCE_HEADER = "x-source-service"
"""With auth off, the sender may name itself here. Unverified: for trusted networks only."""

_SERVICE = pb.DESCRIPTOR.services_by_name["RelayService"]
TRACED_METHODS = tuple(f"/{_SERVICE.full_name}/{name}" for name in ("Send", "Publish"))
"""The methods the tracing interceptor wraps in a SERVER span."""

_BALANCING = {0: Balancing.ROUND_ROBIN, 1: Balancing.ROUND_ROBIN, 2: Balancing.LEAST_LOADED}
_SENDABLE = (MessageType.COMMAND, MessageType.QUERY)


def _source(identity: Identity, context: Context) -> str:
    if identity is not LOCAL:
        return identity.service
    for key, value in context.invocation_metadata() or ():
        if key == SOURCE_HEADER and isinstance(value, str):
            validation.service_name(value, f"{SOURCE_HEADER} header")
            return value
    return ""


def _stamp(identity: Identity, context: Context) -> Stamp:
    return Stamp(_source(identity, context), current_trace_id(), current_carrier(), time.time())


def _filter(message: pb.EventFilter, identity: Identity) -> EventFilter:
    built = event_filter.build(
        message.topics, message.tenant_id, message.source_services, message.target_services
    )
    for pattern in built.patterns:
        require_subscribe(identity, pattern)
    return built


@maps_domain_errors
class RelayServicer(pb_grpc.RelayServiceServicer):
    def __init__(
        self,
        relay: Relay,
        bus: EventBus,
        signer: DeliveryTokenSigner,
        *,
        max_payload_bytes: int,
        traffic: Traffic | None = None,
    ) -> None:
        self._relay = relay
        self._traffic = traffic
        self._bus = bus
        self._signer = signer
        self._max_payload = max_payload_bytes
        self._events = EventMessages()

    def binding(self) -> ServiceBinding:
        return ServiceBinding(
            full_name=_SERVICE.full_name,
            add=functools.partial(pb_grpc.add_RelayServiceServicer_to_server, self),
        )

    async def Send(self, request: pb.SendRequest, context: Context) -> pb.SendResponse:
        if not request.HasField("envelope"):
            raise InvalidArgument("envelope", "required")
        kind = messages.message_type(request.envelope.type)
        if kind not in _SENDABLE:
            raise InvalidArgument(
                "envelope.type",
                "Send takes MESSAGE_TYPE_COMMAND or MESSAGE_TYPE_QUERY; publish events with Publish",
            )
        balancing = _BALANCING.get(request.load_balancing)
        if balancing is None:
            raise InvalidArgument("load_balancing", f"{request.load_balancing} is not a LoadBalancing value")
        identity = current_identity()
        envelope = messages.accept(
            envelope_from_proto(request.envelope, kind), _stamp(identity, context), self._max_payload
        )
        require_send(identity, envelope.target_service)
        delivered = await self._relay.send(envelope, balancing, context.time_remaining())
        return pb.SendResponse(
            reply=reply_message(delivered.reply),
            envelope_id=envelope.id,
            trace_id=envelope.trace_id,
            instance_id=delivered.instance_id,
            attempts=delivered.attempts,
        )

    async def Publish(self, request: pb.PublishRequest, context: Context) -> pb.PublishResponse:
        if not request.HasField("envelope"):
            raise InvalidArgument("envelope", "required")
        if messages.message_type(request.envelope.type) not in (None, MessageType.EVENT):
            raise InvalidArgument("envelope.type", "Publish takes MESSAGE_TYPE_EVENT (or unset); use Send")
        identity = current_identity()
        event = envelope_from_proto(request.envelope, MessageType.EVENT)
        envelope = messages.accept(event, _stamp(identity, context), self._max_payload)
        require_publish(identity, envelope.name)
        stored = await self._bus.publish(envelope)
        return pb.PublishResponse(
            event_id=stored.id,
            sequence=stored.sequence,
            trace_id=stored.trace_id,
            create_time=timestamp_message(stored.create_time),
        )

    async def Subscribe(
        self, request: pb.SubscribeRequest, context: Context
    ) -> AsyncIterator[pb.SubscribeResponse]:
        identity = current_identity()
        wanted = _filter(request.filter, identity)
        subscriber = _source(identity, context)
        start = request.WhichOneof("start")
        subscription = await self._bus.subscribe(
            wanted,
            after_sequence=request.after_sequence if start == "after_sequence" else None,
            start_time=seconds(request.start_time) if start == "start_time" else None,
            caller=identity.service,
        )
        try:
            started = pb.SubscriptionStarted(
                head_sequence=subscription.head_at_start, oldest_sequence=subscription.oldest_at_start
            )
            yield pb.SubscribeResponse(started=started, resume_after_sequence=subscription.start_after)
            async for delivery in subscription:
                if self._traffic is not None:
                    event = delivery.event
                    age = time.time() - event.create_time
                    self._traffic.record(event.source_service, subscriber, MessageType.EVENT, 0, age)
                yield pb.SubscribeResponse(
                    event=self._events.message(delivery.event), resume_after_sequence=delivery.resume_after
                )
        finally:
            subscription.close()

    async def ListEvents(self, request: pb.ListEventsRequest, context: Context) -> pb.ListEventsResponse:
        query = EventQuery(
            filter=_filter(request.filter, current_identity()),
            after_sequence=request.after_sequence,
            start_time=seconds(request.start_time) if request.HasField("start_time") else 0.0,
            end_time=seconds(request.end_time) if request.HasField("end_time") else 0.0,
            newest_first=request.newest_first,
        )
        page = await self._bus.list_events(query, request.page_size, request.page_token)
        return pb.ListEventsResponse(
            events=[envelope_message(e) for e in page.events],
            next_page_token=page.next_page_token,
            head_sequence=page.head,
        )

    async def GetDeliveryKeys(
        self, request: pb.GetDeliveryKeysRequest, context: Context
    ) -> pb.GetDeliveryKeysResponse:
        return pb.GetDeliveryKeysResponse(jwks=self._signer.jwks, issuer=self._signer.issuer)
