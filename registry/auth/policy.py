"""Authorization: which rule guards each RPC, and the checks servicers make on request fields.

Two layers, because some rules depend on the request and the interceptor only sees the method:
1. `METHOD_RULES` maps every RPC (by full method name, taken from the generated descriptors) to a
   `Rule`, checked by the interceptor before the handler runs. A method missing from the table is
   denied, so a new RPC is closed until someone decides who may call it.
2. For rules that name a target, the servicer calls `require_service` / `require_send` /
   `require_publish` / `require_subscribe` with the field from the request. The interceptor has
   already made sure the caller holds *some* grant of that kind, so a token without any fails
   fast with a clear message before the request is even parsed.

A new RPC is one line in METHOD_RULES (plus, for a targeted rule, the `require_*` call in its
servicer). The relay's servicer checks `require_send(identity, envelope.target_service)` for Send,
`require_publish(identity, envelope.name)` for Publish, and for Subscribe/ListEvents
`require_subscribe` per requested topic pattern; a filter that names none means every topic
(`#`), so it needs `subscribe:#`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from types import MappingProxyType

from google.protobuf.descriptor import ServiceDescriptor

from generated.registry.v1 import heartbeat_service_pb2, registry_service_pb2, relay_service_pb2
from registry.auth import scopes
from registry.auth.identity import Identity, current_method
from registry.core.errors import PermissionDenied

log = logging.getLogger(__name__)


class Rule(enum.Enum):
    """What a caller must hold to call a method. The value is the rule's name in messages."""

    OWN_SERVICE = "own service"
    """Any valid token; the servicer then checks the request's service is the caller's."""
    DISCOVER = "discover"
    SEND = "send"
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"
    AUTHENTICATED = "authenticated"
    """Any valid token: GetDeliveryKeys, and health and reflection when configured to need one."""


def _method(service: ServiceDescriptor, name: str) -> str:
    """`/package.Service/Method`, the form gRPC puts in HandlerCallDetails.method."""
    return f"/{service.full_name}/{service.methods_by_name[name].name}"


_REGISTRY = registry_service_pb2.DESCRIPTOR.services_by_name["RegistryService"]
_HEARTBEAT = heartbeat_service_pb2.DESCRIPTOR.services_by_name["HeartbeatService"]
_RELAY = relay_service_pb2.DESCRIPTOR.services_by_name["RelayService"]

METHOD_RULES: Mapping[str, Rule] = MappingProxyType(
    {
        _method(_REGISTRY, "Register"): Rule.OWN_SERVICE,
        _method(_REGISTRY, "Deregister"): Rule.OWN_SERVICE,
        _method(_REGISTRY, "GetInstance"): Rule.DISCOVER,
        _method(_REGISTRY, "ListServices"): Rule.DISCOVER,
        _method(_REGISTRY, "ListInstances"): Rule.DISCOVER,
        _method(_REGISTRY, "Lookup"): Rule.DISCOVER,
        _method(_REGISTRY, "Watch"): Rule.DISCOVER,
        _method(_REGISTRY, "GetDependencyGraph"): Rule.DISCOVER,
        _method(_HEARTBEAT, "Heartbeat"): Rule.OWN_SERVICE,
        _method(_HEARTBEAT, "GetInstanceHealth"): Rule.DISCOVER,
        _method(_HEARTBEAT, "ListInstanceHealth"): Rule.DISCOVER,
        _method(_HEARTBEAT, "GetHealthSummary"): Rule.DISCOVER,
        _method(_HEARTBEAT, "DrainInstance"): Rule.OWN_SERVICE,
        _method(_RELAY, "Send"): Rule.SEND,
        _method(_RELAY, "Publish"): Rule.PUBLISH,
        _method(_RELAY, "Subscribe"): Rule.SUBSCRIBE,
        _method(_RELAY, "ListEvents"): Rule.SUBSCRIBE,
        _method(_RELAY, "GetDeliveryKeys"): Rule.AUTHENTICATED,
    }
)


def method_denial(identity: Identity, rule: Rule | None) -> str | None:
    """Why `identity` may not call a method guarded by `rule`, or None when it may."""
    if rule is None:  # even for admin: nobody has decided who may call it yet
        return "method is not in the authorization table (denied by default)"
    if identity.is_admin or rule in (Rule.OWN_SERVICE, Rule.AUTHENTICATED):
        return None
    if rule is Rule.DISCOVER:
        return None if scopes.DISCOVER in identity.scopes else "rule 'discover' failed: no `discover` scope"
    kind = rule.value
    if scopes.grants(identity.scopes, kind):
        return None
    return f"rule {kind!r} failed: no `{kind}:…` scope"


def _deny(identity: Identity, rule: str, message: str) -> PermissionDenied:
    text = f"rule {rule!r} failed: {message}"
    log.warning(
        "auth denied",
        extra={"caller": identity.service, "method": current_method(), "reason": text},
    )
    return PermissionDenied(text)


def require_service(identity: Identity, service_name: str) -> None:
    """Allow acting on instances of `service_name` only as that service (or as admin).

    Register, Deregister, Heartbeat (at bind) and DrainInstance call this with the service named
    in the request.
    """
    if service_name != identity.service and not identity.is_admin:
        raise _deny(
            identity,
            Rule.OWN_SERVICE.value,
            f"a token for service {identity.service!r} may not act on instances of {service_name!r}",
        )


def require_send(identity: Identity, service_name: str) -> None:
    if not scopes.allows_send(identity.scopes, service_name):
        raise _deny(identity, Rule.SEND.value, f"no send:{service_name} or send:* scope")


def require_publish(identity: Identity, topic: str) -> None:
    if not scopes.allows_publish(identity.scopes, topic):
        raise _deny(identity, Rule.PUBLISH.value, f"no publish scope covers topic {topic!r}")


def require_subscribe(identity: Identity, pattern: str) -> None:
    if not scopes.allows_subscribe(identity.scopes, pattern):
        raise _deny(identity, Rule.SUBSCRIBE.value, f"no subscribe scope covers {pattern!r}")
