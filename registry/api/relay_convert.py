"""Proto <-> domain conversion for relayed messages (envelope.proto, relay_service.proto).

Only the fields a sender may set are read from a proto envelope; the output-only ones are left
to `registry.core.messages.accept`, so a forged `source_service` or `sequence` never even reaches
the domain.
"""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType

from generated.registry.v1 import envelope_pb2 as epb
from registry.api.convert import timestamp_message
from registry.core import messages
from registry.core.messages import Envelope, MessageType, Reply


def envelope_from_proto(message: epb.Envelope, kind: MessageType, field: str = "envelope") -> Envelope:
    """The sender's fields of `message`, as a `kind` message (the RPC has checked the type)."""
    return Envelope(
        type=kind,
        name=message.name,
        target_service=message.target_service,
        payload=message.payload,
        content_type=message.content_type,
        headers=MappingProxyType(dict(message.headers)),
        tenant_id=message.tenant_id,
        priority=messages.priority(message.priority, f"{field}.priority"),
        idempotency_key=message.idempotency_key,
        id=message.id,
    )


def envelope_message(envelope: Envelope) -> epb.Envelope:
    return epb.Envelope(
        id=envelope.id,
        type=int(envelope.type),  # type: ignore[arg-type]
        name=envelope.name,
        source_service=envelope.source_service,
        target_service=envelope.target_service,
        payload=envelope.payload,
        content_type=envelope.content_type,
        headers=envelope.headers,
        tenant_id=envelope.tenant_id,
        priority=int(envelope.priority),  # type: ignore[arg-type]
        trace_id=envelope.trace_id,
        idempotency_key=envelope.idempotency_key,
        create_time=timestamp_message(envelope.create_time),
        sequence=envelope.sequence,
        trace_context=envelope.trace_context,
    )


def reply_from_proto(message: epb.Reply) -> Reply:
    return Reply(message.payload, message.content_type, MappingProxyType(dict(message.headers)))


def reply_message(reply: Reply) -> epb.Reply:
    return epb.Reply(payload=reply.payload, content_type=reply.content_type, headers=reply.headers)


class EventMessages:
    """Proto envelopes of recent events, built once however many subscribers receive them: the
    fan-out converts each event once instead of once per subscriber. At most `size` are kept
    (least recently used dropped)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._cache: OrderedDict[int, epb.Envelope] = OrderedDict()

    def message(self, event: Envelope) -> epb.Envelope:
        cached = self._cache.get(event.sequence)
        if cached is not None:
            self._cache.move_to_end(event.sequence)
            return cached
        cached = self._cache[event.sequence] = envelope_message(event)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return cached
