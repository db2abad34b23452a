"""Tokens against a registry with auth on and no leeway: minted HS256 and EdDSA tokens are accepted,
and open streams (heartbeat, watch, subscribe) are reopened with a fresh token before the registry
would cut them at expiry, without a gap the registry or a watcher could see."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from client import HealthStatus, RegistryClient, UnauthenticatedError
from client.tokens import MintedTokens, StaticToken
from registry.app import Registry
from tests.client.conftest import FAST_BEATS, client_config
from tests.conftest import StartRegistry
from tests.helpers.waiting import until

SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret!"


@pytest.fixture
async def secured(start_registry: StartRegistry) -> Registry:
    return await start_registry(auth_mode="jwt", jwt_secret=SECRET, jwt_leeway_seconds=0)


def test_minted_tokens_carry_the_claims_and_are_replaced_before_expiry() -> None:
    now = [1000.4]
    tokens = MintedTokens(
        key=SECRET,
        algorithm="HS256",
        subject="crm",
        audience="registry",
        scopes=("discover", "publish:crm.#"),
        ttl=60,
        refresh_margin=15,
        clock=lambda: now[0],
    )
    first = tokens.current()
    claims = jwt.decode(
        first.value, SECRET, algorithms=["HS256"], audience="registry", options={"verify_exp": False}
    )
    assert claims == {
        "sub": "crm",
        "aud": "registry",
        "scope": "discover publish:crm.#",
        "iat": 1000,
        "exp": 1060,
    }
    assert (first.expires_at, first.refresh_at) == (1060, 1045)
    now[0] = 1044.9
    assert tokens.current() is first
    now[0] = 1045.0
    assert tokens.current().value != first.value
    assert tokens.minted == 2


async def test_streams_are_renewed_across_token_expiry(secured: Registry) -> None:
    config = {"jwt_secret": SECRET, "token_ttl": 2}
    service = RegistryClient(client_config(secured.address, "orders", instance_id="orders-1", **config))
    observer = RegistryClient(client_config(secured.address, "observer", **config))
    try:
        # 200 ms beats: 50 ms ones have 25 ms of jitter tolerance, which a loaded machine exceeds.
        # The gap a renewal's take-over leaves is pinned by test_silence_restarts_at_a_take_over_bind.
        registration = await service.register("127.0.0.1:9001", heartbeat_interval=0.2, heartbeat_timeout=2.0)
        async with asyncio.timeout(3):
            await registration.wait_for_status()
        view = observer.discovery.view("orders")
        await view.wait_ready(2)
        statuses: list[HealthStatus | None] = []  # None: it left the view
        view.add_listener(lambda v: statuses.append(getattr(v.instances.get("orders-1"), "status", None)))
        events = observer.subscribe("orders.#")
        consumer = asyncio.ensure_future(anext(events))

        started = time.monotonic()
        await until(lambda: registration.stats.rotations >= 2 and view.stats.rotations >= 2, seconds=8)
        elapsed = time.monotonic() - started

        assert elapsed > 1.0  # at least one whole token lifetime went by on these streams
        assert registration.stats.failures == 0
        assert view.stats.failures == 0
        assert events.reconnects == 0  # its rotations are not failures either
        assert set(statuses) <= {HealthStatus.HEALTHY}  # nobody ever saw it leave
        assert registration.status is HealthStatus.HEALTHY
        assert view.stats.snapshots == 1  # every reopened watch resumed by revision
        assert isinstance(service.tokens, MintedTokens)
        assert service.tokens.minted >= 3
        consumer.cancel()
    finally:
        await service.close()
        await observer.close()


async def test_control_a_stream_on_a_token_that_cannot_be_renewed_is_cut(secured: Registry) -> None:
    """Proves the registry really ends streams at expiry, so the test above can fail."""
    expires = int(time.time()) + 2
    token = jwt.encode({"sub": "orders", "aud": "registry", "iat": int(time.time()), "exp": expires}, SECRET)
    client = RegistryClient(
        client_config(secured.address, "orders", instance_id="orders-1"), tokens=StaticToken(token)
    )
    try:
        registration = await client.register("127.0.0.1:9001", **FAST_BEATS)
        await until(lambda: isinstance(registration.last_error, UnauthenticatedError), seconds=5)
        assert registration.last_error is not None
        assert registration.last_error.reason == "TOKEN_EXPIRED"
    finally:
        await client.close()


async def test_eddsa_key_file_tokens_are_accepted(start_registry: StartRegistry, tmp_path: Path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "orders.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "orders-2025", "alg": "EdDSA", "use": "sig"}]}))
    secured = await start_registry(auth_mode="jwt", jwt_secret=SECRET, jwks_file=str(jwks))

    signed = RegistryClient(
        client_config(
            secured.address, "orders", instance_id="orders-1", private_key_file=key_file, key_id="orders-2025"
        )
    )
    stranger = RegistryClient(
        client_config(
            secured.address, "orders", instance_id="orders-2", private_key_file=key_file, key_id="unknown"
        )
    )
    try:
        registration = await signed.register("127.0.0.1:9001", **FAST_BEATS)
        async with asyncio.timeout(3):
            await registration.wait_for_status()
        with pytest.raises(UnauthenticatedError) as refused:
            await stranger.register("127.0.0.1:9002", **FAST_BEATS)
        assert refused.value.reason == "TOKEN_KEY_UNKNOWN"
    finally:
        await signed.close()
        await stranger.close()
