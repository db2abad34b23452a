"""Every RPC of the registry, fuzzed over the wire against a real `registry serve` (JWT auth on).

For each method, hypothesis builds requests of its type from the descriptors (hostile strings,
integer extremes, absurd timestamps and durations; see proto_strategies.py) and sends them with
an admin token. Each call must end in success or a domain error that carries a google.rpc
ErrorInfo reason (INVALID_ARGUMENT, NOT_FOUND, ...), never UNKNOWN or INTERNAL; the heartbeat
stream gets whole sequences of bind, beat and goodbye messages. At the end, the registry's log
must hold no ERROR line and no traceback: no client input may produce either.

This covers request validation, page tokens, topic patterns (Publish, Subscribe, ListEvents),
version constraints (Lookup) and heartbeat messages as the registry really receives them; the
JWT claims are fuzzed at the verifier in tests/auth/test_auth_credentials.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

from generated.registry.v1 import heartbeat_service_pb2, registry_service_pb2, relay_service_pb2
from tests.auth.support import SECRET, token
from tests.fuzz.proto_strategies import messages
from tests.helpers.fuzz import budget
from tests.helpers.process import ServerProcess, running_server

SERVICES = [
    registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"],
    heartbeat_service_pb2.DESCRIPTOR.services_by_name["HeartbeatService"],
    relay_service_pb2.DESCRIPTOR.services_by_name["RelayService"],
]
SKIPPED = {"Send": "relays to the endpoints fuzzed registrations name: not loopback-only"}
METHODS = [m for s in SERVICES for m in s.methods if m.name not in SKIPPED]

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
}
"""Domain outcomes. UNKNOWN, INTERNAL, DATA_LOSS or UNAVAILABLE would mean a bug or a crash."""
ENDED_BY_US = {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
"""How a stream that was fine ends when the fuzzer stops listening."""

STREAM_WINDOW = 0.05
"""Seconds a server stream is listened to before the fuzzer hangs up."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("fuzz")
    env = {"REGISTRY_AUTH_MODE": "jwt", "REGISTRY_JWT_SECRET": SECRET, "REGISTRY_LOG_LEVEL": "INFO"}
    with running_server(folder / "registry.db", env=env) as process:
        yield process


@pytest.fixture(scope="module")
def channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        yield ch


@pytest.fixture(scope="module")
def metadata() -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token('fuzz', 'admin', ttl=3600)}"),)


def _path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _has_error_info(error: grpc.RpcError) -> bool:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    return status is not None and any(d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) for d in status.details)


def check_outcome(method: MethodDescriptor, request: object, error: grpc.RpcError | None) -> None:
    if error is None:
        return
    code = error.code()
    details = error.details()
    shown = f"{method.name}({str(request)[:300]!r}) -> {code.name}: {details}"
    if code in ENDED_BY_US and method.server_streaming:
        return
    assert code in ALLOWED, shown
    assert _has_error_info(error), f"no ErrorInfo: {shown}"


def call(
    channel: grpc.Channel,
    method: MethodDescriptor,
    requests: list[Message],
    metadata: tuple[tuple[str, str], ...],
) -> None:
    serializer = GetMessageClass(method.input_type).SerializeToString
    deserializer = GetMessageClass(method.output_type).FromString
    path = _path(method)
    error: grpc.RpcError | None = None
    try:
        if not method.client_streaming and not method.server_streaming:
            channel.unary_unary(path, serializer, deserializer)(requests[0], metadata=metadata, timeout=5)
        elif not method.client_streaming:
            responses = channel.unary_stream(path, serializer, deserializer)(
                requests[0], metadata=metadata, timeout=STREAM_WINDOW
            )
            for _ in responses:
                pass
        else:
            responses = channel.stream_stream(path, serializer, deserializer)(
                iter(requests), metadata=metadata, timeout=max(STREAM_WINDOW, 0.02 * len(requests))
            )
            for _ in responses:
                pass
    except grpc.RpcError as raised:
        error = raised
    check_outcome(method, requests, error)


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_any_request_ends_in_success_or_a_domain_error(
    channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], method: MethodDescriptor
) -> None:
    size = (1, 6) if method.client_streaming else (1, 1)
    strategy = st.lists(messages(method.input_type), min_size=size[0], max_size=size[1])

    @budget(30 if method.server_streaming or method.client_streaming else 80)
    @given(requests=strategy)
    def fuzz(requests: list[Message]) -> None:
        call(channel, method, requests, metadata)

    fuzz()


def test_the_registry_is_still_serving_and_logged_no_error(
    channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], server: ServerProcess
) -> None:
    """Last in the module: after the fuzzing a plain Lookup still answers, fast, and no request
    produced an ERROR line or a traceback in the registry's log."""
    lookup = registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"].methods_by_name["Lookup"]
    started = time.monotonic()
    call(channel, lookup, [registry_service_pb2.LookupRequest(service_name="orders")], metadata)
    assert time.monotonic() - started < 1.0
    assert server.proc.poll() is None
    bad = [line for line in server.output().splitlines() if " ERROR " in line or "Traceback" in line]
    assert not bad, "client input produced ERROR lines or tracebacks:\n" + "\n".join(bad[:20])
