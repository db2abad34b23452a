"""Scopes, topic patterns, the method table and the verification cache, checked in-process."""

from __future__ import annotations

import math

import pytest

from generated.registry.v1 import heartbeat_service_pb2, registry_service_pb2, relay_service_pb2
from registry.auth import scopes, signing
from registry.auth.identity import LOCAL, Identity, current_identity
from registry.auth.keys import KeyRing
from registry.auth.policy import (
    METHOD_RULES,
    Rule,
    method_denial,
    require_publish,
    require_send,
    require_service,
    require_subscribe,
)
from registry.auth.verifier import Verifier
from registry.core.errors import PermissionDenied
from registry.core.limits import LIMITS

SERVED = [registry_service_pb2, heartbeat_service_pb2, relay_service_pb2]


def identity(service: str = "orders", scope: str = "") -> Identity:
    return Identity(service=service, scopes=scopes.parse(scope), expires_at=math.inf)


def test_parse_keeps_known_scopes_and_ignores_the_rest() -> None:
    parsed = scopes.parse(
        "discover  send:billing send:* send:Bad_Name publish:orders.# subscribe:a.*.c admin"
    )
    assert parsed == {"discover", "send:billing", "send:*", "publish:orders.#", "subscribe:a.*.c", "admin"}
    assert scopes.parse("read write discover:all publish: publish:a..b publish:a.b* sudo") == frozenset()
    assert scopes.parse(None) == scopes.parse(["discover"]) == frozenset()
    assert scopes.unrecognised("discover superuser") == ["superuser"]


def test_parse_reads_a_bounded_number_of_scopes() -> None:
    many = " ".join(f"send:svc-{i}" for i in range(LIMITS.token_scopes + 10))
    assert len(scopes.parse(many)) == LIMITS.token_scopes


@pytest.mark.parametrize(
    ("granted", "requested", "covered"),
    [
        ("orders.created", "orders.created", True),
        ("orders.created", "orders.deleted", False),
        ("orders.*", "orders.created", True),
        ("orders.*", "orders.eu.created", False),
        ("orders.*", "orders", False),
        ("orders.#", "orders", True),
        ("orders.#", "orders.eu.created", True),
        ("#", "anything.at.all", True),
        ("*.created", "orders.created", True),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
        # Requested patterns: inside the grant or not.
        ("orders.*", "orders.*", True),
        ("orders.#", "orders.*", True),
        ("orders.*", "orders.#", False),
        ("orders.created", "orders.*", False),
        ("#", "#", True),
        ("*.#", "#", False),
    ],
)
def test_covers(granted: str, requested: str, covered: bool) -> None:
    assert scopes.covers(granted, requested) is covered


def test_many_hashes_stay_cheap() -> None:
    pattern = ".".join(["#"] * LIMITS.topic_segments)
    topic = ".".join(["x"] * LIMITS.topic_segments) + ".y"
    assert scopes.covers(pattern + ".z", topic) is False


def test_targeted_rules() -> None:
    caller = identity(scope="send:billing publish:orders.# subscribe:orders.*")
    require_send(caller, "billing")
    require_publish(caller, "orders.eu.created")
    require_subscribe(caller, "orders.created")
    with pytest.raises(PermissionDenied, match="rule 'send' failed: no send:payments or send:\\* scope"):
        require_send(caller, "payments")
    with pytest.raises(PermissionDenied, match="rule 'publish' failed"):
        require_publish(caller, "billing.paid")
    with pytest.raises(PermissionDenied, match="rule 'subscribe' failed"):
        require_subscribe(caller, "orders.#")
    require_send(identity(scope="send:*"), "anyone")


def test_require_service_allows_own_service_and_admin_only() -> None:
    require_service(identity("orders"), "orders")
    require_service(identity("ops", "admin"), "orders")
    with pytest.raises(PermissionDenied, match="rule 'own service' failed"):
        require_service(identity("orders", "discover send:*"), "billing")


def test_every_served_method_has_a_rule() -> None:
    """A new RPC must be added to METHOD_RULES on purpose; until then it is denied."""
    served = {
        f"/{service.full_name}/{method.name}"
        for module in SERVED
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert served == set(METHOD_RULES)


def test_method_denial() -> None:
    nobody = identity(scope="")
    assert method_denial(nobody, Rule.OWN_SERVICE) is None
    assert method_denial(nobody, Rule.AUTHENTICATED) is None
    assert method_denial(nobody, Rule.DISCOVER) == "rule 'discover' failed: no `discover` scope"
    assert method_denial(nobody, Rule.SEND) == "rule 'send' failed: no `send:…` scope"
    assert method_denial(nobody, None) == "method is not in the authorization table (denied by default)"
    assert method_denial(identity(scope="subscribe:#"), Rule.SUBSCRIBE) is None
    assert method_denial(identity(scope="admin"), Rule.SEND) is None
    assert method_denial(identity(scope="admin"), None) is not None  # unknown methods: denied to all


def test_outside_any_call_the_identity_is_local() -> None:
    """With auth off no interceptor runs and every caller is the all-powerful local identity."""
    assert current_identity() is LOCAL
    assert LOCAL.is_admin


def test_the_verification_cache_is_bounded() -> None:
    secret = b"cache-test-secret-of-at-least-32-bytes"
    verifier = Verifier(KeyRing(secret, None), audience="registry")
    tokens = [
        signing.mint(secret, service=f"svc-{i}", scope=["discover"], ttl=60, audience="registry")
        for i in range(LIMITS.verified_tokens_cached + 5)
    ]
    identities = [verifier.verify(t) for t in tokens]
    assert verifier.cached == LIMITS.verified_tokens_cached  # the oldest five were dropped
    assert verifier.verify(tokens[-1]) is identities[-1]  # a hit returns the cached identity
    assert verifier.verify(tokens[0]) is not identities[0]  # an evicted one is verified afresh
    assert verifier.verify(tokens[0]).service == "svc-0"
