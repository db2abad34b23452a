"""The SDK's only door to generated code: every other client module imports protos from here.

One facade (as dapr's `dapr/proto` and aetcd's `aetcd/rpc` do) keeps `_pb2` paths out of the rest of
the SDK, so a regenerated or moved package changes one file. The SDK never imports `registry/`: it
must run in a process that has only `generated/` and the wire.
"""

from __future__ import annotations

from generated.registry.v1 import envelope_pb2 as envelope_pb
from generated.registry.v1 import heartbeat_service_pb2 as heartbeat_pb
from generated.registry.v1 import heartbeat_service_pb2_grpc as heartbeat_grpc
from generated.registry.v1 import inbox_service_pb2 as inbox_pb
from generated.registry.v1 import inbox_service_pb2_grpc as inbox_grpc
from generated.registry.v1 import instance_pb2 as instance_pb
from generated.registry.v1 import registry_service_pb2 as registry_pb
from generated.registry.v1 import registry_service_pb2_grpc as registry_grpc
from generated.registry.v1 import relay_service_pb2 as relay_pb
from generated.registry.v1 import relay_service_pb2_grpc as relay_grpc

__all__ = [
    "envelope_pb",
    "heartbeat_grpc",
    "heartbeat_pb",
    "inbox_grpc",
    "inbox_pb",
    "instance_pb",
    "registry_grpc",
    "registry_pb",
    "relay_grpc",
    "relay_pb",
]
