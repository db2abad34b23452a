"""Tokens and calls for the auth tests: real signatures, real servers, nothing mocked.

`claims()` builds a valid payload that a test then spoils one claim at a time; `sign()` signs it
with any key and algorithm, including the ones the registry must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest

from registry.app import Registry
from registry.auth import signing
from tests.conftest import StartRegistry
from tests.helpers.registry_api import error_reason

SECRET = "auth-tests-shared-secret-0123456789abcdef"
"""The HS256 secret of `jwt_registry` (40 bytes: above the 32-byte floor)."""

Metadata = tuple[tuple[str, str], ...]


def claims(
    service: str = "orders", scope: str | None = "discover", ttl: float = 60, **extra: Any
) -> dict[str, Any]:
    """A payload the registry accepts; `extra` overrides or adds claims, None drops one."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": service,
        "aud": "registry",
        "iat": now,
        "exp": now + int(ttl),
        "scope": scope,
    }
    payload.update(extra)
    return {k: v for k, v in payload.items() if v is not None}


def sign(payload: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256", kid: str | None = None) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def token(service: str = "orders", scope: str | None = "discover", **extra: Any) -> str:
    """A valid HS256 token for `jwt_registry`."""
    return sign(claims(service, scope, **extra))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """A compact JWS built by hand, for tokens PyJWT rightly refuses to make (alg none, an HMAC
    keyed with a public key)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def sign_any(header: dict[str, Any], payload: Any, key: signing.PrivateKey) -> str:
    """A compact JWS over any JSON payload (claims of any type), signed with an Ed25519 key; PyJWT
    refuses to encode some of the malformed claims a fuzzer wants to send."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64(key.sign(signing_input.encode()))}"  # type: ignore[call-arg]


def write_jwks(path: Path, keys: dict[str, signing.PrivateKey]) -> None:
    """Publish the public halves of `keys` (by kid) at `path`, replacing it atomically as an
    operator rotating keys should."""
    staging = path.with_name(path.name + ".new")
    staging.write_text(json.dumps({"keys": [signing.public_jwk(k, kid) for kid, k in keys.items()]}))
    staging.replace(path)


def registry_cli(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `registry` command line in a child process; `env` adds to the environment
    after every REGISTRY_* variable of ours is removed, so the developer's shell cannot leak in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    command = [sys.executable, "-m", "registry.cli.main", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=30, check=check, env={**clean, **(env or {})}
    )


def bearer(value: str) -> Metadata:
    return (("authorization", f"Bearer {value}"),)


async def jwt_registry(start_registry: StartRegistry, **overrides: Any) -> Registry:
    """A registry with auth on, the test secret, and no clock leeway unless a test sets one."""
    settings: dict[str, Any] = {"auth_mode": "jwt", "jwt_secret": SECRET, "jwt_leeway_seconds": 0}
    return await start_registry(**{**settings, **overrides})


async def refused(call: Awaitable[Any], code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    """Await a call that must fail with `code` and ErrorInfo `reason`; the error, for more checks."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = caught.value
    assert (error.code(), error_reason(error)) == (code, reason), error.details()
    return error
