"""A service's own credential: the file `registry credentials issue` writes for it.

It holds the service's name, its key id, the scopes the registry lets that key grant, the audience
and the private key (PEM). With it the SDK mints tokens for this service and nothing else: the
registry refuses a token from this key for another service or with more scopes, so a leaked
credential exposes one service, not the whole fleet (docs/security.md, "Per-service credentials").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from client.errors import ConfigError

MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Credential:
    service: str
    kid: str
    scopes: tuple[str, ...]
    audience: str
    private_key: bytes


def load_credential(path: Path) -> Credential:
    """The credential at `path`; ConfigError naming the file when it is unreadable or malformed."""
    try:
        document = json.loads(path.read_bytes()[:MAX_BYTES])
        fields = {name: document[name] for name in ("service", "kid", "scopes", "private_key")}
        audience = document.get("audience", "registry")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"credentials_file: {path} is not a credential ({error})") from None
    if not all(isinstance(v, str) for v in (*fields.values(), audience)):
        raise ConfigError(
            f"credentials_file: {path}: service, kid, scopes, audience, private_key are strings"
        )
    return Credential(
        fields["service"],
        fields["kid"],
        tuple(fields["scopes"].split()),
        audience,
        fields["private_key"].encode(),
    )
