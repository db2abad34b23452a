"""Every way a token can be wrong, against a live registry with auth on.

Each refusal asserts the status code and the ErrorInfo reason (which rule failed); the shared
`assert_clean` checks that the message never echoes the token and that the denial was logged with
caller, method and reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from generated.registry.v1 import registry_service_pb2 as pb
from registry.auth import signing
from tests.auth.support import SECRET, bearer, claims, forge, jwt_registry, refused, sign, token, write_jwks
from tests.conftest import StartRegistry
from tests.helpers.registry_api import Stub, stub

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED
LIST_SERVICES = "/registry.v1.RegistryService/ListServices"


@pytest.fixture
async def api(start_registry: StartRegistry) -> AsyncIterator[Stub]:
    registry = await jwt_registry(start_registry)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        yield stub(channel)


async def list_services(api: Stub, value: str | None) -> pb.ListServicesResponse:
    metadata = bearer(value) if value is not None else ()
    return await api.ListServices(pb.ListServicesRequest(), metadata=metadata)


def assert_clean(
    error: grpc.aio.AioRpcError, sent: str, caplog: pytest.LogCaptureFixture, caller: str = "-"
) -> None:
    """The message names a rule without echoing the token; the log has caller, method, reason."""
    details = error.details() or ""
    assert details
    if sent:
        assert sent not in details
        signature = sent.rsplit(".", maxsplit=1)[-1]
        assert len(signature) < 16 or signature not in details  # not even the signature
    denials = [r for r in caplog.records if r.getMessage() == "auth denied"]
    assert denials, "the denial was not logged"
    last: Any = denials[-1]
    assert (last.caller, last.method, last.reason) == (caller, LIST_SERVICES, details)
    if sent:
        assert not any(sent in str(vars(r)) for r in caplog.records), "the token reached the log"


async def test_a_valid_token_is_accepted(api: Stub) -> None:
    response = await list_services(api, token())
    assert response.revision >= 0


async def test_no_token_is_unauthenticated(api: Stub, caplog: pytest.LogCaptureFixture) -> None:
    error = await refused(list_services(api, None), UNAUTHENTICATED, "TOKEN_MISSING")
    assert "authorization: Bearer" in (error.details() or "")
    assert_clean(error, "", caplog)


@pytest.mark.parametrize(
    "metadata_value",
    ["Bearer not-a-jwt", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["garbage", "bad-base64", "basic-scheme", "empty"],
)
async def test_malformed_tokens_are_unauthenticated(
    api: Stub, metadata_value: str, caplog: pytest.LogCaptureFixture
) -> None:
    call = api.ListServices(pb.ListServicesRequest(), metadata=(("authorization", metadata_value),))
    error = await refused(call, UNAUTHENTICATED, "TOKEN_MALFORMED")
    assert_clean(error, metadata_value.partition(" ")[2], caplog)


async def test_oversized_token_is_refused_before_parsing(api: Stub, caplog: pytest.LogCaptureFixture) -> None:
    huge = token(padding="y" * 4000)  # correctly signed, but over the 4 KiB limit
    error = await refused(list_services(api, huge), UNAUTHENTICATED, "TOKEN_MALFORMED")
    assert "longer than 4096 bytes" in (error.details() or "")
    assert_clean(error, huge, caplog)


async def test_bad_signature_is_unauthenticated(api: Stub, caplog: pytest.LogCaptureFixture) -> None:
    forged = sign(claims(scope="admin"), key="another-secret-of-at-least-32-bytes!!")
    error = await refused(list_services(api, forged), UNAUTHENTICATED, "TOKEN_SIGNATURE_INVALID")
    assert_clean(error, forged, caplog)


async def test_tampered_payload_is_unauthenticated(api: Stub) -> None:
    header, _, signature = token(scope="discover").split(".")
    elevated = sign(claims(scope="admin")).split(".")[1]
    await refused(
        list_services(api, f"{header}.{elevated}.{signature}"), UNAUTHENTICATED, "TOKEN_SIGNATURE_INVALID"
    )


async def test_alg_none_is_refused(api: Stub, caplog: pytest.LogCaptureFixture) -> None:
    unsigned = forge({"alg": "none", "typ": "JWT"}, claims(scope="admin"), hmac_key=None)
    error = await refused(list_services(api, unsigned), UNAUTHENTICATED, "TOKEN_ALGORITHM_REFUSED")
    assert "'none' is not allowed" in (error.details() or "")
    assert_clean(error, unsigned, caplog)


@pytest.mark.parametrize("algorithm", ["HS512", "RS512", "PS256", "ES384"])
async def test_algorithms_outside_the_allow_list_are_refused(api: Stub, algorithm: str) -> None:
    sneaky = forge({"alg": algorithm, "typ": "JWT"}, claims(), hmac_key=SECRET.encode())
    await refused(list_services(api, sneaky), UNAUTHENTICATED, "TOKEN_ALGORITHM_REFUSED")


async def test_hs256_signed_with_the_rsa_public_key_is_refused(
    start_registry: StartRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The classic confusion: the attacker knows our RSA public key (it is public) and uses its PEM
    as an HMAC secret. The registry holds both an HS secret and that RSA key in its JWKS."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, {"rsa-1": rsa_key})
    registry = await jwt_registry(start_registry, jwks_file=str(jwks))
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        genuine = signing.mint(
            rsa_key, service="orders", scope=["discover"], ttl=60, audience="registry", kid="rsa-1"
        )
        assert (await list_services(api, genuine)).revision >= 0  # the RSA key itself works
        for kid in (None, "rsa-1"):
            header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
            confused = forge(header, claims(scope="admin"), hmac_key=public_pem)
            error = await refused(list_services(api, confused), UNAUTHENTICATED, "TOKEN_SIGNATURE_INVALID")
            assert_clean(error, confused, caplog)


async def test_hs256_is_refused_when_only_a_jwks_is_configured(
    start_registry: StartRegistry, tmp_path: Path
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, {"rsa-1": rsa_key})
    registry = await start_registry(auth_mode="jwt", jwks_file=str(jwks), jwt_leeway_seconds=0)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = forge({"alg": "HS256", "kid": "rsa-1"}, claims(scope="admin"), hmac_key=public_pem)
    async with grpc.aio.insecure_channel(registry.address) as channel:
        error = await refused(
            list_services(stub(channel), confused), UNAUTHENTICATED, "TOKEN_ALGORITHM_REFUSED"
        )
    assert "no shared secret" in (error.details() or "")
    assert not (tmp_path / "jwt-secret").exists()  # a JWKS registry makes no secret of its own


async def test_expired_token_is_unauthenticated(api: Stub, caplog: pytest.LogCaptureFixture) -> None:
    stale = token(iat=int(time.time()) - 120, exp=int(time.time()) - 60)
    error = await refused(list_services(api, stale), UNAUTHENTICATED, "TOKEN_EXPIRED")
    assert_clean(error, stale, caplog)


async def test_leeway_tolerates_small_clock_skew(start_registry: StartRegistry) -> None:
    registry = await jwt_registry(start_registry, jwt_leeway_seconds=30)
    now = int(time.time())
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        assert (await list_services(api, token(exp=now - 10))).revision >= 0
        assert (await list_services(api, token(nbf=now + 10, iat=now + 10))).revision >= 0
        await refused(list_services(api, token(exp=now - 60)), UNAUTHENTICATED, "TOKEN_EXPIRED")


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_not_yet_valid_token_is_unauthenticated(
    api: Stub, claim: str, caplog: pytest.LogCaptureFixture
) -> None:
    early_claim: dict[str, Any] = {claim: int(time.time()) + 60}
    early = token(**early_claim)
    error = await refused(list_services(api, early), UNAUTHENTICATED, "TOKEN_NOT_YET_VALID")
    assert_clean(error, early, caplog)


@pytest.mark.parametrize("audience", ["billing", ["billing", "payments"]])
async def test_wrong_audience_is_unauthenticated(
    api: Stub, audience: Any, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = token(aud=audience)
    error = await refused(list_services(api, elsewhere), UNAUTHENTICATED, "TOKEN_AUDIENCE_INVALID")
    assert "`aud` must be 'registry'" in (error.details() or "")
    assert_clean(error, elsewhere, caplog)


async def test_audience_list_naming_the_registry_is_accepted(api: Stub) -> None:
    assert (await list_services(api, token(aud=["billing", "registry"]))).revision >= 0


async def test_issuer_allow_list(start_registry: StartRegistry, caplog: pytest.LogCaptureFixture) -> None:
    registry = await jwt_registry(start_registry, jwt_issuers="https://a.example, https://b.example")
    async with grpc.aio.insecure_channel(registry.address) as channel:
        api = stub(channel)
        assert (await list_services(api, token(iss="https://b.example"))).revision >= 0
        wrong = token(iss="https://evil.example")
        error = await refused(list_services(api, wrong), UNAUTHENTICATED, "TOKEN_ISSUER_INVALID")
        assert_clean(error, wrong, caplog)
        missing = await refused(list_services(api, token()), UNAUTHENTICATED, "TOKEN_CLAIM_MISSING")
        assert "`iss`" in (missing.details() or "")


@pytest.mark.parametrize("claim", ["sub", "exp", "aud"])
async def test_missing_required_claim_is_unauthenticated(
    api: Stub, claim: str, caplog: pytest.LogCaptureFixture
) -> None:
    dropped: dict[str, Any] = {claim: None}
    partial = token(**dropped)
    error = await refused(list_services(api, partial), UNAUTHENTICATED, "TOKEN_CLAIM_MISSING")
    assert f"`{claim}` claim is required" in (error.details() or "")
    assert_clean(error, partial, caplog)


@pytest.mark.parametrize(
    "subject", ["Orders", "orders_svc", "-orders", "a" * 64, 42, "orders\n", "orders\x00"]
)
async def test_subject_must_be_a_service_name(api: Stub, subject: Any) -> None:
    odd = token(sub=subject)
    reason = "TOKEN_SUBJECT_INVALID" if isinstance(subject, str) else "TOKEN_INVALID"
    await refused(list_services(api, odd), UNAUTHENTICATED, reason)


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("kind", ["string", "infinity", "infinity-string", "nan", "bool", "list"])
async def test_times_must_be_json_numbers(api: Stub, claim: str, kind: str) -> None:
    """RFC 7519 NumericDate: a number. PyJWT alone reads `"exp": "4102444800"` as a number, and
    JSON's `Infinity` would make a token that never expires."""
    valid = int(time.time()) + (3600 if claim == "exp" else -60)  # a time PyJWT would accept
    value: object = {
        "string": str(valid),
        "infinity": float("inf") if claim == "exp" else float("-inf"),
        "infinity-string": "Infinity",
        "nan": float("nan"),
        "bool": True,  # JSON true, not a NumericDate (PyJWT would read it as 1)
        "list": [valid],
    }[kind]
    payload = claims()
    payload[claim] = value
    odd = sign(payload)
    await refused(list_services(api, odd), UNAUTHENTICATED, "TOKEN_INVALID")


async def test_missing_scope_is_permission_denied(api: Stub, caplog: pytest.LogCaptureFixture) -> None:
    powerless = token(scope="send:* publish:# discover:everything superuser")  # none of them is discover
    error = await refused(list_services(api, powerless), PERMISSION_DENIED, "PERMISSION_DENIED")
    assert "rule 'discover' failed" in (error.details() or "")
    assert_clean(error, powerless, caplog, caller="orders")
    no_claim = token(scope=None)
    await refused(list_services(api, no_claim), PERMISSION_DENIED, "PERMISSION_DENIED")


async def test_admin_may_discover(api: Stub) -> None:
    assert (await list_services(api, token(scope="admin"))).revision >= 0


async def test_denials_are_logged_at_warning(api: Stub, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="registry.auth"):
        await refused(list_services(api, None), UNAUTHENTICATED, "TOKEN_MISSING")
    (record,) = [r for r in caplog.records if r.getMessage() == "auth denied"]
    assert record.levelno == logging.WARNING
    assert getattr(record, "peer", "").startswith("ipv4:127.0.0.1:")
