"""Server reflection that also answers for method names, so `grpcurl describe Service.Method` works.

grpcurl asks reflection for the file containing the symbol `registry.v1.RegistryService.Lookup`;
Python protobuf's descriptor pool finds services and messages by name but not methods, so the
stock servicer answered NOT_FOUND ("Symbol not found") for every method `grpcurl list` printed.
A method's file is its service's file: on a miss, a name whose parent is a service holding that
method is answered with the service's file.
"""

from __future__ import annotations

from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer as _AsyncReflectionServicer

from registry.wire.binding import ServiceSink


class ReflectionServicer(_AsyncReflectionServicer):  # type: ignore[misc]
    """The grpcio-reflection servicer with method symbols resolved through their service."""

    def _file_containing_symbol(
        self, request: reflection_pb2.ServerReflectionRequest, fully_qualified_name: str
    ) -> reflection_pb2.ServerReflectionResponse:
        response: reflection_pb2.ServerReflectionResponse = super()._file_containing_symbol(
            request, fully_qualified_name
        )
        if not response.HasField("error_response"):
            return response
        service_name, _, method = fully_qualified_name.rpartition(".")
        try:
            service = self._pool.FindServiceByName(service_name)
        except KeyError:
            return response
        if method not in service.methods_by_name:
            return response
        answer: reflection_pb2.ServerReflectionResponse = super()._file_containing_symbol(
            request, service.full_name
        )
        return answer


def enable_server_reflection(service_names: list[str], server: ServiceSink) -> None:
    """Serve reflection (v1alpha, as grpcio-reflection does) for `service_names` on `server`."""
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(ReflectionServicer(service_names), server)
