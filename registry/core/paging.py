"""Keyset page tokens (AIP-158), signed so a client can neither read nor forge them.

A token carries the last key of the previous page, so the next page starts right after it with
a bisect, and stays correct while instances come and go between calls (no offsets to shift). It
also carries a short hash of the request's other fields (its "scope"), because a token is only
meaningful for the query that produced it.

Tokens are opaque and tamper-evident: `payload.mac`, where the payload is urlsafe base64 of a
small JSON document and the MAC an HMAC-SHA256 of it under a key only this registry holds. A
token is checked in this order, each step cheap and bounded: its length, its alphabet, the MAC
(constant-time), and only then is the payload parsed, so crafted JSON (deep nesting, huge
numbers, odd digits) never reaches a parser. Anything wrong answers INVALID_ARGUMENT.

The key is random per process until `use_key` installs one; the registry installs a key derived
from its relay signing key at start, so tokens survive a restart. A token from another registry
(another data directory) fails with INVALID_ARGUMENT, and the client starts its listing again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets

from registry.core.errors import InvalidArgument

FIELD = "page_token"
MAX_TOKEN_LENGTH = 2048
"""Longer than any token this registry makes (keys are bounded names); longer ones are refused
before any work is done on them."""
_MAC_BYTES = 16
_TOKEN = re.compile(r"([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{22})", re.ASCII)
_key = secrets.token_bytes(32)


def use_key(key: bytes) -> None:
    """Sign and check tokens with `key` (at least 32 bytes) instead of this process's random one."""
    global _key  # noqa: PLW0603 - one key for the process, set once at start
    if len(key) < 32:
        raise ValueError("a page token key needs at least 32 bytes")
    _key = key


def _scope_hash(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str) -> bytes:
    return hmac.new(_key, payload.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def encode(last_key: tuple[str, ...], scope: str) -> str:
    document = json.dumps({"k": list(last_key), "s": _scope_hash(scope)}, separators=(",", ":"))
    payload = _b64(document.encode())
    return f"{payload}.{_b64(_mac(payload))}"


def decode(token: str, scope: str, key_length: int) -> tuple[str, ...] | None:
    """The last key of the previous page, or None for the first page."""
    if not token:
        return None
    match = _TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if match is None:
        raise InvalidArgument(FIELD, "malformed page token")
    payload, mac = match.groups()
    # Compared as text, so a second spelling of the same bytes (base64's unused low bits) fails too.
    if not hmac.compare_digest(mac, _b64(_mac(payload))):
        raise InvalidArgument(FIELD, "not a page token of this registry (altered, or from before a restart)")
    try:
        document = json.loads(_unb64(payload))
        key, hashed = document["k"], document["s"]
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):  # pragma: no cover
        raise InvalidArgument(FIELD, "malformed page token") from None  # we signed it: cannot happen
    if not (isinstance(key, list) and len(key) == key_length and all(isinstance(k, str) for k in key)):
        raise InvalidArgument(FIELD, "malformed page token")
    if hashed != _scope_hash(scope):
        raise InvalidArgument(FIELD, "the page token belongs to a request with different fields")
    return tuple(key)
