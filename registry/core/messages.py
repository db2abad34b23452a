"""Relayed messages: the envelope, its enums, and every rule an envelope must meet.

The proto comments (protos/registry/v1/envelope.proto) document these rules for senders; this
module enforces them, with the numbers from the one table in `registry.core.limits`. `accept` is
the single door through which a sender's envelope enters the relay: it checks the caller's fields,
drops the output-only ones the caller may have set, and stamps what the registry owns (id, source,
trace, time), so nothing downstream ever sees an unchecked or forged envelope."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from registry.core import validation
from registry.core.errors import InvalidArgument
from registry.core.limits import LIMITS

_EMPTY: Mapping[str, str] = MappingProxyType({})


class MessageType(enum.IntEnum):
    """How a message is delivered (proto `MessageType`)."""

    COMMAND = 1
    QUERY = 2
    EVENT = 3


class Priority(enum.IntEnum):
    """Order among events waiting for a lagging subscriber (proto `Priority`); higher goes first."""

    LOW = 1
    NORMAL = 2
    HIGH = 3
    CRITICAL = 4


_ID = validation.pattern(rf"[A-Za-z0-9_.:-]{{1,{LIMITS.envelope_id_length}}}")
SEGMENT = validation.pattern(rf"[A-Za-z0-9_-]{{1,{LIMITS.topic_segment_length}}}")
"""One segment of a topic or message name (also of a scope's topic pattern)."""
_HEADER_KEY = validation.pattern(rf"[a-z0-9_.-]{{1,{LIMITS.header_key_length}}}")
_TENANT = validation.pattern(rf"[A-Za-z0-9_.:-]{{0,{LIMITS.tenant_id_length}}}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One relayed message (proto `Envelope`). Times are Unix seconds."""

    type: MessageType
    name: str
    target_service: str = ""
    payload: bytes = b""
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    tenant_id: str = ""
    priority: Priority = Priority.NORMAL
    idempotency_key: str = ""
    id: str = ""
    source_service: str = ""
    trace_id: str = ""
    trace_context: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    create_time: float = 0.0
    sequence: int = 0


def sequenced(event: Envelope, sequence: int) -> Envelope:
    """`event` with its sequence in the event log; built field by field (`dataclasses.replace`
    costs several times more, once per stored event)."""
    return Envelope(
        event.type,
        event.name,
        event.target_service,
        event.payload,
        event.content_type,
        event.headers,
        event.tenant_id,
        event.priority,
        event.idempotency_key,
        event.id,
        event.source_service,
        event.trace_id,
        event.trace_context,
        event.create_time,
        sequence,
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """What the target of a command or query answered (proto `Reply`)."""

    payload: bytes = b""
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What the registry, not the sender, says about a message it accepts."""

    source_service: str
    trace_id: str
    trace_context: Mapping[str, str]
    now: float


def message_type(number: int, field_path: str = "envelope.type") -> MessageType | None:
    """The proto enum number as a MessageType; None for UNSPECIFIED (0)."""
    if number == 0:
        return None
    try:
        return MessageType(number)
    except ValueError:
        raise InvalidArgument(field_path, f"unknown message type {number}") from None


def priority(number: int, field_path: str = "envelope.priority") -> Priority:
    """The proto enum number as a Priority; UNSPECIFIED (0) means NORMAL."""
    if number == 0:
        return Priority.NORMAL
    try:
        return Priority(number)
    except ValueError:
        raise InvalidArgument(field_path, f"unknown priority {number}") from None


def accept(envelope: Envelope, stamp: Stamp, max_payload_bytes: int, path: str = "envelope") -> Envelope:
    """Check a sender's envelope and return it as the registry relays it.

    `type` must already be COMMAND or QUERY (Send) or EVENT (Publish); the caller decides which
    types its RPC takes. Output-only fields set by the sender are replaced, never trusted.
    """
    _check(envelope, max_payload_bytes, path)
    # Built field by field: dataclasses.replace costs several times more, on every Send.
    return Envelope(
        type=envelope.type,
        name=envelope.name,
        target_service=envelope.target_service,
        payload=envelope.payload,
        content_type=envelope.content_type,
        headers=envelope.headers,
        tenant_id=envelope.tenant_id,
        priority=envelope.priority,
        idempotency_key=envelope.idempotency_key,
        id=envelope.id or str(uuid.uuid4()),
        source_service=stamp.source_service,
        trace_id=stamp.trace_id,
        trace_context=stamp.trace_context,
        create_time=stamp.now,
    )


def _check(envelope: Envelope, max_payload_bytes: int, path: str) -> None:
    if envelope.id and _ID.fullmatch(envelope.id) is None:
        raise InvalidArgument(
            f"{path}.id", f"must be 1-{LIMITS.envelope_id_length} characters of A-Z a-z 0-9 _ . : -"
        )
    topic_name(envelope.name, f"{path}.name")
    if envelope.type is MessageType.EVENT:
        if envelope.target_service:
            validation.service_name(envelope.target_service, f"{path}.target_service")
    else:
        validation.service_name(envelope.target_service, f"{path}.target_service")
    if len(envelope.payload) > max_payload_bytes:
        raise InvalidArgument(
            f"{path}.payload",
            f"{len(envelope.payload)} bytes; at most {max_payload_bytes} bytes",
            limit=max_payload_bytes,
        )
    if len(envelope.content_type) > LIMITS.content_type_length:
        raise InvalidArgument(
            f"{path}.content_type",
            f"at most {LIMITS.content_type_length} characters",
            limit=LIMITS.content_type_length,
        )
    headers(envelope.headers, f"{path}.headers")
    tenant_id(envelope.tenant_id, f"{path}.tenant_id")
    most = LIMITS.idempotency_key_length
    if len(envelope.idempotency_key) > most:
        raise InvalidArgument(f"{path}.idempotency_key", f"at most {most} characters", limit=most)


def topic_name(name: str, field_path: str) -> None:
    """A message name or event topic: dot-separated segments of `[A-Za-z0-9_-]`."""
    if not name:
        raise InvalidArgument(field_path, "required")
    segments = name.split(".")
    if (
        len(name) > LIMITS.topic_length
        or len(segments) > LIMITS.topic_segments
        or not all(SEGMENT.fullmatch(s) for s in segments)
    ):
        raise InvalidArgument(
            field_path,
            f"must be 1-{LIMITS.topic_length} characters: 1-{LIMITS.topic_segments} segments separated by "
            f"'.', each 1-{LIMITS.topic_segment_length} characters of A-Z a-z 0-9 _ -",
        )


def topic_pattern(pattern: str, field_path: str) -> None:
    """A topic name whose segments may also be `*` (one segment) or `#` (zero or more)."""
    segments = pattern.split(".")
    if (
        not pattern
        or len(pattern) > LIMITS.topic_length
        or len(segments) > LIMITS.topic_segments
        or not all(s in ("*", "#") or SEGMENT.fullmatch(s) for s in segments)
    ):
        raise InvalidArgument(
            field_path,
            f"must be 1-{LIMITS.topic_length} characters: 1-{LIMITS.topic_segments} segments separated by "
            f"'.', each '*', '#' or 1-{LIMITS.topic_segment_length} characters of A-Z a-z 0-9 _ -",
        )


def headers(values: Mapping[str, str], field_path: str) -> None:
    if len(values) > LIMITS.headers:
        raise InvalidArgument(field_path, f"at most {LIMITS.headers} entries", limit=LIMITS.headers)
    total = 0
    for key, value in values.items():
        if _HEADER_KEY.fullmatch(key) is None:
            raise InvalidArgument(
                field_path, f"keys must be 1-{LIMITS.header_key_length} characters of a-z 0-9 _ . -"
            )
        if len(value) > LIMITS.header_value_length:
            raise InvalidArgument(
                f"{field_path}[{key}]",
                f"at most {LIMITS.header_value_length} characters",
                limit=LIMITS.header_value_length,
            )
        total += len(key) + len(value.encode())
    if total > LIMITS.headers_total_bytes:
        raise InvalidArgument(
            field_path,
            f"{total} bytes in all; at most {LIMITS.headers_total_bytes}",
            limit=LIMITS.headers_total_bytes,
        )


def tenant_id(value: str, field_path: str) -> None:
    if _TENANT.fullmatch(value) is None:
        raise InvalidArgument(
            field_path,
            f"at most {LIMITS.tenant_id_length} characters of A-Z a-z 0-9 _ . : -",
            limit=LIMITS.tenant_id_length,
        )
