"""Domain errors. The core raises these; `registry.wire.status` maps them to gRPC status codes,
and is the only place that does."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every error the core raises on purpose. `reason` is an UPPER_SNAKE_CASE code that
    travels to clients as google.rpc.ErrorInfo.reason."""

    reason = "REGISTRY_ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidArgument(RegistryError):
    """A request field is malformed or out of bounds. `field` is its path, e.g.
    `instance.endpoints[0].port`."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


class NotFound(RegistryError):
    reason = "NOT_FOUND"


class FailedPrecondition(RegistryError):
    reason = "FAILED_PRECONDITION"


class ResourceExhausted(RegistryError):
    reason = "RESOURCE_EXHAUSTED"


class Unauthenticated(RegistryError):
    reason = "UNAUTHENTICATED"


class PermissionDenied(RegistryError):
    reason = "PERMISSION_DENIED"


class Unavailable(RegistryError):
    reason = "UNAVAILABLE"


class TargetError(RegistryError):
    """The target of a relayed message answered with an error status (or could not be reached),
    passed back to the sender as it was. `code` is the canonical status code number
    (google.rpc.Code: 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE, ...), which is not tied to gRPC."""

    reason = "TARGET_ERROR"

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
