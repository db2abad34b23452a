"""The SDK's exceptions: one tree rooted at `RegistryClientError`, never a raw `grpc.RpcError`.

Callers catch by meaning (`NotFoundError`, `UnavailableError`) instead of comparing status codes,
and get the registry's machine-readable reason (google.rpc.ErrorInfo) and field violations
(google.rpc.BadRequest) decoded once here, the way Temporal's `RPCError` and dapr's
`DaprGrpcError` do. Errors the SDK raises on its own (an open circuit, no instance to call, bad
configuration) live in the same tree so one `except RegistryClientError` covers everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad request field, as the registry named it (`instance.endpoints[0].port`)."""

    field: str
    description: str


class RegistryClientError(Exception):
    """Base of every error the SDK raises.

    `code` is the gRPC status of the failed call (None for errors raised by the SDK itself),
    `reason` the registry's UPPER_SNAKE ErrorInfo reason when it sent one.
    """

    code: grpc.StatusCode | None = None

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        metadata: dict[str, str] | None = None,
        violations: tuple[FieldViolation, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.violations = violations

    @property
    def retryable(self) -> bool:
        """True when the same call may succeed later without being changed."""
        return self.code in _RETRYABLE


class CancelledError(RegistryClientError):
    code = grpc.StatusCode.CANCELLED


class UnknownError(RegistryClientError):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgumentError(RegistryClientError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceededError(RegistryClientError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFoundError(RegistryClientError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(RegistryClientError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDeniedError(RegistryClientError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhaustedError(RegistryClientError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPreconditionError(RegistryClientError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class AbortedError(RegistryClientError):
    code = grpc.StatusCode.ABORTED


class OutOfRangeError(RegistryClientError):
    code = grpc.StatusCode.OUT_OF_RANGE


class UnimplementedError(RegistryClientError):
    code = grpc.StatusCode.UNIMPLEMENTED


class InternalError(RegistryClientError):
    code = grpc.StatusCode.INTERNAL


class UnavailableError(RegistryClientError):
    code = grpc.StatusCode.UNAVAILABLE


class DataLossError(RegistryClientError):
    code = grpc.StatusCode.DATA_LOSS


class UnauthenticatedError(RegistryClientError):
    code = grpc.StatusCode.UNAUTHENTICATED


class CircuitOpenError(RegistryClientError):
    """The breaker for `target` is open: the call was not attempted. Retry after `retry_after` s."""

    def __init__(self, target: str, retry_after: float) -> None:
        super().__init__(f"circuit for {target!r} is open; retry in {retry_after:.3f}s")
        self.target = target
        self.retry_after = retry_after


class NoInstanceError(RegistryClientError):
    """No serving instance of `service` matches the filters, so there is nothing to call."""

    def __init__(self, service: str) -> None:
        super().__init__(f"no serving instance of {service!r}")
        self.service = service


class ConfigError(RegistryClientError, ValueError):
    """The client was configured wrongly (missing URL, unreadable key); raised before any call."""


_BY_CODE: dict[grpc.StatusCode, type[RegistryClientError]] = {
    cls.code: cls
    for cls in (
        CancelledError,
        UnknownError,
        InvalidArgumentError,
        DeadlineExceededError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        ResourceExhaustedError,
        FailedPreconditionError,
        AbortedError,
        OutOfRangeError,
        UnimplementedError,
        InternalError,
        UnavailableError,
        DataLossError,
        UnauthenticatedError,
    )
    if cls.code is not None
}

_RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def _parts(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, tuple[Any, ...]]:
    """Code, message and trailers of a failed call, from either the aio or the sync API."""
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code(), error.details() or "", tuple(error.trailing_metadata() or ())
    if isinstance(error, grpc.Call):
        return error.code(), error.details() or "", tuple(error.trailing_metadata() or ())
    return grpc.StatusCode.UNKNOWN, str(error), ()


def from_rpc_error(error: grpc.RpcError) -> RegistryClientError:
    """Translate a failed call into the SDK's exception, decoding ErrorInfo and BadRequest."""
    code, message, trailers = _parts(error)
    reason = ""
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
    for key, value in trailers:
        if key != _DETAILS_KEY or not isinstance(value, bytes):
            continue
        for detail in status_pb2.Status.FromString(value).details:
            info = error_details_pb2.ErrorInfo()
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(info):
                reason = info.reason
                metadata = dict(info.metadata)
            elif detail.Unpack(bad_request):
                violations.extend(
                    FieldViolation(v.field, v.description) for v in bad_request.field_violations
                )
    cls = _BY_CODE.get(code, UnknownError)
    return cls(message or code.name, reason=reason, metadata=metadata, violations=tuple(violations))


async def error_of(call: grpc.aio.Call) -> RegistryClientError:
    """The SDK's exception for a call that already ended (a write found it finished, say)."""
    code = await call.code()
    error = grpc.aio.AioRpcError(
        code, await call.initial_metadata(), await call.trailing_metadata(), await call.details(), ""
    )
    return from_rpc_error(error)


@contextmanager
def translated() -> Iterator[None]:
    """Run a block of gRPC calls, re-raising any `grpc.RpcError` as the SDK's exception."""
    try:
        yield
    except grpc.RpcError as error:
        raise from_rpc_error(error) from error
