"""Verification keys: the HS256 shared secret and the JWKS of asymmetric public keys.

Where keys come from, in order:
1. `jwt_secret` (env `REGISTRY_JWT_SECRET`) or `jwt_secret_file`: the HS256 secret.
2. `jwks_file`: EdDSA (Ed25519), ES256 (P-256) and RS256 (RSA >= 2048 bit) public keys, selected by
   `kid`. The file is re-read when it changes, checked at most every `jwks_reload_seconds` and
   only when a token needs it, so rotating keys needs no restart and costs no file I/O per call.
3. `service_keys_file` (default `DATA_DIR/service-keys.json`): per-service public keys, as written by
   `registry credentials issue`. Every key there is bound to a subject (`sub`) and to the most it
   may sign for (`scope`); a token it signs for another subject or with more scopes is refused
   (verifier.py). The file may be absent and may appear later; it is reloaded like the JWKS.
   A key in `jwks_file` may carry the same binding.
4. None of 1-2: the registry creates a random secret in its data directory on first start
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

from registry.auth import scopes
from registry.config import Config, ConfigError
from registry.core.limits import LIMITS
from registry.private_files import create_private_file

log = logging.getLogger(__name__)

SECRET_FILE_NAME = "jwt-secret"
SERVICE_KEYS_NAME = "service-keys.json"
MIN_SECRET_BYTES = 32
MIN_RSA_BITS = 2048

HS256 = "HS256"
ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "RS256")

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class KeyFileError(ConfigError):
    """A secret or key file is unusable; at start the registry refuses to run."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public key from the JWKS and the only algorithm it verifies.

    A bound key (`subject` set) speaks only for that service and only within `max_scopes`.
    """

    kid: str
    algorithm: str
    key: PublicKey
    subject: str | None = None
    max_scopes: frozenset[str] = frozenset()


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
            raw = f.read(LIMITS.secret_file_bytes + 1)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the JWT secret: {exc.strerror}") from exc
    if len(raw) > LIMITS.secret_file_bytes:
        raise KeyFileError(f"{path}: a JWT secret file holds at most {LIMITS.secret_file_bytes} bytes")
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
    subject, scope = jwk.get("sub"), jwk.get("scope", "")
    if subject is None:
        return VerificationKey(kid, algorithm, key)
    if not isinstance(subject, str) or not scopes.is_service_name(subject) or not isinstance(scope, str):
        raise ValueError(f"key {kid!r}: `sub` must be a service name and `scope` a string")
    if unknown := scopes.unrecognised(scope):
        raise ValueError(f"key {kid!r}: unrecognised scopes {unknown}")
    return VerificationKey(kid, algorithm, key, subject, scopes.parse(scope))


def parse_jwks(data: bytes, *, bound: bool = False) -> dict[str, VerificationKey]:
    """The usable keys of a JWKS document, by kid; ValueError when the document is unusable."""
    if len(data) > LIMITS.jwks_file_bytes:
        raise ValueError(f"a JWKS file holds at most {LIMITS.jwks_file_bytes} bytes")
    document = json.loads(data)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError('a JWKS is an object with a "keys" list of JWK objects')
    if len(entries) > LIMITS.jwks_keys:
        raise ValueError(f"a JWKS file holds at most {LIMITS.jwks_keys} keys")
    keys: dict[str, VerificationKey] = {}
    for entry in entries:
        parsed = _parse_key(entry)
        if parsed is None:
            continue
        if parsed.kid in keys:
            raise ValueError(f"kid {parsed.kid!r} appears twice")
        if bound and parsed.subject is None:
            raise ValueError(f"key {parsed.kid!r} has no `sub`: a service key must be bound to its service")
        keys[parsed.kid] = parsed
    return keys


class JwksFile:
    """A JWKS file, re-read when its stat signature changes, checked at most every `interval` s.

    With `service_keys`, the file may be absent or empty (no service has a key yet) and every key
    in it must be bound to a subject. A reload that fails (a half-written file, a bad key) is
    logged and the previous keys stay in force: a broken rotation must not lock every service
    out. Writers should replace the file atomically (write elsewhere, then rename), as
    `registry token keygen` does.
    """

    def __init__(self, path: Path, interval: float, *, service_keys: bool = False) -> None:
        self.path = path
        self._interval = interval
        self._service_keys = service_keys
        self._signature, self._keys = self._load()
        if not self._keys and not service_keys:
            raise KeyFileError(f"{path}: no usable signing keys (EdDSA, ES256 or RS256 with a kid)")
        self._checked = time.monotonic()
        self.generation = 0
        """Bumped on every reload, so caches of verification results know to start over."""

    def _stat_signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._service_keys:
                return None  # no service has been given a key yet
            raise
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _load(self) -> tuple[tuple[int, int, int] | None, dict[str, VerificationKey]]:
        try:
            signature = self._stat_signature()
            if signature is None:
                return None, {}
            keys = parse_jwks(self.path.read_bytes(), bound=self._service_keys)
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


class ServiceKeySet:
    """Service keys held in memory and set from outside: cluster mode's keys in etcd
    (registry/store/etcd_service_keys.py), followed by a watch. A value that is not a JWK bound to
    a service is skipped with a WARNING (the previous keys stay), as a bad reload of the file is."""

    def __init__(self, where: str) -> None:
        self.path = where
        self._keys: dict[str, VerificationKey] = {}
        self.generation = 0

    def put(self, kid: str, value: bytes) -> None:
        try:
            keys = parse_jwks(b'{"keys":[' + value + b"]}", bound=True)
        except ValueError as exc:
            keys, fault = {}, str(exc)
        else:
            fault = f"the key stored as {kid!r} names another kid" if set(keys) - {kid} else ""
        if fault:
            log.warning("a service key is unusable; skipped", extra={"kid": kid, "error": fault})
            keys = {}
        self._keys.pop(kid, None)
        self._keys.update(keys)
        self.generation += 1

    def remove(self, kid: str) -> None:
        if self._keys.pop(kid, None) is not None:
            self.generation += 1

    def refresh(self) -> int:
        return self.generation

    def get(self, kid: str) -> VerificationKey | None:
        return self._keys.get(kid)


# ---------------------------------------------------------------------------------------------
# The key ring


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Every key this registry verifies with. `hs_secret` None disables HS256 altogether."""

    hs_secret: bytes | None
    jwks: JwksFile | None
    secret_source: str = ""
    service_keys: JwksFile | ServiceKeySet | None = None

    def describe(self) -> str:
        parts = [f"HS256 secret from {self.secret_source}"] if self.hs_secret is not None else []
        if self.jwks is not None:
            parts.append(f"JWKS {self.jwks.path}")
        if self.service_keys is not None:
            parts.append(f"service keys {self.service_keys.path}")
        return "; ".join(parts)

    def refresh(self) -> tuple[int, int]:
        """Reload changed key files; their generations, which change on every reload."""
        return (
            self.jwks.refresh() if self.jwks is not None else 0,
            self.service_keys.refresh() if self.service_keys is not None else 0,
        )

    def asymmetric(self, kid: str) -> VerificationKey | None:
        """The public key named `kid`: the JWKS first, then the service keys."""
        for source in (self.jwks, self.service_keys):
            found = source.get(kid) if source is not None else None
            if found is not None:
                return found
        return None


def default_secret_path(config: Config) -> Path:
    return config.data_dir / SECRET_FILE_NAME


def service_keys_path(config: Config) -> Path:
    return Path(config.service_keys_file) if config.service_keys_file else config.data_dir / SERVICE_KEYS_NAME


def load_keys(config: Config, *, create_secret: bool, service_keys: ServiceKeySet | None = None) -> KeyRing:
    """The keys `config` names. With `create_secret`, a registry with no keys configured gets a
    data-dir secret on first start; tooling passes False so it never creates one by accident.
    `service_keys` replaces the service keys file (cluster mode: the keys in etcd)."""
    jwks = JwksFile(Path(config.jwks_file), config.jwks_reload_seconds) if config.jwks_file else None
    service: JwksFile | ServiceKeySet = (
        service_keys
        if service_keys is not None
        else JwksFile(service_keys_path(config), config.jwks_reload_seconds, service_keys=True)
    )
    if config.jwt_secret:
        secret = _check_secret(config.jwt_secret.encode(), "jwt_secret")
        return KeyRing(secret, jwks, "REGISTRY_JWT_SECRET", service)
    if config.jwt_secret_file:
        path = Path(config.jwt_secret_file)
        return KeyRing(read_secret_file(path), jwks, str(path), service)
    if jwks is not None:
        return KeyRing(None, jwks, service_keys=service)
    path = default_secret_path(config)
    if create_secret and create_secret_file(path):
        log.warning("created a JWT secret for this registry", extra={"path": str(path), "mode": "0600"})
    return KeyRing(read_secret_file(path), None, str(path), service)
