"""Delivery tokens: how a target proves that a message came through the registry, and from whom.

Every Inbox delivery carries a short-lived JWT signed with the registry's own Ed25519 key:
`iss` the registry, `sub` the sending service as the registry verified it, `aud` the target
service, `eid` the envelope id, `iat`/`exp`. A target verifies it with the public key from
RelayService.GetDeliveryKeys (a JWKS; pick the key by the token's `kid`), and then knows the
sender without trusting anything in the envelope itself.

The key is generated on first start in the data directory (`relay-signing-key.pem`, PKCS#8, mode
0600, created atomically and never overwritten) and reused afterwards, so targets that cache the
JWKS keep working across restarts. A key file others can read is refused: whoever reads it can
forge deliveries from any service.

`DeliverySigner` implements the core's `DeliveryTokenSigner` port (`registry.core.ports`); it lives
here, beside the other crypto (JWT verification, signing keys), so the core imports no crypto.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from registry.private_files import create_private_file

KEY_FILE_NAME = "relay-signing-key.pem"
TOKEN_TTL_SECONDS = 60.0
"""How long a delivery token is valid: long enough for any sane deadline plus clock skew, short
enough that a leaked token is worth little."""
ISSUER = "registry"
ALGORITHM = "EdDSA"


class SigningKeyError(RuntimeError):
    """The signing key file is unusable; the registry refuses to start."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _create_key_file(path: Path) -> None:
    """Write a fresh Ed25519 key to `path` (0600) unless one is there already."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        create_private_file(path, pem)
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot create the relay signing key: {exc.strerror}") from None


def _load_key_file(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        with path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            pem = f.read(64 * 1024)
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the relay signing key: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(f"{path}: the relay signing key must not be readable by others (chmod 600)")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise SigningKeyError(f"{path}: not a PEM private key") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: the relay signing key must be Ed25519")
    return key


class DeliverySigner:
    """Signs delivery tokens with the registry's key and publishes the matching JWKS."""

    def __init__(self, key: ed25519.Ed25519PrivateKey, issuer: str = ISSUER) -> None:
        self._key = key
        self.issuer = issuer
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        public = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
        # RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
        self.key_id = _b64url(hashlib.sha256(json.dumps(public, separators=(",", ":")).encode()).digest())
        self.jwks = json.dumps({"keys": [{**public, "kid": self.key_id, "alg": ALGORITHM, "use": "sig"}]})
        header = {"alg": ALGORITHM, "kid": self.key_id, "typ": "JWT"}
        self._header = _b64url(json.dumps(header, separators=(",", ":")).encode())

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte secret for `purpose` (e.g. signing page tokens), derived from this private
        key: it lasts as long as the key does, and needs no file of its own."""
        raw = self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return hmac.new(raw, f"registry derived key: {purpose}".encode(), hashlib.sha256).digest()

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> DeliverySigner:
        """The signer for the key in `data_dir`, creating the key on first start."""
        path = data_dir / KEY_FILE_NAME
        if not path.exists():
            _create_key_file(path)
        return cls(_load_key_file(path))

    def sign(self, *, source: str, target: str, envelope_id: str, now: float | None = None) -> str:
        """A compact JWS (RFC 7515), built by hand with the header encoded once: this runs on
        every Send, and a general-purpose JWT library spends as long as the signature itself on
        re-encoding the same header. Any JWT library verifies it."""
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer,
            "sub": source,
            "aud": target,
            "eid": envelope_id,
            "iat": issued,
            "exp": issued + int(TOKEN_TTL_SECONDS),
        }
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._header}.{payload}"
        return f"{signing_input}.{_b64url(self._key.sign(signing_input.encode()))}"
