"""How a servicer offers itself to the server, without the servicers importing `registry.server`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc


class ServiceSink(Protocol):
    """What a generated `add_*_to_server` function calls: the server's two registration methods.
    The server hands services a `registry.wire.wrapping.WrappingServer` in its place."""

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler[Any, Any]]) -> None: ...

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """One gRPC service to serve: its full name (from the descriptor) and how to add it."""

    full_name: str
    add: Callable[[ServiceSink], None]
