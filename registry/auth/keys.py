"""Verification keys: the HS256 shared secret and the JWKS of asymmetric public keys.

Where keys come from, in order:
1. `jwt_secret` (env `REGISTRY_JWT_SECRET`) or `jwt_secret_file`: the HS256 secret.
2. `jwks_file`: EdDSA (Ed25519), ES256 (P-256) and RS256 (RSA >= 2048 bit) public keys, selected by
   `kid`. The file is re-read when it changes, checked at most every `jwks_reload_seconds` and
   only when a token needs it, so rotating keys needs no restart and costs no file I/O per call.
3. Neither: the registry creates a random secret in its data directory on first start
   (`DATA_DIR/jwt-secret`, mode 0600, written atomically and never overwritten), so `make run`
   is safe with no setup and `registry token create` can mint tokens from the same file.

Every key carries the single algorithm it may verify; the verifier never lets a token's header
choose how a key is used. That is what makes algorithm confusion impossible by construction.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from registry.config import Config, ConfigError
from registry.private_files import create_private_file

log = logging.getLogger(__name__)

SECRET_FILE_NAME = "jwt-secret"
MIN_SECRET_BYTES = 32
MAX_SECRET_FILE_BYTES = 4096
MAX_JWKS_BYTES = 1 << 20
MAX_JWKS_KEYS = 100
MIN_RSA_BITS = 2048

HS256 = "HS256"
ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "RS256")

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class KeyFileError(ConfigError):
    """A secret or key file is unusable; at start the registry refuses to run."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public key from the JWKS and the only algorithm it verifies."""

    kid: str
    algorithm: str
    key: PublicKey


# ---------------------------------------------------------------------------------------------
# The HS256 secret


def _check_secret(secret: bytes, source: str) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyFileError(f"{source}: the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def read_secret_file(path: Path) -> bytes:
    """The secret in `path`, surrounding whitespace removed (an `echo`-written file ends in \\n)."""
    try:
        with path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            raw = f.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the JWT secret: {exc.strerror}") from exc
    if len(raw) > MAX_SECRET_FILE_BYTES:
        raise KeyFileError(f"{path}: a JWT secret file holds at most {MAX_SECRET_FILE_BYTES} bytes")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("JWT secret file is readable by others", extra={"path": str(path), "mode": oct(mode)})
    return _check_secret(raw.strip(), str(path))


def create_secret_file(path: Path) -> bool:
    """Create `path` with a fresh random secret, mode 0600; False when it already exists."""
    try:
        return create_private_file(path, secrets.token_urlsafe(48).encode() + b"\n")
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create the JWT secret: {exc.strerror}") from None


# ---------------------------------------------------------------------------------------------
# The JWKS


def _algorithm_of(jwk: Mapping[str, Any]) -> str | None:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return "EdDSA"
    if kty == "EC" and crv == "P-256":
        return "ES256"
    if kty == "RSA":
        return "RS256"
    return None


def _parse_key(jwk: Mapping[str, Any]) -> VerificationKey | None:
    """One JWKS entry, or None for a key this registry does not use (encryption, other curves)."""
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("every key needs a non-empty string `kid`")
    if jwk.get("use", "sig") != "sig":
        return None
    algorithm = _algorithm_of(jwk)
    if algorithm is None or jwk.get("alg", algorithm) != algorithm:
        log.warning("JWKS key skipped: unsupported type or algorithm", extra={"kid": kid})
        return None
    if "d" in jwk:
        raise ValueError(f"key {kid!r} holds private key material; a JWKS file must hold public keys only")
    try:
        key: PublicKey = jwt.PyJWK(dict(jwk), algorithm=algorithm).key
    except jwt.PyJWTError as exc:
        raise ValueError(f"key {kid!r}: {exc}") from exc
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValueError(f"key {kid!r}: RSA keys need at least {MIN_RSA_BITS} bits")
    return VerificationKey(kid, algorithm, key)


def parse_jwks(data: bytes) -> dict[str, VerificationKey]:
    """The usable keys of a JWKS document, by kid; ValueError when the document is unusable."""
    if len(data) > MAX_JWKS_BYTES:
        raise ValueError(f"a JWKS file holds at most {MAX_JWKS_BYTES} bytes")
    document = json.loads(data)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError('a JWKS is an object with a "keys" list of JWK objects')
    if len(entries) > MAX_JWKS_KEYS:
        raise ValueError(f"a JWKS file holds at most {MAX_JWKS_KEYS} keys")
    keys: dict[str, VerificationKey] = {}
    for entry in entries:
        parsed = _parse_key(entry)
        if parsed is None:
            continue
        if parsed.kid in keys:
            raise ValueError(f"kid {parsed.kid!r} appears twice")
        keys[parsed.kid] = parsed
    return keys


class JwksFile:
    """A JWKS file, re-read when its stat signature changes, checked at most every `interval` s.

    A reload that fails (a half-written file, a bad key) is logged and the previous keys stay in
    force: a broken rotation must not lock every service out. Writers should replace the file
    atomically (write elsewhere, then rename), as `registry token keygen` does.
    """

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self._interval = interval
        self._signature, self._keys = self._load()
        if not self._keys:
            raise KeyFileError(f"{path}: no usable signing keys (EdDSA, ES256 or RS256 with a kid)")
        self._checked = time.monotonic()
        self.generation = 0
        """Bumped on every reload, so caches of verification results know to start over."""

    def _stat_signature(self) -> tuple[int, int, int]:
        st = os.stat(self.path)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _load(self) -> tuple[tuple[int, int, int], dict[str, VerificationKey]]:
        try:
            signature = self._stat_signature()
            keys = parse_jwks(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"{self.path}: unusable JWKS: {exc}") from exc
        return signature, keys

    def refresh(self) -> int:
        """Reload if the file changed (looked at no more than once per interval); the generation."""
        now = time.monotonic()
        if now - self._checked >= self._interval:
            self._checked = now
            self._reload_if_changed()
        return self.generation

    def get(self, kid: str) -> VerificationKey | None:
        return self._keys.get(kid)

    def _reload_if_changed(self) -> None:
        try:
            if self._stat_signature() == self._signature:
                return
            self._signature, self._keys = self._load()
            self.generation += 1
        except (OSError, KeyFileError) as exc:
            # The message names the file and the problem; a traceback would add nothing.
            log.error("JWKS reload failed; keeping the previous keys", extra={"error": str(exc)})  # noqa: TRY400
            return
        log.info("JWKS reloaded", extra={"path": str(self.path), "kids": sorted(self._keys)})


# ---------------------------------------------------------------------------------------------
# The key ring


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Every key this registry verifies with. `hs_secret` None disables HS256 altogether."""

    hs_secret: bytes | None
    jwks: JwksFile | None
    secret_source: str = ""

    def describe(self) -> str:
        parts = [f"HS256 secret from {self.secret_source}"] if self.hs_secret is not None else []
        if self.jwks is not None:
            parts.append(f"JWKS {self.jwks.path}")
        return "; ".join(parts)


def default_secret_path(config: Config) -> Path:
    return config.data_dir / SECRET_FILE_NAME


def load_keys(config: Config, *, create_secret: bool) -> KeyRing:
    """The keys `config` names. With `create_secret`, a registry with no keys configured gets a
    data-dir secret on first start; tooling passes False so it never creates one by accident."""
    jwks = JwksFile(Path(config.jwks_file), config.jwks_reload_seconds) if config.jwks_file else None
    if config.jwt_secret:
        return KeyRing(_check_secret(config.jwt_secret.encode(), "jwt_secret"), jwks, "REGISTRY_JWT_SECRET")
    if config.jwt_secret_file:
        path = Path(config.jwt_secret_file)
        return KeyRing(read_secret_file(path), jwks, str(path))
    if jwks is not None:
        return KeyRing(None, jwks)
    path = default_secret_path(config)
    if create_secret and create_secret_file(path):
        log.warning("created a JWT secret for this registry", extra={"path": str(path), "mode": "0600"})
    return KeyRing(read_secret_file(path), None, str(path))
