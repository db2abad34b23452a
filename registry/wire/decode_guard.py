"""Requests that are not valid protobuf end with INVALID_ARGUMENT, not UNKNOWN and an ERROR traceback.

grpc.aio deserializes a request before any servicer code runs; when the bytes are not a valid
message, the DecodeError escapes into grpc's own handler, which logs it at ERROR with a traceback
and answers UNKNOWN. That would let anyone, even without a token (health and reflection are open),
write ERROR lines into the registry's log. This interceptor, the innermost one, swaps each
handler's deserializer for one that turns a DecodeError into a marker; the call then ends with
INVALID_ARGUMENT (ErrorInfo reason INVALID_ARGUMENT, field `request`) at the point where the
servicer would have seen the message. The outer interceptors (auth, tracing) run first as usual.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from registry.core.errors import InvalidArgument
from registry.wire.handlers import CARDINALITY, Context, Handler, ServerInterceptor
from registry.wire.status import abort


class _Undecodable:
    """Stands for a request message that failed to parse."""

    __slots__ = ("detail",)

    def __init__(self, detail: str) -> None:
        self.detail = detail


def _tolerant(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except DecodeError as error:
            return _Undecodable(str(error))

    return parse


async def _refuse(context: Context, request: _Undecodable) -> None:
    await abort(context, InvalidArgument("request", f"not a valid protobuf message: {request.detail}"))


async def _checked(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, _Undecodable):
            await _refuse(context, request)
        yield request


def _guard_stream_requests(behavior: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):

        async def stream(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
            async for response in behavior(_checked(requests, context), context):
                yield response

        return stream

    async def call(requests: AsyncIterator[Any], context: Context) -> Any:
        return await behavior(_checked(requests, context), context)

    return call


def _guard_unary_request(behavior: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
            if isinstance(request, _Undecodable):
                await _refuse(context, request)
            async for response in behavior(request, context):
                yield response

        return stream

    async def call(request: Any, context: Context) -> Any:
        if isinstance(request, _Undecodable):
            await _refuse(context, request)
        return await behavior(request, context)

    return call


class DecodeGuardInterceptor(ServerInterceptor):
    """Answers INVALID_ARGUMENT for requests that do not parse (see the module docstring).

    The guarded handler is built once per method (the servicers' handlers never change), so a call
    costs one dictionary lookup here.
    """

    def __init__(self) -> None:
        self._guarded: dict[str, Handler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler:
        method = handler_call_details.method
        if (guarded := self._guarded.get(method)) is not None:
            return guarded
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        self._guarded[method] = guarded = self._guard(handler)
        return guarded

    @staticmethod
    def _guard(handler: Handler) -> Handler:
        streaming = (handler.request_streaming, handler.response_streaming)
        attribute, factory = CARDINALITY[streaming]
        assert handler.request_deserializer is not None
        guard = _guard_stream_requests if handler.request_streaming else _guard_unary_request
        return factory(
            guard(getattr(handler, attribute)),
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
