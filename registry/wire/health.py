"""The standard gRPC health service, complete: Check and Watch from grpcio-health-checking plus List.

grpcio-health-checking's asyncio servicer leaves `List` (added to health.proto in 2024) to the
generated base class, which answers UNIMPLEMENTED and makes grpc.aio log a traceback at ERROR for
a call anyone may make without a token. Reflection advertises `List`, so it is served here: every
service the registry reports on, with its current status.
"""

from __future__ import annotations

from typing import Any

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer as _AsyncHealthServicer


class HealthServicer(_AsyncHealthServicer):  # type: ignore[misc]
    """Check, Watch and List over one table of statuses (set with `await set(name, status)`)."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: Any
    ) -> health_pb2.HealthListResponse:
        statuses = {
            name: health_pb2.HealthCheckResponse(status=status)
            for name, status in sorted(self._server_status.items())
        }
        return health_pb2.HealthListResponse(statuses=statuses)
