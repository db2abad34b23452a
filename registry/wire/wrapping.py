"""Wrap each method's handler once, when its service is added, instead of intercepting every call.

grpc.aio runs every server interceptor for every call, as Python coroutines, whether or not the
method needs it: tracing wrapped two relay methods but cost every Lookup and heartbeat stream a
hop, and so did the decode guard and the metrics timer. Here each of them is a `MethodWrapper`
applied to every method's handler at start-up; a method that needs nothing of a wrapper gets its
handler back unchanged and pays nothing for it per call.

`WrappingServer` stands in for the server while a service registers itself (a generated
`add_*_to_server`, `add_preencoded`, health, reflection), so every service, ours or grpc's, goes
through the same wrappers without knowing about them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import grpc

from registry.wire.handlers import Handler, MethodWrapper


class WrappingServer:
    """The parts of `grpc.aio.Server` that add services; each method's handler is passed through
    `wrappers` (innermost first) and the result registered on `server`."""

    def __init__(self, server: grpc.aio.Server, wrappers: Sequence[MethodWrapper]) -> None:
        self._server = server
        self._wrappers = tuple(wrappers)

    def wrap(self, method: str, handler: Handler) -> Handler:
        for wrapper in self._wrappers:
            handler = wrapper(method, handler)
        return handler

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler[Any, Any]]) -> None:
        pass  # generated code registers the same handlers by name below, which is what we wrap

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, Handler]) -> None:
        wrapped = {name: self.wrap(f"/{service}/{name}", handler) for name, handler in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))
        self._server.add_registered_method_handlers(service, wrapped)  # type: ignore[attr-defined]  # grpc-stubs lag
