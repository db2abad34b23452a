"""Python SDK for the gRPC service registry: a service becomes a good citizen in five lines.

```python
from client import RegistryClient

async with RegistryClient.from_env() as registry:      # REGISTRY_URL, SERVICE_NAME, JWT_SECRET
    await registry.register("10.0.0.5:9000")            # heartbeats, reconnects, drains by itself
    orders = await registry.channel("orders")           # discovery, failover, circuit breaker
    await registry.publish("crm.lead.created", {"id": 7})
```

Built on `generated/` only; it never imports the server package. See docs/client.md.
"""

from client.breaker import BreakerState, CircuitBreaker
from client.client import PickerName, RegisterOptions, RegistryClient
from client.config import ClientConfig
from client.discovery import Filters
from client.errors import (
    AlreadyExistsError,
    CircuitOpenError,
    ConfigError,
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    NoInstanceError,
    NotFoundError,
    PermissionDeniedError,
    RegistryClientError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)
from client.inbox import Inbox
from client.messaging import (
    Message,
    MessageType,
    Priority,
    Published,
    PublishOptions,
    QueryOptions,
    Reply,
    SendOptions,
    Subscription,
)
from client.model import Dependency, DependencyKind, Endpoint, HealthStatus, Instance, Load, Protocol
from client.pickers import LeastLoaded, Picker, RandomPick, RoundRobin, Weighted
from client.registration import Registration
from client.service_channel import ServiceChannel
from client.sync import SyncRegistration, SyncRegistryClient, SyncServiceChannel, SyncSubscription

__all__ = [
    "AlreadyExistsError",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "ClientConfig",
    "ConfigError",
    "DeadlineExceededError",
    "Dependency",
    "DependencyKind",
    "Endpoint",
    "FailedPreconditionError",
    "FieldViolation",
    "Filters",
    "HealthStatus",
    "Inbox",
    "Instance",
    "InternalError",
    "InvalidArgumentError",
    "LeastLoaded",
    "Load",
    "Message",
    "MessageType",
    "NoInstanceError",
    "NotFoundError",
    "PermissionDeniedError",
    "Picker",
    "PickerName",
    "Priority",
    "Protocol",
    "PublishOptions",
    "Published",
    "QueryOptions",
    "RandomPick",
    "RegisterOptions",
    "Registration",
    "RegistryClient",
    "RegistryClientError",
    "Reply",
    "ResourceExhaustedError",
    "RoundRobin",
    "SendOptions",
    "ServiceChannel",
    "Subscription",
    "SyncRegistration",
    "SyncRegistryClient",
    "SyncServiceChannel",
    "SyncSubscription",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "Weighted",
]
