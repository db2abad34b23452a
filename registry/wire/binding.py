"""How a servicer offers itself to the server, without the servicers importing `registry.server`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc


@dataclass(frozen=True, slots=True)
class ServiceBinding:
    """One gRPC service to serve: its full name (from the descriptor) and how to add it."""

    full_name: str
    add: Callable[[grpc.aio.Server], None]
