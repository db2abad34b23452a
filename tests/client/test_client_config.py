"""Configuration from the guides' environment, credentials, the channel's wire settings (checked
against the server's keepalive policy), gRPC retries for idempotent calls only, and error mapping."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from client import ClientConfig, ConfigError, PermissionDeniedError, RegistryClient
from client.channel import IDEMPOTENT_METHODS, open_channel, registry_channel_options
from client.config import default_instance_id
from client.errors import UnavailableError, translated
from client.tokens import MintedTokens, NoToken, StaticToken, token_source
from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from generated.registry.v1 import relay_service_pb2 as relay_pb
from generated.registry.v1 import relay_service_pb2_grpc as relay_grpc
from registry.config import Config
from registry.server import channel_options as server_channel_options
from tests.client.conftest import client_config
from tests.conftest import StartRegistry

SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret!"


def test_reads_the_environment_the_guides_use() -> None:
    env = {
        "REGISTRY_URL": "grpc://registry.internal:50051/",
        "SERVICE_NAME": "image-analysis",
        "SERVICE_ID": "42",
        "JWT_SECRET": SECRET,
        "REGISTRY_SCOPES": "discover publish:image.#",
        "REGISTRY_TOKEN_TTL": "120",
    }
    config = ClientConfig.from_env(env, call_timeout=1.5)
    assert (config.target, config.tls, config.service_name, config.instance_id) == (
        "registry.internal:50051",
        False,
        "image-analysis",
        "42",
    )
    assert (config.scopes, config.token_ttl, config.call_timeout, config.refresh_margin) == (
        ("discover", "publish:image.#"),
        120.0,
        1.5,
        30.0,
    )
    assert SECRET not in repr(config)
    assert ClientConfig.from_env({"REGISTRY_URL": "grpcs://r:443"}).tls


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "registry_url"),
        ({"registry_url": "ftp://r:1"}, "unknown scheme"),
        ({"registry_url": "no-port"}, "host:port"),
        ({"registry_url": "r:1", "jwt_secret": SECRET}, "service_name: required"),
        ({"registry_url": "r:1", "service_name": "a", "jwt_secret": SECRET, "token": "t"}, "one of"),
        ({"registry_url": "r:1", "service_name": "Bad_Name"}, "service_name"),
        ({"registry_url": "r:1", "token_ttl": 1}, "token_ttl"),
        ({"registry_url": "r:1", "backoff_base": 1, "backoff_cap": 0.5}, "backoff_cap"),
    ],
)
def test_bad_settings_fail_at_start_naming_the_setting(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ClientConfig.from_env({}, **settings)


def test_default_instance_id_fits_the_registry_alphabet() -> None:
    instance_id = default_instance_id()
    ClientConfig(registry_url="r:1", instance_id=instance_id)  # validates
    assert instance_id.endswith(str(__import__("os").getpid()))


def test_token_source_follows_the_credentials(tmp_path: Path) -> None:
    base: dict[str, Any] = {"registry_url": "r:1", "service_name": "crm"}
    assert isinstance(token_source(ClientConfig(**base, jwt_secret=SECRET)), MintedTokens)
    assert isinstance(token_source(ClientConfig(**base)), NoToken)
    static = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjcm0iLCJleHAiOjJ9.c2ln"
    assert token_source(ClientConfig(**base, token=static)).current().expires_at == 2
    assert isinstance(token_source(ClientConfig(**base, token=static)), StaticToken)
    with pytest.raises(ConfigError, match="private_key_file"):
        token_source(ClientConfig(**base, private_key_file=tmp_path / "missing.pem"))


def test_keepalive_matches_the_server_policy() -> None:
    client = dict(registry_channel_options(ClientConfig(registry_url="r:1")))
    server = dict(server_channel_options(Config()))
    assert client["grpc.keepalive_time_ms"] == 10_000
    assert client["grpc.keepalive_time_ms"] >= server["grpc.http2.min_recv_ping_interval_without_data_ms"]
    assert client["grpc.keepalive_permit_without_calls"] == server["grpc.keepalive_permit_without_calls"] == 1
    config = json.loads(client["grpc.service_config"])
    retried = {(n["service"], n["method"]) for n in config["methodConfig"][0]["name"]}
    assert ("registry.v1.RegistryService", "Lookup") in retried
    for stream_or_unsafe in ("Watch", "Heartbeat", "Subscribe", "Send", "Publish"):
        assert all(method != stream_or_unsafe for _, method in retried)
    assert set(IDEMPOTENT_METHODS) <= {s for s, _ in retried}


class _FlakyRegistry(pb_grpc.RegistryServiceServicer, relay_grpc.RelayServiceServicer):
    """A stand-in that answers UNAVAILABLE to the first two calls of every method, to observe
    gRPC's retries from the outside (the real registry never fails on purpose)."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    async def _flaky(self, name: str, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.calls[name] <= 2:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")

    async def Lookup(self, request: Any, context: Any) -> pb.LookupResponse:
        await self._flaky("Lookup", context)
        return pb.LookupResponse(revision=7)

    async def Publish(self, request: Any, context: Any) -> relay_pb.PublishResponse:
        await self._flaky("Publish", context)
        return relay_pb.PublishResponse(sequence=1)


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[_FlakyRegistry, int]]:
    # The stubs mark every RPC abstract; at run time the base classes answer UNIMPLEMENTED for the
    # methods this stand-in leaves out, which is what it wants.
    servicer = _FlakyRegistry()  # type: ignore[abstract]
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    pb_grpc.add_RegistryServiceServicer_to_server(servicer, server)
    relay_grpc.add_RelayServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, port
    await server.stop(0)


async def test_idempotent_calls_are_retried_and_others_are_not(flaky: tuple[_FlakyRegistry, int]) -> None:
    servicer, port = flaky
    config = ClientConfig(registry_url=f"127.0.0.1:{port}")
    async with open_channel(config.target, tls=False, options=registry_channel_options(config)) as channel:
        response = await pb_grpc.RegistryServiceStub(channel).Lookup(
            pb.LookupRequest(service_name="x"), timeout=5
        )
        assert response.revision == 7
        assert servicer.calls["Lookup"] == 3  # two UNAVAILABLE answers retried by gRPC itself
        with pytest.raises(UnavailableError), translated():
            await relay_grpc.RelayServiceStub(channel).Publish(relay_pb.PublishRequest(), timeout=5)
        assert servicer.calls["Publish"] == 1  # not idempotent: never resent


async def test_a_missing_scope_is_a_permission_error(start_registry: StartRegistry) -> None:
    secured = await start_registry(auth_mode="jwt", jwt_secret=SECRET)
    client = RegistryClient(client_config(secured.address, "crm", jwt_secret=SECRET, scopes=("discover",)))
    try:
        with pytest.raises(PermissionDeniedError) as denied:
            await client.publish("crm.lead.created", {"id": 1})
        assert denied.value.reason
        assert not isinstance(denied.value, grpc.RpcError)
    finally:
        await client.close()
