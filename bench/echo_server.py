"""The floor: a bare grpc.aio server with one unary echo and one bidi echo, nothing else.

Same event loop (uvloop), same channel options as the registry, raw bytes (no proto work), so
whatever the registry costs beyond this is our own code.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
import uvloop

UNARY = "/bench.Echo/Unary"
STREAM = "/bench.Echo/Stream"


async def _unary(request: bytes, context: Any) -> bytes:
    return request


async def _stream(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


async def main(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
        "Stream": grpc.stream_stream_rpc_method_handler(_stream),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("bench.Echo", handlers)])
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print(f"echo serving address=127.0.0.1:{bound}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
