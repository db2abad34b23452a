"""Messaging through the registry: commands, queries, events, subscriptions.

A service names the target, never an address: `send("ai-agents", "analyze", {...})` reaches one
healthy instance of ai-agents through the registry's relay, with the caller's deadline and trace
context. Payloads are bytes, text, or anything JSON can encode (sent as `application/json`).

- `send` / `query` go through the target's circuit breaker, so a dead target fails fast with
  `CircuitOpenError` instead of piling up calls. Neither is retried by the SDK: the registry
  retries a query, or a command with an idempotency key, on another instance itself.
- `publish` returns the stored event's sequence and trace id. With degradation on (opt-in, as
  000's client never crashes its service) it returns False and logs when the registry cannot be
  reached, and keeps nothing: no queue can grow while the registry is down. Log lines about
  dropped events are rate-limited to one per `DROP_LOG_INTERVAL` seconds, with a count. A breaker
  on the registry itself (open for at most `REGISTRY_BREAKER_RESET` s) makes drops instant when the
  registry hangs instead of refusing connections, so a request handler never waits out a timeout
  per event.
- `subscribe` is an async iterator over events (client/subscription.py). It reconnects on failure
  with backoff and full jitter, resumes after the last sequence the registry confirmed (so nothing
  is missed), drops duplicates the at-least-once resume can produce, and reopens its stream before
  the token is due for refresh. It reads the stream only when the consumer asks for the next
  event, so a slow consumer is back-pressure, never memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Sequence
from types import MappingProxyType
from typing import Literal, Unpack

from opentelemetry import trace

from client import _keywords
from client._proto import envelope_pb, relay_pb
from client.breaker import BreakerBoard, CircuitBreaker, counts_as_failure
from client.errors import CircuitOpenError, RegistryClientError, translated
from client.message_types import (
    Message,
    MessageOptions,
    MessageType,
    Payload,
    Priority,
    Published,
    PublishOptions,
    QueryOptions,
    Reply,
    SendOptions,
    encode,
)
from client.subscription import DEDUP_WINDOW, Subscription
from client.transport import Transport

__all__ = [  # the values and Subscription live in their own modules; importable from here as before
    "DEDUP_WINDOW",
    "DROP_LOG_INTERVAL",
    "REGISTRY_BREAKER_RESET",
    "Message",
    "MessageOptions",
    "MessageType",
    "Messenger",
    "Payload",
    "Priority",
    "PublishOptions",
    "Published",
    "QueryOptions",
    "Reply",
    "SendOptions",
    "Subscription",
    "encode",
]

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("client.messaging")

REGISTRY_BREAKER_RESET = 2.0
"""Longest time the registry's own breaker (publish) stays open: short, because a recovered
registry should get events again promptly."""
DROP_LOG_INTERVAL = 10.0


class Messenger:
    """The messaging half of a RegistryClient."""

    def __init__(self, transport: Transport, breakers: BreakerBoard, *, degrade: bool = False) -> None:
        self._transport = transport
        self._breakers = breakers
        self.registry_breaker = CircuitBreaker(
            "(registry)", reset_timeout=min(breakers.reset_timeout, REGISTRY_BREAKER_RESET)
        )
        """Guards publish: when the registry hangs, events are refused at once instead of each
        waiting out the call timeout."""
        self.degrade = degrade
        self.dropped = 0
        """Events `publish` dropped in degradation mode."""
        self._last_drop_log = -DROP_LOG_INTERVAL
        self._subscriptions: weakref.WeakSet[Subscription] = weakref.WeakSet()

    async def send(
        self, target: str, command: str, payload: Payload = None, **options: Unpack[SendOptions]
    ) -> Reply:
        """A command to one instance of `target`; its reply, or its error status as an exception."""
        _keywords.check(options, SendOptions, "send")
        envelope = self._envelope(MessageType.COMMAND, command, payload, target, options)
        envelope.idempotency_key = options.get("idempotency_key", "")
        return await self._deliver(envelope, options.get("call_timeout"))

    async def query(
        self, target: str, name: str, payload: Payload = None, **options: Unpack[QueryOptions]
    ) -> Reply:
        """A query to one instance of `target` (the registry retries it once elsewhere)."""
        _keywords.check(options, QueryOptions, "query")
        envelope = self._envelope(MessageType.QUERY, name, payload, target, options)
        return await self._deliver(envelope, options.get("call_timeout"))

    async def publish(
        self, topic: str, payload: Payload = None, **options: Unpack[PublishOptions]
    ) -> Published | Literal[False]:
        """Store and fan out an event; see the module docstring for degradation."""
        _keywords.check(options, PublishOptions, "publish")
        envelope = self._envelope(MessageType.EVENT, topic, payload, options.get("target", ""), options)
        envelope.priority = envelope_pb.Priority.ValueType(options.get("priority", Priority.NORMAL))
        transport = self._transport

        async def call() -> relay_pb.PublishResponse:
            with translated():
                return await transport.relay.Publish(
                    relay_pb.PublishRequest(envelope=envelope), timeout=transport.call_timeout
                )

        with _tracer.start_as_current_span(f"publish {topic}", kind=trace.SpanKind.PRODUCER):
            try:
                response = await self.registry_breaker.call(call)
            except RegistryClientError as error:
                registry_down = isinstance(error, CircuitOpenError) or counts_as_failure(error)
                if not (self.degrade and registry_down):
                    raise
                self._dropped(topic, error)
                return False
        return Published(response.event_id, response.sequence, response.trace_id)

    def subscribe(
        self,
        *topics: str,
        after_sequence: int | None = None,
        tenant_id: str = "",
        sources: Sequence[str] = (),
    ) -> Subscription:
        """Events on `topics` (AMQP patterns: `*` one segment, `#` any); see `Subscription`."""
        event_filter = relay_pb.EventFilter(
            topics=list(topics), tenant_id=tenant_id, source_services=list(sources)
        )
        subscription = Subscription(self._transport, event_filter, after_sequence, self._subscriptions)
        self._subscriptions.add(subscription)
        return subscription

    async def close(self) -> None:
        await asyncio.gather(*(s.aclose() for s in list(self._subscriptions)), return_exceptions=True)

    def _envelope(
        self, kind: MessageType, name: str, payload: Payload, target: str, options: MessageOptions
    ) -> envelope_pb.Envelope:
        body, content_type = encode(payload)
        return envelope_pb.Envelope(
            type=kind.value,
            name=name,
            target_service=target,
            payload=body,
            content_type=content_type,
            headers=dict(options.get("headers") or {}),
            tenant_id=options.get("tenant_id", ""),
        )

    async def _deliver(self, envelope: envelope_pb.Envelope, call_timeout: float | None) -> Reply:
        transport = self._transport
        deadline = call_timeout if call_timeout is not None else transport.call_timeout

        async def call() -> relay_pb.SendResponse:
            with translated():
                return await transport.relay.Send(relay_pb.SendRequest(envelope=envelope), timeout=deadline)

        kind = "send" if envelope.type == envelope_pb.MESSAGE_TYPE_COMMAND else "query"
        with _tracer.start_as_current_span(
            f"{kind} {envelope.target_service}.{envelope.name}", kind=trace.SpanKind.CLIENT
        ):
            response = await self._breakers[envelope.target_service].call(call)
        reply = response.reply
        return Reply(
            payload=reply.payload,
            content_type=reply.content_type,
            headers=MappingProxyType(dict(reply.headers)),
            envelope_id=response.envelope_id,
            trace_id=response.trace_id,
            instance_id=response.instance_id,
            attempts=response.attempts,
        )

    def _dropped(self, topic: str, error: RegistryClientError) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_log >= DROP_LOG_INTERVAL:
            self._last_drop_log = now
            log.warning(
                "registry unavailable, event %r dropped (%d dropped so far): %s", topic, self.dropped, error
            )
