"""JWT identity for every call: verification, scopes, per-method rules and the interceptor.

What servicers use: `current_identity()` for the caller of the RPC being handled, and the
`require_*` checks for rules that depend on a request field (see policy.py). docs/security.md
describes the model.
"""

from registry.auth.identity import Identity, current_identity
from registry.auth.policy import require_publish, require_send, require_service, require_subscribe

__all__ = [
    "Identity",
    "current_identity",
    "require_publish",
    "require_send",
    "require_service",
    "require_subscribe",
]
