"""Per-service credentials: a service's own key speaks for that service, within its scopes, and for
nothing else. Keys are provisioned with the real `registry credentials issue`; the forgeries are
signed with service A's real private key and sent to a real registry, then a property test signs
thousands more (any subject, any scopes, any kid) and checks the verifier never accepts one that
speaks for someone else or grants more than A was given."""

from __future__ import annotations

import asyncio
import json
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from client import ClientConfig, RegistryClient
from generated.registry.v1 import registry_service_pb2 as pb
from registry.auth import scopes
from registry.auth.verifier import Verifier
from registry.config import config_for_tests
from registry.core.errors import Unauthenticated
from tests.auth.support import (
    SECRET,
    bearer,
    claims,
    forge,
    jwt_registry,
    refused,
    registry_cli,
    sign,
    sign_any,
)
from tests.conftest import StartRegistry
from tests.helpers.fuzz import budget
from tests.helpers.registry_api import error_reason, instance, stub

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
A_SCOPES = "discover publish:orders.# subscribe:billing.* send:billing"


@dataclass(frozen=True)
class Issued:
    """A credential file written by `registry credentials issue`, and the key inside it."""

    path: Path
    service: str
    kid: str
    key: Any

    def token(self, service: str | None = None, scope: str = "", **extra: Any) -> str:
        return sign(claims(service or self.service, scope, **extra), self.key, "EdDSA", kid=self.kid)


def issue(data: Path, service: str, *scope: str) -> Issued:
    path = data / f"{service}.credentials.json"
    args = ["credentials", "issue", service, "--out", str(path), "--db-path", str(data / "registry.db")]
    registry_cli(*args, *(a for s in scope for a in ("--scope", s)))
    return issued(data, path.name.removesuffix(".credentials.json"))


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory where `orders` and `billing` were given credentials, made once per module
    (each `registry credentials issue` is a process start)."""
    folder = tmp_path_factory.mktemp("provisioned")
    issue(folder, "orders", A_SCOPES)
    issue(folder, "billing", "discover", "send:*")
    return folder


@pytest.fixture
def data(tmp_path: Path, provisioned: Path) -> Path:
    """A private copy of the provisioned data directory."""
    shutil.copytree(provisioned, tmp_path, dirs_exist_ok=True)
    return tmp_path


def issued(data: Path, service: str) -> Issued:
    document = json.loads((data / f"{service}.credentials.json").read_text())
    key = serialization.load_pem_private_key(document["private_key"].encode(), password=None)
    return Issued(data / f"{service}.credentials.json", service, document["kid"], key)


@pytest.fixture
def orders(data: Path) -> Issued:
    return issued(data, "orders")


@pytest.fixture
def billing(data: Path) -> Issued:
    return issued(data, "billing")


@pytest.fixture
def verifier(data: Path, orders: Issued, billing: Issued) -> Verifier:
    """The registry's verifier for `data`, with both services' keys issued."""
    config = config_for_tests({"auth_mode": "jwt", "jwt_secret": SECRET, "db_path": data / "registry.db"})
    return Verifier.from_config(config, create_secret=False)


async def list_services(address: str, token: str) -> pb.ListServicesResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        return await stub(channel).ListServices(pb.ListServicesRequest(), metadata=bearer(token))


def test_issue_writes_a_private_credential_and_a_bound_public_key(data: Path, orders: Issued) -> None:
    assert stat.S_IMODE(orders.path.stat().st_mode) == 0o600
    document = json.loads(orders.path.read_text())
    assert document["service"] == "orders"
    assert set(document["scopes"].split()) == set(A_SCOPES.split())
    (key,) = [k for k in json.loads((data / "service-keys.json").read_text())["keys"] if k["sub"] == "orders"]
    assert (key["sub"], key["kid"], key["alg"]) == ("orders", orders.kid, "EdDSA")
    assert "d" not in key  # public half only
    listing = registry_cli("credentials", "list", "--db-path", str(data / "registry.db")).stdout
    assert orders.kid in listing
    assert "orders" in listing


def test_issue_refuses_unknown_scopes_and_bad_names(tmp_path: Path) -> None:
    data = tmp_path
    db = str(data / "registry.db")
    bad_scope = registry_cli(
        "credentials", "issue", "orders", "--scope", "root", "--db-path", db, check=False
    )
    assert bad_scope.returncode == 2
    assert "unrecognised scopes" in bad_scope.stderr
    bad_name = registry_cli("credentials", "issue", "Orders!", "--db-path", db, check=False)
    assert bad_name.returncode == 2
    assert not (data / "service-keys.json").exists()
    assert not list(data.glob("*.credentials.json"))


async def test_a_service_key_speaks_for_its_service_within_its_scopes(
    start_registry: StartRegistry, data: Path, orders: Issued, billing: Issued
) -> None:
    registry = await jwt_registry(start_registry, db_path=data / "registry.db")
    address = registry.address
    assert (
        await list_services(address, orders.token(scope="discover publish:orders.created"))
    ).ListFields() == []
    assert await list_services(address, billing.token(scope="discover send:orders"))

    forgeries = {
        "another subject": (orders.token("billing", "discover"), "TOKEN_SUBJECT_NOT_ALLOWED"),
        "admin": (orders.token(scope="discover admin"), "TOKEN_SCOPE_NOT_ALLOWED"),
        "send anywhere": (orders.token(scope="send:*"), "TOKEN_SCOPE_NOT_ALLOWED"),
        "send elsewhere": (orders.token(scope="send:payments"), "TOKEN_SCOPE_NOT_ALLOWED"),
        "wider publish": (orders.token(scope="publish:#"), "TOKEN_SCOPE_NOT_ALLOWED"),
        "sibling topic": (orders.token(scope="publish:orderz.created"), "TOKEN_SCOPE_NOT_ALLOWED"),
        "wider subscribe": (orders.token(scope="subscribe:billing.#"), "TOKEN_SCOPE_NOT_ALLOWED"),
        "B's kid": (
            sign(claims("billing", "discover"), orders.key, "EdDSA", kid=billing.kid),
            "TOKEN_SIGNATURE_INVALID",
        ),
        "no kid": (sign(claims("orders", "discover"), orders.key, "EdDSA"), "TOKEN_KEY_UNKNOWN"),
        "HMAC keyed with A's public key": (
            forge(
                {"alg": "HS256", "kid": orders.kid},
                claims("billing", "admin"),
                orders.key.public_key().public_bytes(
                    serialization.Encoding.Raw, serialization.PublicFormat.Raw
                ),
            ),
            "TOKEN_SIGNATURE_INVALID",
        ),
        "alg none": (
            forge({"alg": "none", "kid": orders.kid}, claims("billing", "admin"), None),
            "TOKEN_ALGORITHM_REFUSED",
        ),
        "embedded jwk": (
            jwt.encode(
                claims("billing", "admin"),
                orders.key,
                algorithm="EdDSA",
                headers={"kid": billing.kid, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}},
            ),
            "TOKEN_SIGNATURE_INVALID",
        ),
        "subject list": (orders.token(sub=["orders", "billing"]), "TOKEN_INVALID"),
    }
    for name, (token, reason) in forgeries.items():
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await list_services(address, token)
        assert caught.value.code() == UNAUTHENTICATED, name
        assert error_reason(caught.value) == reason, (name, caught.value.details())

    # A valid token of A still cannot touch B's instances (the own-service rule).
    async with grpc.aio.insecure_channel(address) as channel:
        await refused(
            stub(channel).Register(
                pb.RegisterRequest(instance=instance("billing", "billing-1")), metadata=bearer(orders.token())
            ),
            grpc.StatusCode.PERMISSION_DENIED,
            "PERMISSION_DENIED",
        )


async def test_revoking_a_key_revokes_its_tokens_without_restart(
    start_registry: StartRegistry, data: Path, orders: Issued
) -> None:
    registry = await jwt_registry(start_registry, db_path=data / "registry.db", jwks_reload_seconds=0.05)
    token = orders.token(scope="discover")
    await list_services(registry.address, token)
    registry_cli("credentials", "revoke", "orders", "--db-path", str(data / "registry.db"))
    await asyncio.sleep(0.1)
    await refused(list_services(registry.address, token), UNAUTHENTICATED, "TOKEN_KEY_UNKNOWN")
    # A key issued after the registry started is picked up the same way.
    (data / "orders.credentials.json").unlink()
    renewed = issue(data, "orders", "discover")
    await asyncio.sleep(0.1)
    await list_services(registry.address, renewed.token(scope="discover"))


async def test_the_sdk_runs_on_its_credential_alone(
    start_registry: StartRegistry, data: Path, orders: Issued
) -> None:
    registry = await jwt_registry(start_registry, db_path=data / "registry.db")
    config = ClientConfig.from_env(
        {
            "REGISTRY_URL": registry.address,
            "REGISTRY_CREDENTIALS_FILE": str(orders.path),
            "SERVICE_ID": "orders-1",
        },
        backoff_base=0.02,
        backoff_cap=0.2,
    )
    assert (config.service_name, set(config.scopes)) == ("orders", set(A_SCOPES.split()))
    async with RegistryClient(config) as client:
        await client.register("127.0.0.1:7001")
        (found,) = await client.resolve("orders")
        assert found.instance_id == "orders-1"
        assert await client.publish("orders.created", {"id": 1})


# --- the property: nothing signed with A's key speaks for B or beyond A's scopes -----------------

SUBJECTS = st.sampled_from(["orders", "billing", "admin", "orders-", "Orders", "orders\n", ""])
SCOPE_WORDS = st.sampled_from(
    [
        "discover", "admin", "send:*", "send:billing", "send:orders", "publish:#", "publish:orders.#",
        "publish:orders.created", "publish:orders.*.x", "publish:*", "subscribe:billing.*",
        "subscribe:billing.#", "subscribe:billing.paid", "subscribe:#", "subscribe:*.paid", "root",
    ]
)  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
"""Any JSON value: what a forger may put in a claim."""


def claim_values(good: Any) -> st.SearchStrategy[Any]:
    """Mostly the right value, sometimes anything at all, sometimes absent (None drops it)."""
    return st.one_of(st.just(good), JSON, st.just(None))


@budget(300)
@given(
    subject=SUBJECTS | JSON,
    words=st.lists(SCOPE_WORDS, max_size=6),
    scope_any=st.booleans(),
    scope_json=JSON,
    kid=st.sampled_from(["own", "other", "none"]) | JSON,
    exp=claim_values(2_000_000_000),
    aud=claim_values("registry"),
    extra=st.dictionaries(st.sampled_from(["iss", "nbf", "iat", "jti", "scp"]), JSON, max_size=3),
)
def test_no_token_signed_with_a_key_speaks_beyond_it(  # noqa: PLR0917 - hypothesis passes them
    verifier: Verifier,
    orders: Issued,
    billing: Issued,
    subject: Any,
    words: list[str],
    scope_any: bool,
    scope_json: Any,
    kid: Any,
    exp: Any,
    aud: Any,
    extra: dict[str, Any],
) -> None:
    """JWT claims fuzzed at the verifier: every token is signed with A's real key, and whatever
    its claims and header hold, the verifier either refuses it with Unauthenticated or accepts it
    as A within A's scopes. Any other exception is a bug."""
    header = {"alg": "EdDSA", "typ": "JWT"}
    kid_value = {"own": orders.kid, "other": billing.kid}.get(kid, kid) if isinstance(kid, str) else kid
    if kid != "none":
        header["kid"] = kid_value
    payload = {"sub": subject, "exp": exp, "aud": aud, "scope": scope_json if scope_any else " ".join(words)}
    payload.update(extra)
    token = sign_any(header, {k: v for k, v in payload.items() if v is not None}, orders.key)
    try:
        identity = verifier.verify(token)
    except Unauthenticated:
        return
    assert identity.service == "orders"
    assert scopes.beyond(identity.scopes, scopes.parse(A_SCOPES)) == []
