"""Reading gRPC streams in tests, typed.

grpc-stubs types `read()` of a streaming call as `object` (its end-of-stream marker `grpc.aio.EOF`
is `object` there, and absent from the module), so every test that read a stream either cast or
ignored types. These helpers check the message type once, where it is read.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

import grpc

R = TypeVar("R")

EOF: Final[object] = grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs
"""grpc.aio's end-of-stream marker."""

StreamingCall = grpc.aio.UnaryStreamCall[Any, Any] | grpc.aio.StreamStreamCall[Any, Any]


async def read(call: StreamingCall, kind: type[R]) -> R:
    """The next message of `call`; fails the test when the stream ended instead."""
    response = await call.read()
    assert response is not EOF, "the stream ended"
    assert isinstance(response, kind), f"expected {kind.__name__}, got {type(response).__name__}"
    return response


async def read_or_end(call: StreamingCall, kind: type[R]) -> R | None:
    """The next message of `call`, or None when the stream ended."""
    response = await call.read()
    if response is EOF:
        return None
    assert isinstance(response, kind), f"expected {kind.__name__}, got {type(response).__name__}"
    return response
