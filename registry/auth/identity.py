"""Who is calling: the verified identity of the current RPC, readable by any servicer.

The auth interceptor sets the identity of every call it admits before the handler runs, in the
RPC's own task, so `current_identity()` is exact for that call and can never leak into another.
When auth is off the interceptor is not installed at all (no cost on the Lookup path) and the
default applies: `LOCAL`, which may do anything, because an auth-off registry trusts every caller
by definition and config validation keeps such a registry on loopback unless `--insecure` is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from registry.auth import scopes


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller: `service` is the token's `sub`, `scopes` the recognised grants.

    `claims` keeps the whole verified payload (read-only) for logging and future rules; decisions
    use `service` and `scopes` only.
    """

    service: str
    scopes: frozenset[str]
    expires_at: float
    claims: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_admin(self) -> bool:
        return scopes.ADMIN in self.scopes


LOCAL = Identity(service="(local)", scopes=frozenset({scopes.ADMIN}), expires_at=math.inf)
"""The identity of every call on a registry with auth off."""

ANONYMOUS = Identity(service="(anonymous)", scopes=frozenset(), expires_at=math.inf)
"""The identity of a call to a public method (health, reflection) on a registry with auth on."""

_current: ContextVar[Identity] = ContextVar("registry_caller_identity", default=LOCAL)
_method: ContextVar[str] = ContextVar("registry_caller_method", default="")


def current_identity() -> Identity:
    """The caller of the RPC being handled (LOCAL when auth is off)."""
    return _current.get()


def current_method() -> str:
    """The full method name of the RPC being handled, for denial logs ("" when auth is off)."""
    return _method.get()


def set_current_call(identity: Identity, method: str) -> None:
    """Bind the caller and method to the running RPC; only the auth interceptor calls this."""
    _current.set(identity)
    _method.set(method)
