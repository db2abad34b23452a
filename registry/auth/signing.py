"""Minting tokens and making signing keys: the issuer's side, used by `registry token`.

The registry itself never signs tokens; this lives next to the verifier so both sides agree on
claims and algorithms by construction rather than by documentation.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from registry.auth import scopes
from registry.auth.keys import HS256

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

RSA_BITS = 3072


def signing_algorithm(key: PrivateKey) -> str:
    """The one algorithm the registry verifies for this kind of key."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    raise ValueError("unsupported key: use Ed25519 (EdDSA), EC P-256 (ES256) or RSA (RS256)")


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise ValueError(f"unsupported algorithm {algorithm!r}; use EdDSA, ES256 or RS256")


def private_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if isinstance(key, PrivateKey):
        signing_algorithm(key)  # refuses EC curves other than P-256
        return key
    raise ValueError(f"{path}: not an Ed25519, P-256 or RSA private key")


def public_jwk(key: PrivateKey, kid: str) -> dict[str, Any]:
    """The public half of `key` as a JWK with `kid`, `alg` and `use`, ready for a JWKS file."""
    algorithm = signing_algorithm(key)
    jwk: dict[str, Any] = get_default_algorithms()[algorithm].to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


def mint(
    key: bytes | PrivateKey,
    *,
    service: str,
    scope: Iterable[str],
    ttl: float,
    audience: str,
    issuer: str = "",
    kid: str = "",
    now: float | None = None,
) -> str:
    """A token for `service` with `scope`, valid for `ttl` seconds from `now`."""
    if not scopes.is_service_name(service):
        raise ValueError(f"{service!r} is not a service name (an RFC 1035 label)")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": service,
        "aud": audience,
        "iat": issued,
        "exp": issued + max(1, round(ttl)),
        "jti": secrets.token_hex(8),
    }
    if scope_text := " ".join(scope):
        claims["scope"] = scope_text
    if issuer:
        claims["iss"] = issuer
    if isinstance(key, bytes):
        return jwt.encode(claims, key, algorithm=HS256)
    return jwt.encode(claims, key, algorithm=signing_algorithm(key), headers={"kid": kid} if kid else None)
