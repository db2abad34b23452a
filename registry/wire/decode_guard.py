"""Requests that are not valid protobuf end with INVALID_ARGUMENT, not UNKNOWN and an ERROR traceback.

grpc.aio deserializes a request before any servicer code runs; when the bytes are not a valid
message, the DecodeError escapes into grpc's own handler, which logs it at ERROR with a traceback
and answers UNKNOWN. That would let anyone, even without a token (health and reflection are open),
write ERROR lines into the registry's log. `guard_decoding`, the innermost `MethodWrapper`, moves
the parse to the point where the servicer would have seen the message, behind the outer wrappers
(auth, tracing): a request that does not parse ends the call with INVALID_ARGUMENT (ErrorInfo
reason INVALID_ARGUMENT, field `request`) there.

- A unary request reaches the wrapper as bytes (grpc is given no deserializer) and is parsed in
  it: one `try` per call, no marker, no per-call lookup, and nothing is parsed for a caller that
  auth refuses.
- Streamed requests are parsed by grpc as they are read, with a deserializer that turns a
  DecodeError into a marker; the request iterator the servicer reads ends the call on a marker.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn

from google.protobuf.message import DecodeError

from registry.core.errors import InvalidArgument
from registry.wire.handlers import Context, Handler, behavior_of, with_behavior
from registry.wire.status import abort


class _Undecodable:
    """Stands for a streamed request message that failed to parse."""

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


async def _refuse(context: Context, detail: str) -> NoReturn:
    await abort(context, InvalidArgument("request", f"not a valid protobuf message: {detail}"))
    raise AssertionError("abort raises")  # pragma: no cover


async def _checked(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, _Undecodable):
            await _refuse(context, request.detail)
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


def _parse_unary_request(
    behavior: Callable[..., Any], deserialize: Callable[[bytes], Any]
) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(behavior):

        async def stream(raw: bytes, context: Context) -> AsyncIterator[Any]:
            try:
                request = deserialize(raw)
            except DecodeError as error:
                await _refuse(context, str(error))
            async for response in behavior(request, context):
                yield response

        return stream

    async def call(raw: bytes, context: Context) -> Any:
        try:
            request = deserialize(raw)
        except DecodeError as error:
            await _refuse(context, str(error))
        return await behavior(request, context)

    return call


def guard_decoding(method: str, handler: Handler) -> Handler:
    """The `MethodWrapper` for the decode guard (see the module docstring); innermost."""
    deserialize = handler.request_deserializer
    if deserialize is None:  # the method takes bytes: nothing to parse
        return handler
    if handler.request_streaming:
        return with_behavior(
            handler, _guard_stream_requests(behavior_of(handler)), request_deserializer=_tolerant(deserialize)
        )
    return with_behavior(
        handler, _parse_unary_request(behavior_of(handler), deserialize), request_deserializer=None
    )
