"""Client interceptors that put headers on every call: who calls, and the trace context.

Both run at call time, so a unary call always carries the newest token and the OpenTelemetry
context (`traceparent`, `tracestate`, `baggage`, via the globally configured propagator) of the
code that made the call. Services get distributed traces through the registry without writing a
line of propagation code.

grpc.aio files each interceptor object under the *first* cardinality it implements (its channel
checks them in an if/elif chain), so one object cannot serve all four: each header source gets
one small interceptor per cardinality.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import grpc
from opentelemetry import propagate

from client.tokens import TokenSource

Headers = Callable[[], Sequence[tuple[str, str]]]


class _WithHeaders:
    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        extra = self._headers()
        if not extra:
            return details
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        for key, value in extra:
            metadata.add(key, value)
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


class _UnaryUnary(_WithHeaders, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class _UnaryStream(_WithHeaders, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class _StreamUnary(_WithHeaders, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)


class _StreamStream(_WithHeaders, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)


def header_interceptors(headers: Headers) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors adding `headers()` (evaluated per call) to calls of every cardinality."""
    return [
        cast(grpc.aio.ClientInterceptor, cls(headers))
        for cls in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    ]


def auth_interceptors(tokens: TokenSource, service_name: str = "") -> list[grpc.aio.ClientInterceptor]:
    """`authorization: Bearer <jwt>` from `tokens` (nothing when the source has none), and
    `x-source-service`, which only a registry running with auth off reads (with auth on, the
    sender is the token's verified subject and the header is ignored)."""
    identity = [("x-source-service", service_name)] if service_name else []

    def headers() -> list[tuple[str, str]]:
        value = tokens.current().value
        return [("authorization", f"Bearer {value}"), *identity] if value else identity

    return header_interceptors(headers)


def trace_context_headers() -> list[tuple[str, str]]:
    """The current OpenTelemetry context as W3C headers (empty when there is no span or baggage)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return sorted(carrier.items())


def tracing_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """Propagate the caller's OpenTelemetry context on every call."""
    return header_interceptors(trace_context_headers)
