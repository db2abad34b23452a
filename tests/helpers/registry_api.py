"""Building RegistryService requests and reading its errors, shared by the API tests."""

from __future__ import annotations

from typing import Any, TypeAlias, cast

import grpc
from google.rpc import error_details_pb2, status_pb2

from generated.registry.v1 import instance_pb2 as ipb
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc

Stub: TypeAlias = "pb_grpc.RegistryServiceAsyncStub"
"""What RegistryServiceStub is on an aio channel (a name the type stubs know, not the module)."""


def stub(channel: grpc.aio.Channel) -> Stub:
    return pb_grpc.RegistryServiceStub(channel)


def endpoint(
    port: int = 9000, host: str = "10.0.0.1", protocol: int = ipb.ENDPOINT_PROTOCOL_GRPC, name: str = ""
) -> ipb.Endpoint:
    return ipb.Endpoint(name=name, host=host, port=port, protocol=protocol)  # type: ignore[arg-type]


def instance(service: str = "orders", instance_id: str = "orders-1", /, **fields: Any) -> ipb.Instance:
    """A valid instance; keyword fields override or add to it."""
    return ipb.Instance(
        **{"service_name": service, "instance_id": instance_id, "endpoints": [endpoint()], **fields}
    )


async def register(
    api: Stub, service: str = "orders", instance_id: str = "orders-1", /, **fields: Any
) -> pb.RegisterResponse:
    return await api.Register(pb.RegisterRequest(instance=instance(service, instance_id, **fields)))


def bad_request_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The field paths of the google.rpc.BadRequest detail of a failed call; the ErrorInfo
    detail must name the same (first) field in its metadata."""
    status = rich_status(error)
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            fields.extend(v.field for v in bad_request.field_violations)
    assert fields, "no BadRequest detail"
    assert error_info(error).metadata["field"] == fields[0]
    return fields


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status a failed call carries in its `grpc-status-details-bin` trailer."""
    # grpc-stubs types the trailers of an aio error as the sync API's tuple; they are a Metadata.
    trailers = cast(grpc.aio.Metadata, error.trailing_metadata())
    for key, value in trailers:
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    raise AssertionError("no rich status in the trailers")


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The google.rpc.ErrorInfo detail of a failed call."""
    status = rich_status(error)
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo detail")


def error_reason(error: grpc.aio.AioRpcError) -> str:
    """google.rpc.ErrorInfo.reason of a failed call."""
    reason: str = error_info(error).reason
    return reason
