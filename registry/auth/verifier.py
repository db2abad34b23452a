"""Token verification: a bearer JWT in, a verified `Identity` out, or `Unauthenticated` saying why.

The allow-list is per key, not per token: the header's `alg` only picks which of our keys to try,
and each key verifies exactly one algorithm. HS256 is checked with the shared secret and nothing
else, asymmetric algorithms with the JWKS key named by `kid` and nothing else. So `alg: none` is
refused, and the classic confusion attack (an HS256 token whose HMAC key is our RSA public key) is
checked against the shared secret and fails.

Required claims: `exp`, `aud` (equal to, or a list containing, the registry audience) and `sub`
(a service name). `nbf` and `iat` are honoured when present; all times get the configured leeway.
`iss` must be in the allow-list when one is configured. Error messages name the rule that failed
and never include the token.

A key bound to a subject (a per-service key from `registry credentials issue`, or a JWKS entry
with `sub` and `scope` members) verifies only tokens for that subject whose recognised scopes are
all within the key's: a service holding its own key can speak for itself and for nothing more, so
the own-service rule means something even when that key leaks.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import jwt

from registry.auth import scopes
from registry.auth.identity import Identity
from registry.auth.keys import (
    ASYMMETRIC_ALGORITHMS,
    HS256,
    KeyRing,
    ServiceKeySet,
    VerificationKey,
    load_keys,
)
from registry.config import Config, split_list
from registry.core.errors import Reason, Unauthenticated
from registry.core.limits import LIMITS

ALLOWED_ALGORITHMS = (HS256, *ASYMMETRIC_ALGORITHMS)


def _refuse(reason: Reason, message: str) -> Unauthenticated:
    return Unauthenticated(f"token rejected: {message}", reason=reason)


def _check_binding(key: VerificationKey, subject: str, granted: frozenset[str]) -> None:
    """Refuse a token that a bound key signed for another subject or beyond the key's scopes."""
    if subject != key.subject:
        raise _refuse(
            Reason.TOKEN_SUBJECT_NOT_ALLOWED, f"key {key.kid!r} speaks for service {key.subject!r} only"
        )
    if extra := scopes.beyond(granted, key.max_scopes):
        shown = " ".join(extra[:4]) + (" ..." if len(extra) > 4 else "")
        raise _refuse(Reason.TOKEN_SCOPE_NOT_ALLOWED, f"key {key.kid!r} may not grant {shown}")


class Verifier:
    """Verifies bearer tokens against one KeyRing and the registry's claim rules."""

    def __init__(
        self, keys: KeyRing, *, audience: str, issuers: Sequence[str] = (), leeway: float = 30.0
    ) -> None:
        self.keys = keys
        self.audience = audience
        self.issuers = tuple(issuers)
        self.leeway = leeway
        self._required = ["exp", "aud", "sub", *(["iss"] if self.issuers else [])]
        self._cache: OrderedDict[str, Identity] = OrderedDict()
        self._cache_generation = (0, 0)

    @property
    def cached(self) -> int:
        """Verified tokens remembered now."""
        return len(self._cache)

    @classmethod
    def from_config(
        cls, config: Config, *, create_secret: bool, service_keys: ServiceKeySet | None = None
    ) -> Verifier:
        return cls(
            load_keys(config, create_secret=create_secret, service_keys=service_keys),
            audience=config.jwt_audience,
            issuers=split_list(config.jwt_issuers),
            leeway=config.jwt_leeway_seconds,
        )

    def verify(self, token: str) -> Identity:
        """The identity `token` proves, from the cache when this exact token was verified before.

        A cached result is used only while the token is unexpired and the JWKS has not been
        reloaded since (a reload may have removed its key); everything else about a token is
        fixed by its bytes and the registry's configuration.
        """
        generation = self.keys.refresh()
        if generation != self._cache_generation:
            self._cache.clear()
            self._cache_generation = generation
        identity = self._cache.pop(token, None)
        if identity is None or time.time() >= identity.expires_at + self.leeway:
            identity = self._verify(token)  # an expired token fails here with the usual reason
        self._cache[token] = identity  # (re)inserted last: the most recently used
        if len(self._cache) > LIMITS.verified_tokens_cached:
            self._cache.popitem(last=False)
        return identity

    def _verify(self, token: str) -> Identity:
        if len(token) > LIMITS.token_bytes:
            raise _refuse(Reason.TOKEN_MALFORMED, f"longer than {LIMITS.token_bytes} bytes")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refuse(Reason.TOKEN_MALFORMED, "not a compact JWS (header.payload.signature)") from exc
        key, algorithm, binding = self._key_for(header)
        payload = self._decode(token, key, algorithm)
        for claim in ("exp", "nbf", "iat"):
            # PyJWT reads `"exp": "9999999999"` as a number, and JSON's `Infinity` is a float.
            if claim in payload and not _is_numeric_date(payload[claim]):
                raise _refuse(
                    Reason.TOKEN_INVALID, f"`{claim}` must be a finite JSON number (RFC 7519 NumericDate)"
                )
        self._check_times(payload)
        subject = payload["sub"]
        if not isinstance(subject, str) or not scopes.is_service_name(subject):
            raise _refuse(Reason.TOKEN_SUBJECT_INVALID, "`sub` must be a service name (an RFC 1035 label)")
        granted = scopes.parse(payload.get("scope"))
        if binding is not None and binding.subject is not None:
            _check_binding(binding, subject, granted)
        return Identity(
            service=subject,
            scopes=granted,
            expires_at=float(payload["exp"]),
            claims=MappingProxyType(payload),
        )

    def _key_for(self, header: dict[str, Any]) -> tuple[Any, str, VerificationKey | None]:
        algorithm = header.get("alg")
        if algorithm == HS256:
            if self.keys.hs_secret is None:
                raise _refuse(
                    Reason.TOKEN_ALGORITHM_REFUSED, "HS256 is not accepted: no shared secret is configured"
                )
            return self.keys.hs_secret, HS256, None
        if algorithm in ASYMMETRIC_ALGORITHMS:
            kid = header.get("kid")
            found = self.keys.asymmetric(kid) if isinstance(kid, str) else None
            if found is None:
                raise _refuse(Reason.TOKEN_KEY_UNKNOWN, "`kid` names no key in the JWKS or the service keys")
            if found.algorithm != algorithm:
                raise _refuse(
                    Reason.TOKEN_ALGORITHM_REFUSED, f"key {found.kid!r} verifies {found.algorithm} only"
                )
            return found.key, algorithm, found
        shown = algorithm if isinstance(algorithm, str) and len(algorithm) <= 16 else "?"
        allowed = ", ".join(ALLOWED_ALGORITHMS)
        raise _refuse(
            Reason.TOKEN_ALGORITHM_REFUSED, f"algorithm {shown!r} is not allowed (allowed: {allowed})"
        )

    def _check_times(self, payload: dict[str, Any]) -> None:
        """RFC 7519 §4.1.4-6 with the configured leeway, on claims already known to be numbers."""
        now = time.time()
        if payload["exp"] <= now - self.leeway:
            raise _refuse(Reason.TOKEN_EXPIRED, "expired (`exp` is past)")
        if payload.get("nbf", now) > now + self.leeway or payload.get("iat", now) > now + self.leeway:
            raise _refuse(Reason.TOKEN_NOT_YET_VALID, "not yet valid (`nbf` or `iat` is in the future)")

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuers or None,
                leeway=self.leeway,
                # Times are checked after their types (below): PyJWT would judge `"exp": true` as 1,
                # long past, before anyone saw it is not a NumericDate.
                options={"require": self._required, "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False},
            )  # fmt: skip
        except jwt.MissingRequiredClaimError as exc:
            raise _refuse(Reason.TOKEN_CLAIM_MISSING, f"the `{exc.claim}` claim is required") from exc
        except jwt.InvalidAudienceError as exc:
            raise _refuse(Reason.TOKEN_AUDIENCE_INVALID, f"`aud` must be {self.audience!r}") from exc
        except jwt.InvalidIssuerError as exc:
            raise _refuse(Reason.TOKEN_ISSUER_INVALID, "`iss` is not an accepted issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise _refuse(Reason.TOKEN_SIGNATURE_INVALID, "signature does not verify") from exc
        except (jwt.PyJWTError, OverflowError) as exc:  # OverflowError: PyJWT's int() of `Infinity`
            raise _refuse(Reason.TOKEN_INVALID, "malformed claims (exp, nbf, iat must be numbers)") from exc
        return payload


def _is_numeric_date(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
