"""Let a servicer answer some methods with bytes it already holds, serialized once.

Lookup's answer is a concatenation of instances the registry keeps serialized (see
`registry.api.convert.InstanceEncoder`). Parsing those bytes into a response message only for
grpc to serialize it again doubled the cost of every Lookup. A method named here gets a response
serializer that passes `bytes` through unchanged (and still serializes a message, so errors and
other paths work as before); the generated `add_*_to_server` function is reused as is, its handlers
captured and the named ones rebuilt.

Watch uses it too, for memory rather than speed: while a client does not read, its stream holds
the response grpc is trying to send, and a protobuf message costs several times its encoded size.
A stream that serializes each response as soon as it is built, and drops the message, holds bytes.

Heartbeat uses it for its acks, which it writes by hand (`registry.wire.beat_ack`): one per beat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import grpc

from registry.wire.binding import ServiceSink
from registry.wire.handlers import CARDINALITY


def _bytes_or_message(response: Any) -> bytes:
    return response if isinstance(response, bytes) else response.SerializeToString()


class _Capture:
    """Stands in for the server while a generated `add_*_to_server` registers its handlers."""

    def __init__(self) -> None:
        self.handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler[Any, Any]]) -> None:
        pass  # the same handlers arrive below, by method name

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        self.handlers = handlers


def add_preencoded(
    add: Callable[[Any, Any], None],
    servicer: object,
    service: str,
    methods: Iterable[str],
    server: ServiceSink,
) -> None:
    """`add(servicer, server)` (a generated function), with `methods` free to return, yield or
    write bytes."""
    capture = _Capture()
    add(servicer, capture)
    handlers = dict(capture.handlers)
    for name in methods:
        handler = handlers[name]
        attribute, factory = CARDINALITY[(handler.request_streaming, handler.response_streaming)]
        handlers[name] = factory(
            getattr(handler, attribute),
            request_deserializer=handler.request_deserializer,
            response_serializer=_bytes_or_message,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    server.add_registered_method_handlers(service, handlers)
