"""Scopes: what a token may do beyond acting as its own service.

A token's `scope` claim is a space-separated list (RFC 8693 style). Recognised scopes:

- `discover`: read the catalog (get, list, lookup, watch, health views);
- `send:<service>` / `send:*`: relay commands to one service or to any;
- `publish:<pattern>` / `subscribe:<pattern>`: events on topics matching an AMQP-style pattern,
  where `*` matches exactly one dot-separated segment and `#` matches zero or more;
- `admin`: everything, including acting on instances of other services.

Anything else is ignored rather than refused, so a token minted for a newer registry (or shared
with other systems) still works here with the rights this registry understands. A missing scope
denies. Topics and patterns are bounded so that matching cost is bounded too.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from registry.core import validation
from registry.core.limits import LIMITS
from registry.core.messages import SEGMENT

DISCOVER = "discover"
ADMIN = "admin"
SEND = "send"
PUBLISH = "publish"
SUBSCRIBE = "subscribe"


def is_service_name(value: str) -> bool:
    return validation.SERVICE_NAME.fullmatch(value) is not None


def _is_pattern(value: str) -> bool:
    segments = value.split(".")
    return len(segments) <= LIMITS.topic_segments and all(
        s in ("*", "#") or SEGMENT.fullmatch(s) for s in segments
    )


def _recognised(scope: str) -> bool:
    if scope in (DISCOVER, ADMIN):
        return True
    kind, sep, target = scope.partition(":")
    if not sep:
        return False
    if kind == SEND:
        return target == "*" or is_service_name(target)
    if kind in (PUBLISH, SUBSCRIBE):
        return _is_pattern(target)
    return False


def parse(claim: object) -> frozenset[str]:
    """The recognised scopes of a `scope` claim; anything unrecognised (or a non-string) is dropped."""
    if not isinstance(claim, str):
        return frozenset()
    return frozenset(s for s in claim.split()[: LIMITS.token_scopes] if _recognised(s))


def unrecognised(claim: str) -> list[str]:
    """The scopes `parse` would drop, so tooling can warn before minting a useless token."""
    kept = parse(claim)
    return [s for s in claim.split() if s not in kept]


def covers(granted: str, requested: str) -> bool:
    """Whether every topic matching `requested` also matches the `granted` pattern.

    With a plain topic as `requested` this is ordinary AMQP matching (`*` one segment, `#` zero or
    more); with a pattern it asks whether a subscription is inside what the scope grants, so
    `subscribe:orders.*` allows subscribing to `orders.created` and `orders.*` but not `orders.#`.
    """
    return _covers(tuple(granted.split(".")), tuple(requested.split(".")))


@lru_cache(maxsize=4096)
def _covers(granted: tuple[str, ...], requested: tuple[str, ...]) -> bool:
    # Memoised on suffixes, so even a pattern of many `#` costs at most segments^2 steps.
    if not granted:
        return not requested
    head, rest = granted[0], granted[1:]
    if head == "#":
        return any(_covers(rest, requested[i:]) for i in range(len(requested) + 1))
    if not requested or requested[0] == "#":
        return False
    return head in ("*", requested[0]) and _covers(rest, requested[1:])


def _targets(granted: Iterable[str], kind: str) -> list[str]:
    prefix = kind + ":"
    return [s[len(prefix) :] for s in granted if s.startswith(prefix)]


def grants(granted: frozenset[str], kind: str) -> bool:
    """Whether any scope of this kind (`send`, `publish`, `subscribe`) is granted, for any target."""
    return ADMIN in granted or bool(_targets(granted, kind))


def allows_send(granted: frozenset[str], service: str) -> bool:
    return ADMIN in granted or any(t in ("*", service) for t in _targets(granted, SEND))


def allows_publish(granted: frozenset[str], topic: str) -> bool:
    return ADMIN in granted or any(covers(p, topic) for p in _targets(granted, PUBLISH))


def allows_subscribe(granted: frozenset[str], pattern: str) -> bool:
    return ADMIN in granted or any(covers(p, pattern) for p in _targets(granted, SUBSCRIBE))


def _covered(scope: str, allowed: frozenset[str]) -> bool:
    if ADMIN in allowed or scope in allowed:
        return True
    kind, _, target = scope.partition(":")
    if kind == SEND:
        return target != "*" and "*" in _targets(allowed, SEND)
    if kind in (PUBLISH, SUBSCRIBE):
        return any(covers(granted, target) for granted in _targets(allowed, kind))
    return False  # discover and admin are covered only by themselves (or admin)


def beyond(requested: frozenset[str], allowed: frozenset[str]) -> list[str]:
    """The scopes of `requested` that `allowed` does not cover, sorted; empty when it is within.

    `send:orders` is within `send:*`, `publish:orders.created` within `publish:orders.#`,
    `subscribe:orders.*` within `subscribe:orders.#` (but not the other way round); `admin` covers
    everything and is covered by nothing else. Used for keys bound to the most a service may sign.
    """
    return sorted(s for s in requested if not _covered(s, allowed))
