"""Keyset page tokens (AIP-158).

A token carries the last key of the previous page, so the next page starts right after it with
a bisect, and stays correct while instances come and go between calls (no offsets to shift). It
also carries a short hash of the request's other fields (its "scope"), because a token is only
meaningful for the query that produced it. Tokens are opaque to clients: urlsafe base64 of a
small JSON document, which we are free to change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from registry.core.errors import InvalidArgument

FIELD = "page_token"


def _scope_hash(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def encode(last_key: tuple[str, ...], scope: str) -> str:
    document = json.dumps({"k": list(last_key), "s": _scope_hash(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def decode(token: str, scope: str, key_length: int) -> tuple[str, ...] | None:
    """The last key of the previous page, or None for the first page."""
    if not token:
        return None
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        key, hashed = document["k"], document["s"]
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise InvalidArgument(FIELD, "malformed page token") from None
    if not (isinstance(key, list) and len(key) == key_length and all(isinstance(k, str) for k in key)):
        raise InvalidArgument(FIELD, "malformed page token")
    if hashed != _scope_hash(scope):
        raise InvalidArgument(FIELD, "the page token belongs to a request with different fields")
    return tuple(key)
