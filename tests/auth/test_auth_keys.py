"""Where keys come from: the data-dir secret made on first start, secret length, the JWKS with
each asymmetric algorithm, rotation without restart, and the auth-off safety rules."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from generated.registry.v1 import registry_service_pb2 as pb
from generated.registry.v1 import registry_service_pb2_grpc as pb_grpc
from registry.auth import signing
from registry.auth.interceptor import build_interceptor
from registry.auth.keys import SECRET_FILE_NAME, create_secret_file
from registry.config import ConfigError, build_config, config_for_tests
from tests.auth.support import bearer, claims, jwt_registry, refused, registry_cli, sign, write_jwks
from tests.conftest import StartRegistry
from tests.helpers.process import running_server
from tests.helpers.registry_api import stub

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


async def discover(address: str, value: str) -> pb.ListServicesResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        return await stub(channel).ListServices(pb.ListServicesRequest(), metadata=bearer(value))


def asymmetric(key: signing.PrivateKey, kid: str, service: str = "orders") -> str:
    return signing.mint(key, service=service, scope=["discover"], ttl=60, audience="registry", kid=kid)


def leftovers(folder: Path) -> list[str]:
    """Temporary files of the atomic secret creation that were not cleaned up."""
    return [p.name for p in folder.iterdir() if p.name.startswith(f".{SECRET_FILE_NAME}")]


async def test_first_start_creates_a_0600_secret_that_is_never_overwritten(
    start_registry: StartRegistry, tmp_path: Path
) -> None:
    secret_file = tmp_path / SECRET_FILE_NAME
    assert not secret_file.exists()
    registry = await start_registry(auth_mode="jwt", jwt_leeway_seconds=0)

    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_bytes().strip()
    assert len(secret) >= 32
    assert leftovers(tmp_path) == []
    assert (await discover(registry.address, sign(claims(), key=secret))).revision >= 0

    await registry.stop(grace=0)
    assert create_secret_file(secret_file) is False
    restarted = await start_registry(auth_mode="jwt", jwt_leeway_seconds=0)
    assert secret_file.read_bytes().strip() == secret
    assert (await discover(restarted.address, sign(claims(), key=secret))).revision >= 0


def test_registry_serve_prints_how_to_mint_and_the_minted_token_works(tmp_path: Path) -> None:
    """`registry serve` with no auth setup at all, then the printed `registry token create`."""
    db = tmp_path / "registry.db"
    with running_server(db, env={"REGISTRY_AUTH_MODE": "jwt"}) as server:
        log = server.output()
        assert "created a JWT secret" in log
        assert f"registry token create --service NAME --scope discover --ttl 1h --db-path {db}" in log
        minted = registry_cli(
            "token",
            "create",
            "--db-path",
            str(db),
            "--service",
            "orders",
            "--scope",
            "discover",
            "--ttl",
            "5m",
        ).stdout.strip()
        with grpc.insecure_channel(server.address) as channel:
            api = pb_grpc.RegistryServiceStub(channel)
            assert (
                api.ListServices(pb.ListServicesRequest(), metadata=bearer(minted), timeout=5).revision >= 0
            )
            with pytest.raises(grpc.RpcError) as missing:
                api.ListServices(pb.ListServicesRequest(), timeout=5)
    assert missing.value.code() == UNAUTHENTICATED


@pytest.mark.parametrize("source", ["env", "file"])
def test_secrets_under_32_bytes_are_refused(tmp_path: Path, source: str) -> None:
    short = "x" * 31
    if source == "env":
        with pytest.raises(ConfigError, match="at least 32 bytes"):
            build_config(env={"REGISTRY_JWT_SECRET": short})
        return
    secret_file = tmp_path / "secret"
    secret_file.write_text(short + "\n")
    config = config_for_tests(
        {"auth_mode": "jwt", "jwt_secret_file": str(secret_file), "db_path": tmp_path / "r.db"}
    )
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        build_interceptor(config)


async def test_secret_file_is_used(start_registry: StartRegistry, tmp_path: Path) -> None:
    secret_file = tmp_path / "shared-secret"
    secret_file.write_text("a-secret-from-a-file-of-32-bytes-or-more\n")
    registry = await start_registry(auth_mode="jwt", jwt_secret_file=str(secret_file))
    value = sign(claims(), key="a-secret-from-a-file-of-32-bytes-or-more")
    assert (await discover(registry.address, value)).revision >= 0
    assert not (tmp_path / SECRET_FILE_NAME).exists()


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
async def test_each_asymmetric_algorithm_verifies_by_kid(
    start_registry: StartRegistry, tmp_path: Path, algorithm: str
) -> None:
    key = signing.generate_private_key(algorithm)
    other = signing.generate_private_key("EdDSA")
    write_jwks(tmp_path / "jwks.json", {"k1": key, "k2": other})
    registry = await jwt_registry(start_registry, jwks_file=str(tmp_path / "jwks.json"))

    assert (await discover(registry.address, asymmetric(key, "k1"))).revision >= 0
    # The right algorithm under the wrong kid: k2 verifies EdDSA only, or fails the signature.
    wrong_kid = discover(registry.address, asymmetric(key, "k2"))
    reason = "TOKEN_SIGNATURE_INVALID" if algorithm == "EdDSA" else "TOKEN_ALGORITHM_REFUSED"
    await refused(wrong_kid, UNAUTHENTICATED, reason)
    await refused(discover(registry.address, asymmetric(key, "nope")), UNAUTHENTICATED, "TOKEN_KEY_UNKNOWN")


@pytest.mark.allow_error_logs  # an operator's broken file or setting, logged on purpose
async def test_jwks_rotation_without_restart(start_registry: StartRegistry, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    old, new = signing.generate_private_key("EdDSA"), signing.generate_private_key("ES256")
    write_jwks(jwks, {"old": old})
    registry = await jwt_registry(start_registry, jwks_file=str(jwks), jwks_reload_seconds=0.02)
    address = registry.address
    old_token, new_token = (
        asymmetric(old, "old"),
        asymmetric(new, "new"),
    )  # reused: verified once, then cached

    assert (await discover(address, old_token)).revision >= 0
    await refused(discover(address, new_token), UNAUTHENTICATED, "TOKEN_KEY_UNKNOWN")

    write_jwks(jwks, {"old": old, "new": new})  # step 1: publish the new key next to the old
    await sleep_past_reload()
    assert (await discover(address, new_token)).revision >= 0
    assert (await discover(address, old_token)).revision >= 0

    jwks.write_text('{"keys": [')  # a botched edit: the registry keeps the keys it has
    await sleep_past_reload()
    assert (await discover(address, new_token)).revision >= 0

    write_jwks(jwks, {"new": new})  # step 2: retire the old key; its cached token goes with it
    await sleep_past_reload()
    await refused(discover(address, old_token), UNAUTHENTICATED, "TOKEN_KEY_UNKNOWN")
    assert (await discover(address, new_token)).revision >= 0


async def sleep_past_reload() -> None:
    """Let the 20 ms reload interval pass; the check itself happens on the next token."""
    await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ('{"keys": []}', "no usable signing keys"),
        ("not json", "unusable JWKS"),
        ('{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}', "kid"),
    ],
)
def test_unusable_jwks_refuses_to_start(tmp_path: Path, document: str, message: str) -> None:
    (tmp_path / "jwks.json").write_text(document)
    config = config_for_tests({"auth_mode": "jwt", "jwks_file": str(tmp_path / "jwks.json")})
    with pytest.raises(ConfigError, match=message):
        build_interceptor(config)


def test_private_keys_in_a_jwks_are_refused(tmp_path: Path) -> None:
    key = signing.generate_private_key("EdDSA")
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    private = {**OKPAlgorithm.to_jwk(key, as_dict=True), "kid": "leaked"}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [private]}))
    config = config_for_tests({"auth_mode": "jwt", "jwks_file": str(tmp_path / "jwks.json")})
    with pytest.raises(ConfigError, match="private key material"):
        build_interceptor(config)


def test_auth_off_on_a_non_loopback_address_is_refused(tmp_path: Path) -> None:
    result = registry_cli(
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        "--auth-mode",
        "off",
        "--db-path",
        str(tmp_path / "r.db"),
        check=False,
    )
    assert result.returncode == 2
    assert "refusing to serve 0.0.0.0 with auth_mode=off" in result.stderr
    assert "--insecure" in result.stderr
    for host in ("127.0.0.1", "::1", "localhost"):
        assert build_config(env={"REGISTRY_AUTH_MODE": "off", "REGISTRY_HOST": host}).auth_mode == "off"


@pytest.mark.allow_error_logs  # an operator's broken file or setting, logged on purpose
def test_insecure_allows_it_and_says_so_loudly(caplog: pytest.LogCaptureFixture) -> None:
    config = build_config(
        env={"REGISTRY_AUTH_MODE": "off", "REGISTRY_HOST": "0.0.0.0", "REGISTRY_INSECURE": "1"}
    )
    with caplog.at_level(logging.WARNING, logger="registry.auth"):
        assert build_interceptor(config) is None
    (record,) = caplog.records
    assert record.levelno == logging.CRITICAL
    assert "AUTH IS OFF ON A NON-LOOPBACK ADDRESS" in record.getMessage()


def test_auth_is_on_by_default() -> None:
    assert build_config(env={}).auth_mode == "jwt"
