"""The values of messaging: payloads, priorities, messages, replies, and the keyword sets of
send, query and publish. Shared by the Messenger (client/messaging.py), subscriptions
(client/subscription.py) and the Inbox server (client/inbox.py).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypedDict

from client._proto import envelope_pb

Payload = bytes | str | Mapping[str, Any] | Sequence[Any] | int | float | bool | None
"""What a message body may be given as; see `encode`."""


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
