"""The typing of grpc.aio handlers, the table that rebuilds a handler of any cardinality, and
`MethodWrapper`: how auth, tracing, metrics and the decode guard attach to the methods that need
them, once, when a service is added to the server (see `registry.wire.wrapping`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
if TYPE_CHECKING:  # the stubs make these generic; the runtime classes are not subscriptable
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler

MethodWrapper: TypeAlias = Callable[[str, Handler], Handler]
"""Given a method's full name (`/pkg.Service/Method`) and its handler, the handler to serve: a
wrapped one, or the same one when the method needs nothing of this wrapper (then its calls pay
nothing for it). Called once per method, when the service is added to the server."""

CARDINALITY: dict[tuple[bool, bool], tuple[str, Callable[..., Handler]]] = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}
"""Per (request_streaming, response_streaming): the handler attribute holding the behavior and the
factory that builds a handler of that cardinality."""


def behavior_of(handler: Handler) -> Callable[..., Any]:
    """The servicer function `handler` runs, whatever its cardinality."""
    attribute, _ = CARDINALITY[(handler.request_streaming, handler.response_streaming)]
    behavior: Callable[..., Any] = getattr(handler, attribute)
    return behavior


def with_behavior(handler: Handler, behavior: Callable[..., Any], request_deserializer: Any = ...) -> Handler:
    """A handler like `handler` (same cardinality and serializers) running `behavior` instead;
    `request_deserializer`, when given, replaces the handler's (None: the behavior gets bytes)."""
    _, factory = CARDINALITY[(handler.request_streaming, handler.response_streaming)]
    deserializer = handler.request_deserializer if request_deserializer is ... else request_deserializer
    return factory(
        behavior, request_deserializer=deserializer, response_serializer=handler.response_serializer
    )
