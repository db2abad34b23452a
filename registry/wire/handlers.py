"""The typing of grpc.aio handlers and interceptors, and the table that rebuilds a handler of any
cardinality, shared by the server interceptors that wrap a method's behavior (auth, decode guard)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
if TYPE_CHECKING:  # the stubs make these generic; the runtime classes are not subscriptable
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    ServerInterceptor: TypeAlias = grpc.aio.ServerInterceptor[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
    ServerInterceptor = grpc.aio.ServerInterceptor

CARDINALITY: dict[tuple[bool, bool], tuple[str, Callable[..., Handler]]] = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}
"""Per (request_streaming, response_streaming): the handler attribute holding the behavior and the
factory that builds a handler of that cardinality."""
