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
- `subscribe` is an async iterator over events. It reconnects on failure with backoff and full
  jitter, resumes after the last sequence the registry confirmed (so nothing is missed), drops
  duplicates the at-least-once resume can produce, and reopens its stream before the token is due
  for refresh. It reads the stream only when the consumer asks for the next event, so a slow
  consumer is back-pressure, never memory.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypedDict, Unpack

import grpc
from opentelemetry import trace

from client import _keywords
from client._proto import envelope_pb, relay_pb
from client.backoff import Backoff
from client.breaker import BreakerBoard, CircuitBreaker, counts_as_failure
from client.errors import CircuitOpenError, RegistryClientError, UnavailableError, from_rpc_error, translated
from client.transport import Transport

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("client.messaging")

Payload = bytes | str | Mapping[str, Any] | Sequence[Any] | int | float | bool | None
"""What a message body may be given as; see `encode`."""

REGISTRY_BREAKER_RESET = 2.0
"""Longest time the registry's own breaker (publish) stays open: short, because a recovered
registry should get events again promptly."""
DROP_LOG_INTERVAL = 10.0
DEDUP_WINDOW = 1024
"""Recent event sequences a subscription remembers to drop redelivered duplicates."""


class Priority(enum.IntEnum):
    LOW = envelope_pb.PRIORITY_LOW
    NORMAL = envelope_pb.PRIORITY_NORMAL
    HIGH = envelope_pb.PRIORITY_HIGH
    CRITICAL = envelope_pb.PRIORITY_CRITICAL


class MessageType(enum.Enum):
    COMMAND = envelope_pb.MESSAGE_TYPE_COMMAND
    QUERY = envelope_pb.MESSAGE_TYPE_QUERY
    EVENT = envelope_pb.MESSAGE_TYPE_EVENT


# The keyword parameters of send, query and publish, declared once for Messenger, RegistryClient
# and SyncRegistryClient (see client/_keywords.py).


class MessageOptions(TypedDict, total=False):
    headers: Mapping[str, str] | None
    """Application headers, passed to the handler unchanged."""
    tenant_id: str


class QueryOptions(MessageOptions, total=False):
    call_timeout: float | None
    """Seconds to wait for the reply; None: the client's call_timeout."""


class SendOptions(QueryOptions, total=False):
    idempotency_key: str
    """Lets the registry retry the command on another instance, and the target tell a repeat."""


class PublishOptions(MessageOptions, total=False):
    priority: Priority
    """Order among events waiting for a lagging subscriber (default NORMAL)."""
    target: str
    """Address the event to one service (subscribers may filter on it); empty: broadcast."""


def encode(payload: Payload) -> tuple[bytes, str]:
    """Body bytes and content type: bytes as given, text as UTF-8, anything else as JSON."""
    if payload is None:
        return b"", ""
    if isinstance(payload, bytes):
        return payload, "application/octet-stream"
    if isinstance(payload, str):
        return payload.encode(), "text/plain; charset=utf-8"
    return json.dumps(payload, separators=(",", ":")).encode(), "application/json"


class _Body:
    """Decoding helpers shared by messages and replies."""

    payload: bytes
    content_type: str

    @property
    def text(self) -> str:
        return self.payload.decode()

    def json(self) -> Any:
        """The payload parsed as JSON (None when empty)."""
        return json.loads(self.payload) if self.payload else None


@dataclass(frozen=True, slots=True)
class Message(_Body):
    """A relayed command, query or event as a receiver sees it."""

    id: str
    type: MessageType
    name: str
    source_service: str
    target_service: str
    payload: bytes
    content_type: str
    headers: Mapping[str, str]
    tenant_id: str
    priority: Priority
    trace_id: str
    sequence: int
    idempotency_key: str
    trace_context: Mapping[str, str]

    @classmethod
    def from_proto(cls, envelope: envelope_pb.Envelope) -> Message:
        return cls(
            id=envelope.id,
            type=MessageType(envelope.type or envelope_pb.MESSAGE_TYPE_EVENT),
            name=envelope.name,
            source_service=envelope.source_service,
            target_service=envelope.target_service,
            payload=envelope.payload,
            content_type=envelope.content_type,
            headers=MappingProxyType(dict(envelope.headers)),
            tenant_id=envelope.tenant_id,
            priority=Priority(envelope.priority or Priority.NORMAL),
            trace_id=envelope.trace_id,
            sequence=envelope.sequence,
            idempotency_key=envelope.idempotency_key,
            trace_context=MappingProxyType(dict(envelope.trace_context)),
        )


@dataclass(frozen=True, slots=True)
class Reply(_Body):
    """What the target of a command or query answered, and how it got there."""

    payload: bytes = b""
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    envelope_id: str = ""
    trace_id: str = ""
    instance_id: str = ""
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Published:
    """A stored event: its id, its position in the log and its trace."""

    event_id: str
    sequence: int
    trace_id: str


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


class Subscription:
    """An async iterator of `Message`s that survives disconnects; see the module docstring.

    `resume_after` is the sequence it will resume after; `aclose()` ends it.
    """

    def __init__(
        self,
        transport: Transport,
        event_filter: relay_pb.EventFilter,
        after_sequence: int | None,
        registry: weakref.WeakSet[Subscription],
    ) -> None:
        self._transport = transport
        self._filter = event_filter
        self.resume_after = after_sequence
        self._registry = registry
        config = transport.config
        self._backoff = Backoff(config.backoff_base, config.backoff_cap)
        self._call: Any = None
        self._rotate_at = 0.0
        self._pending: Message | None = None
        self._seen: deque[int] = deque(maxlen=DEDUP_WINDOW)
        self._seen_set: set[int] = set()
        self._closed = False
        self.reconnects = 0
        self.started = asyncio.Event()
        """Set once the registry confirmed the subscription (first `started` response)."""

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        pending, self._pending = self._pending, None
        if pending is not None:
            return pending
        while not self._closed:
            message = await self._step()
            if message is not None:
                return message
        raise StopAsyncIteration

    async def wait_started(self) -> None:
        """Open the stream now and wait until the registry confirms it, so events published from
        here on are delivered (by default a subscription starts at the newest event)."""
        while not self.started.is_set() and not self._closed:
            message = await self._step()
            if message is not None:  # only on a resumed stream; kept for the next __anext__
                self._pending = message
                return

    async def _step(self) -> Message | None:
        """One read, or one failure followed by its backoff."""
        try:
            return await self._next_from_stream()
        except RegistryClientError as error:
            self._drop_call()
            self.reconnects += 1
            delay = self._backoff.next_delay()
            log.info("subscription failed (%s); resuming after %s in %.3fs", error, self.resume_after, delay)
            await asyncio.sleep(delay)
            return None

    async def _next_from_stream(self) -> Message | None:
        """The next new event, or None when the stream was rotated or sent a non-event."""
        if self._call is None:
            self._open()
        remaining = self._rotate_at - time.monotonic()
        try:
            async with asyncio.timeout(max(0.0, remaining)):  # not wait_for (see discovery.py)
                response = await self._call.read()
        except TimeoutError:
            self._drop_call()  # due for a fresh token: reopen, resuming after the last sequence
            return None
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        if not isinstance(response, relay_pb.SubscribeResponse):  # EOF
            raise UnavailableError("the registry ended the subscription")
        self._backoff.reset()
        if response.WhichOneof("kind") == "started":
            self.started.set()
            if self.resume_after is None:
                self.resume_after = response.started.head_sequence
        if response.resume_after_sequence:
            self.resume_after = max(self.resume_after or 0, response.resume_after_sequence)
        if response.WhichOneof("kind") != "event" or self._duplicate(response.event.sequence):
            return None
        return Message.from_proto(response.event)

    def _duplicate(self, sequence: int) -> bool:
        if sequence in self._seen_set:
            return True
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(sequence)
        self._seen_set.add(sequence)
        return False

    def _open(self) -> None:
        transport = self._transport
        request = relay_pb.SubscribeRequest(filter=self._filter)
        if self.resume_after is not None:
            request.after_sequence = self.resume_after
        lifetime = transport.stream_lifetime()
        self._rotate_at = time.monotonic() + lifetime
        self._call = transport.relay.Subscribe(request, timeout=transport.stream_deadline(lifetime))

    def _drop_call(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    async def aclose(self) -> None:
        self._closed = True
        self._drop_call()
        self._registry.discard(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
