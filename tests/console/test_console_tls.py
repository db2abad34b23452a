"""The console serves HTTPS with the gRPC port's TLS files, mutual TLS included."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import StartRegistry
from tests.helpers.certs import Authority
from tests.test_tls import Pki, tls_settings


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def _client_context(pki: Pki, *, with_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca.cert))
    if with_certificate:
        context.load_cert_chain(pki.client.cert, pki.client.key)
    return context


async def _status(url: str, context: ssl.SSLContext | bool) -> int:
    async with aiohttp.ClientSession() as session, session.get(url, ssl=context) as response:
        return response.status


async def test_the_console_serves_https_with_the_registrys_certificate(
    start_registry: StartRegistry, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    registry = await start_registry(console_address="127.0.0.1:0", **tls_settings(pki))
    assert registry.console is not None
    assert registry.console.url.startswith("https://")
    assert await _status(registry.console.url, _client_context(pki, with_certificate=False)) == 200
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await _status(registry.console.url, ssl.create_default_context())  # does not trust our CA
    with pytest.raises(aiohttp.ClientConnectionError):
        await _status(registry.console.url.replace("https", "http"), False)  # plaintext
    assert not [
        r for r in caplog.records if r.levelno >= logging.ERROR
    ]  # refused handshakes are no error of ours


async def test_with_mutual_tls_the_console_wants_a_client_certificate(
    start_registry: StartRegistry, pki: Pki
) -> None:
    registry = await start_registry(console_address="127.0.0.1:0", **tls_settings(pki, mutual=True))
    assert registry.console is not None
    assert await _status(registry.console.url, _client_context(pki, with_certificate=True)) == 200
    with pytest.raises(aiohttp.ClientError):
        await _status(registry.console.url, _client_context(pki, with_certificate=False))


async def test_a_renewed_certificate_is_served_without_a_restart(
    start_registry: StartRegistry, pki: Pki, tmp_path: Path
) -> None:
    registry = await start_registry(
        console_address="127.0.0.1:0", **tls_settings(pki, tls_reload_seconds=0.05)
    )
    assert registry.console is not None
    url = registry.console.url
    assert await _status(url, _client_context(pki, with_certificate=False)) == 200
    # The renewal, from a new CA, written the way certbot and cert-manager do (rename into place).
    renewed = Authority(tmp_path / "renewed", "renewed-ca").issue("registry", server=True)
    for name in ("cert", "key"):
        staging = getattr(pki.server, name).with_suffix(".new")
        staging.write_bytes(getattr(renewed, name).read_bytes())
        staging.replace(getattr(pki.server, name))
    trusting_the_renewal = ssl.create_default_context(cafile=str(tmp_path / "renewed" / "renewed-ca.pem"))
    for _ in range(100):
        await asyncio.sleep(0.06)
        try:
            assert await _status(url, trusting_the_renewal) == 200
            break
        except aiohttp.ClientConnectorCertificateError:
            continue
    else:
        pytest.fail("the renewed certificate was never served")
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await _status(url, _client_context(pki, with_certificate=False))  # the old CA's pair is gone
