"""`registry token create | inspect | keygen`, run as the real command line."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import jwt

from tests.auth.support import SECRET, registry_cli, token

ENV = {"REGISTRY_JWT_SECRET": SECRET}


def test_create_mints_a_token_the_registry_accepts() -> None:
    minted = registry_cli(
        "token", "create", "--service", "orders", "--scope", "discover send:billing", "--scope", "admin",
        "--ttl", "15m", env=ENV,
    ).stdout.strip()  # fmt: skip
    payload = jwt.decode(minted, SECRET, algorithms=["HS256"], audience="registry")
    assert (payload["sub"], payload["scope"], payload["exp"] - payload["iat"]) == (
        "orders",
        "discover send:billing admin",
        900,
    )

    inspected = registry_cli("token", "inspect", minted, env=ENV)
    assert "accepted by this registry: yes, as service 'orders' with scopes admin discover send:billing" in (
        inspected.stdout
    )
    assert '"sub": "orders"' in inspected.stdout


def test_inspect_says_why_a_token_is_refused() -> None:
    other = registry_cli("token", "inspect", token(), check=False, env={"REGISTRY_JWT_SECRET": "z" * 40})
    assert other.returncode == 1
    assert "accepted by this registry: no: token rejected: signature does not verify" in other.stdout

    stale = token(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    expired = registry_cli("token", "inspect", stale, check=False, env=ENV)
    assert expired.returncode == 1
    assert "ago)" in expired.stdout
    assert "no: token rejected: expired" in expired.stdout

    garbage = registry_cli("token", "inspect", "not-a-token", check=False, env=ENV)
    assert garbage.returncode == 2
    assert "not a JWT" in garbage.stderr


def test_inspect_reads_registry_token_from_the_environment() -> None:
    result = registry_cli("token", "inspect", env={**ENV, "REGISTRY_TOKEN": token("billing")})
    assert "as service 'billing'" in result.stdout


def test_create_warns_about_scopes_the_registry_ignores() -> None:
    result = registry_cli("token", "create", "--service", "orders", "--scope", "discover superuser", env=ENV)
    assert "scope 'superuser' is not recognised" in result.stderr
    assert jwt.decode(result.stdout.strip(), SECRET, algorithms=["HS256"], audience="registry")["scope"] == (
        "discover superuser"
    )


def test_create_refuses_bad_input_and_never_creates_a_secret(tmp_path: Path) -> None:
    no_secret = registry_cli(
        "token", "create", "--service", "orders", "--db-path", str(tmp_path / "r.db"), check=False
    )
    assert no_secret.returncode == 2
    assert "cannot read the JWT secret" in no_secret.stderr
    assert list(tmp_path.iterdir()) == []

    bad_name = registry_cli("token", "create", "--service", "Orders_Svc", check=False, env=ENV)
    assert (bad_name.returncode, "is not a service name" in bad_name.stderr) == (2, True)
    bad_ttl = registry_cli("token", "create", "--service", "orders", "--ttl", "forever", check=False, env=ENV)
    assert (bad_ttl.returncode, "not a duration" in bad_ttl.stderr) == (2, True)


def test_keygen_then_sign_with_the_key_and_verify_with_the_jwks(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    registry_cli("token", "keygen", "--alg", "EdDSA", "--kid", "2025-01", "--out", str(keys))
    registry_cli("token", "keygen", "--alg", "ES256", "--kid", "2025-02", "--out", str(keys))
    pem = keys / "2025-01.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    document = json.loads((keys / "jwks.json").read_text())
    assert [(k["kid"], k["alg"], k["use"], "d" in k) for k in document["keys"]] == [
        ("2025-01", "EdDSA", "sig", False),
        ("2025-02", "ES256", "sig", False),
    ]

    duplicate = registry_cli("token", "keygen", "--kid", "2025-01", "--out", str(keys), check=False)
    assert (duplicate.returncode, "already has a key '2025-01'" in duplicate.stderr) == (2, True)

    jwks = {"REGISTRY_JWKS_FILE": str(keys / "jwks.json")}
    signed = registry_cli(
        "token", "create", "--service", "orders", "--private-key", str(pem), "--kid", "2025-01", env=jwks
    ).stdout.strip()
    assert jwt.get_unverified_header(signed)["kid"] == "2025-01"
    assert "accepted by this registry: yes" in registry_cli("token", "inspect", signed, env=jwks).stdout
    wrong_kid = registry_cli(
        "token", "create", "--service", "orders", "--private-key", str(pem), "--kid", "2025-02", env=jwks
    ).stdout.strip()
    refused = registry_cli("token", "inspect", wrong_kid, check=False, env=jwks)
    assert "no: token rejected: key '2025-02' verifies ES256 only" in refused.stdout
