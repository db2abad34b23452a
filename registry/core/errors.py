"""Domain errors and the one enum of their reasons.

The core raises these; `registry.wire.status` maps them to gRPC status codes, and is the only place
that does. Every error carries a `Reason` (it travels to clients as google.rpc.ErrorInfo.reason)
and, as AIP-193 asks, the dynamic values a client may act on in `metadata` (`service`,
`instance`, `limit`, `field`) rather than only inside the message text.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from registry.core.model import InstanceKey

_NO_METADATA: Mapping[str, str] = MappingProxyType({})


class Reason(enum.StrEnum):
    """Every ErrorInfo reason the registry answers with. docs/api.md (and docs/security.md for the
    token reasons) list each one; tests/test_api_contract.py checks both ways.

    Compatibility: earlier builds of RegistryService answered an unknown instance with reason
    `NOT_FOUND` while HeartbeatService said `INSTANCE_NOT_FOUND`; both now say
    `INSTANCE_NOT_FOUND` (the status code, NOT_FOUND, is unchanged).
    """

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    # NOT_FOUND
    INSTANCE_NOT_FOUND = "INSTANCE_NOT_FOUND"
    SERVICE_NOT_FOUND = "SERVICE_NOT_FOUND"
    # FAILED_PRECONDITION
    INSTANCE_ALREADY_BOUND = "INSTANCE_ALREADY_BOUND"
    STREAM_TAKEN_OVER = "STREAM_TAKEN_OVER"
    INSTANCE_DEAD = "INSTANCE_DEAD"
    BIND_TIMEOUT = "BIND_TIMEOUT"
    # RESOURCE_EXHAUSTED
    TOO_MANY_INSTANCES = "TOO_MANY_INSTANCES"
    TOO_MANY_WATCHERS = "TOO_MANY_WATCHERS"
    WATCHER_FELL_BEHIND = "WATCHER_FELL_BEHIND"
    TOO_MANY_STREAMS = "TOO_MANY_STREAMS"
    HEARTBEAT_TOO_FAST = "HEARTBEAT_TOO_FAST"
    TOO_MANY_SUBSCRIBERS = "TOO_MANY_SUBSCRIBERS"
    SUBSCRIBER_TOO_SLOW = "SUBSCRIBER_TOO_SLOW"
    PUBLISH_BACKLOG_FULL = "PUBLISH_BACKLOG_FULL"
    TOO_MANY_CONSOLE_STREAMS = "TOO_MANY_CONSOLE_STREAMS"
    # UNAVAILABLE
    SHUTTING_DOWN = "SHUTTING_DOWN"
    REGISTRY_BUSY = "REGISTRY_BUSY"
    NO_HEALTHY_INSTANCE = "NO_HEALTHY_INSTANCE"
    EVENT_LOG_FAILED = "EVENT_LOG_FAILED"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    REPLICA_FENCED = "REPLICA_FENCED"
    REPLICA_BEHIND = "REPLICA_BEHIND"
    WRITE_CONFLICT = "WRITE_CONFLICT"
    # UNAUTHENTICATED (docs/security.md)
    TOKEN_MISSING = "TOKEN_MISSING"
    TOKEN_MALFORMED = "TOKEN_MALFORMED"
    TOKEN_ALGORITHM_REFUSED = "TOKEN_ALGORITHM_REFUSED"
    TOKEN_KEY_UNKNOWN = "TOKEN_KEY_UNKNOWN"
    TOKEN_SIGNATURE_INVALID = "TOKEN_SIGNATURE_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_NOT_YET_VALID = "TOKEN_NOT_YET_VALID"
    TOKEN_AUDIENCE_INVALID = "TOKEN_AUDIENCE_INVALID"
    TOKEN_ISSUER_INVALID = "TOKEN_ISSUER_INVALID"
    TOKEN_CLAIM_MISSING = "TOKEN_CLAIM_MISSING"
    TOKEN_SUBJECT_INVALID = "TOKEN_SUBJECT_INVALID"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_SUBJECT_NOT_ALLOWED = "TOKEN_SUBJECT_NOT_ALLOWED"
    TOKEN_SCOPE_NOT_ALLOWED = "TOKEN_SCOPE_NOT_ALLOWED"
    # PERMISSION_DENIED
    PERMISSION_DENIED = "PERMISSION_DENIED"
    # the target's own code
    TARGET_ERROR = "TARGET_ERROR"


class RegistryError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, *, reason: Reason, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.metadata: Mapping[str, str] = (
            _NO_METADATA if metadata is None else MappingProxyType(dict(metadata))
        )


class InvalidArgument(RegistryError):
    """A request field is malformed or out of bounds. `field` is its path, e.g.
    `instance.endpoints[0].port`."""

    def __init__(self, field: str, description: str, *, limit: int | None = None) -> None:
        """`limit`: the bound the field broke (a count, length or size), when there is one."""
        metadata = {"field": field} if limit is None else {"field": field, "limit": str(limit)}
        super().__init__(f"{field}: {description}", reason=Reason.INVALID_ARGUMENT, metadata=metadata)
        self.field = field
        self.description = description


class NotFound(RegistryError):
    pass


class FailedPrecondition(RegistryError):
    pass


class ResourceExhausted(RegistryError):
    pass


class Unauthenticated(RegistryError):
    pass


class PermissionDenied(RegistryError):
    def __init__(self, message: str) -> None:
        super().__init__(message, reason=Reason.PERMISSION_DENIED)


class Unavailable(RegistryError):
    pass


class TargetError(RegistryError):
    """The target of a relayed message answered with an error status (or could not be reached),
    passed back to the sender as it was. `code` is the canonical status code number
    (google.rpc.Code: 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE, ...), which is not tied to gRPC."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message, reason=Reason.TARGET_ERROR)
        self.code = code


# The errors raised from several places, worded once.


def instance_not_found(key: InstanceKey, message: str | None = None) -> NotFound:
    service, instance = key
    return NotFound(
        message or f"instance {instance!r} of service {service!r} is not registered",
        reason=Reason.INSTANCE_NOT_FOUND,
        metadata={"service": service, "instance": instance},
    )


def shutting_down() -> Unavailable:
    return Unavailable("the registry is shutting down", reason=Reason.SHUTTING_DOWN)


def limit_reached(reason: Reason, message: str, limit: int) -> ResourceExhausted:
    """A server-wide or per-stream bound was reached; `limit` is its value."""
    return ResourceExhausted(message, reason=reason, metadata={"limit": str(limit)})
