"""How a servicer offers itself to the server, without the servicers importing `registry.server`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """One gRPC service to serve: its full name (from the descriptor) and how to add it."""

    full_name: str
    add: Callable[[grpc.aio.Server], None]


class _Captured:
    """Stands in for a server while generated code adds a service, to read its method handlers."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        pass

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        self.service, self.handlers = service, handlers


def with_serialized_responses(
    add: Callable[[Any, Any], None], servicer: object, methods: frozenset[str]
) -> Callable[[grpc.aio.Server], None]:
    """`add` (a generated `add_XServicer_to_server`) for `servicer`, except that the streaming
    `methods` may also yield responses already serialized to bytes.

    Why: while a client does not read, each stream holds the response grpc is trying to send. A
    protobuf message costs several times its encoded size in memory, so a stream that serializes
    each response as soon as it is built, and drops the message, holds only bytes."""

    def add_to(server: grpc.aio.Server) -> None:
        captured = _Captured()
        add(servicer, captured)
        handlers = dict(captured.handlers)
        for name in methods:
            handler: Any = handlers[name]
            encode = handler.response_serializer
            handlers[name] = handler._replace(
                response_serializer=lambda message, encode=encode: (
                    message if isinstance(message, bytes) else encode(message)
                )
            )
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(captured.service, handlers),))
        server.add_registered_method_handlers(captured.service, handlers)  # type: ignore[attr-defined]

    return add_to
