"""Short-lived JWTs minted by the client itself, replaced before they expire.

Given the shared HS256 secret (`JWT_SECRET`) or a private key, the client never holds a long-lived
token: it mints one of `token_ttl` seconds (claims `sub` = service name, `aud`, `scope`, `iat`, `exp`)
and mints the next one `refresh_margin` seconds before the current one expires. A unary call simply
asks for `current()` at call time. A stream carries the token it was opened with for its whole life,
so the heartbeat and watch loops read `Token.refresh_at` and reopen their stream before that moment
(heartbeat binds again with take_over, watch resumes after its last revision).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from client.config import ClientConfig
from client.credentials import load_credential
from client.errors import ConfigError

Clock = Callable[[], float]
SigningKey = str | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
"""An HS256 secret or a private key."""


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token and, when known, when it stops being accepted (Unix seconds).

    `refresh_at` is when it should be replaced; None for a token the client cannot renew.
    """

    value: str
    expires_at: float | None = None
    refresh_at: float | None = None


class TokenSource(Protocol):
    """Where a call gets its bearer token."""

    def current(self, ahead: float = 0.0) -> Token:
        """The token to use now; a renewable one is replaced when it is due for refresh within
        `ahead` seconds, so a stream opened with it can live at least that long."""
        ...


class NoToken:
    """For a registry running without auth: calls carry no `authorization` header."""

    def current(self, ahead: float = 0.0) -> Token:
        return Token("")


class StaticToken:
    """A token handed in by the operator, used as is. Its `exp` is read (unverified) for logs and so
    that streams end cleanly before it, but nobody can renew it: prefer a secret or a key."""

    def __init__(self, value: str) -> None:
        try:
            claims = jwt.decode(value, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise ConfigError(f"token: not a JWT ({error})") from None
        exp = claims.get("exp")
        self._token = Token(value, float(exp) if isinstance(exp, int | float) else None)

    def current(self, ahead: float = 0.0) -> Token:
        return self._token


class MintedTokens:
    """Mints and caches tokens; a new one once the cached one reaches its refresh point."""

    def __init__(
        self,
        *,
        key: SigningKey,
        algorithm: str,
        subject: str,
        audience: str,
        scopes: tuple[str, ...],
        ttl: float,
        refresh_margin: float,
        key_id: str = "",
        clock: Clock = time.time,
    ) -> None:
        self._key = key
        self._algorithm = algorithm
        self._subject = subject
        self._audience = audience
        self._scope = " ".join(scopes)
        self._ttl = ttl
        self._margin = refresh_margin
        self._headers = {"kid": key_id} if key_id else None
        self._clock = clock
        self._token: Token | None = None
        self.minted = 0
        """Tokens minted so far; tests and metrics read it."""

    def current(self, ahead: float = 0.0) -> Token:
        now = self._clock()
        token = self._token
        if token is None or token.refresh_at is None or now + ahead >= token.refresh_at:
            token = self._token = self._mint(now)
        return token

    def _mint(self, now: float) -> Token:
        # JWT times are whole seconds: round `iat` down (never in the future for the registry) and
        # `exp` down too, so the token never outlives what the caller asked for.
        issued = math.floor(now)
        expires = math.floor(now + self._ttl)
        claims = {
            "sub": self._subject,
            "aud": self._audience,
            "scope": self._scope,
            "iat": issued,
            "exp": expires,
        }
        value = jwt.encode(claims, self._key, algorithm=self._algorithm, headers=self._headers)
        self.minted += 1
        return Token(value, float(expires), expires - self._margin)


def _load_private_key(path: Path, pem: bytes | None = None) -> tuple[SigningKey, str]:
    try:
        key = load_pem_private_key(path.read_bytes() if pem is None else pem, password=None)
    except (OSError, ValueError, TypeError) as error:
        raise ConfigError(f"private_key_file: cannot load {path}: {error}") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key, "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS256"
    raise ConfigError(f"private_key_file: {path} holds an unsupported key type; use Ed25519, P-256 or RSA")


def token_source(config: ClientConfig, clock: Clock = time.time) -> TokenSource:
    """The token source the configuration asks for: minted from a secret or key, static, or none."""
    if config.token:
        return StaticToken(config.token)
    key_id = config.key_id
    key: SigningKey
    if config.credentials_file is not None:
        credential = load_credential(config.credentials_file)
        key, algorithm = _load_private_key(config.credentials_file, credential.private_key)
        key_id = credential.kid
    elif config.jwt_secret:
        key = config.jwt_secret
        algorithm = "HS256"
    elif config.private_key_file is not None:
        key, algorithm = _load_private_key(config.private_key_file)
    else:
        return NoToken()
    return MintedTokens(
        key=key,
        algorithm=algorithm,
        subject=config.service_name,
        audience=config.audience,
        scopes=config.scopes,
        ttl=config.token_ttl,
        refresh_margin=config.refresh_margin,
        key_id=key_id,
        clock=clock,
    )
