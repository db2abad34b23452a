"""Lifecycle events: the registry announces instances as they start, become ready, stop and leave.

A catalog listener turns changes into events named `registry.instance.<action>`:

| catalog change                                   | event                          |
| ------------------------------------------------ | ------------------------------ |
| an instance registers (ADDED)                    | `registry.instance.started`    |
| it becomes HEALTHY for the first time            | `registry.instance.ready`      |
| it drains (status DRAINING)                      | `registry.instance.stopping`   |
| it is deregistered or reaped (REMOVED)           | `registry.instance.stopped`    |

Each is a HIGH priority event from `registry` with a JSON payload (service_name, instance_id,
status, revision, version, zone) and the instance named in the headers `service-name` and
`instance-id`, so subscribers can filter on the topic and read the rest without parsing. The
listener runs synchronously inside the catalog's write, so it only queues the event; the event bus
stores it in its next commit. `started` is the exception on a single-node registry
(`started_by_catalog`): the catalog stores it in the registration's own transaction (`started`),
so an acknowledged registration always has its event, and a group commit costs one fsync, not two.

`ready` is said once per registration, across restarts too: a restart makes every instance
UNKNOWN, and its fleet coming back must not announce itself ready a second time (nor write
thousands of events while the registry is busiest). `seed` tells the announcer which stored
instances had a status before the restart; only a registration whose stored status was still
UNKNOWN (or whose HEALTHY had not been persisted yet) is announced ready after it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable

from registry.core.events import EventBus
from registry.core.messages import Envelope, MessageType, Priority
from registry.core.model import Change, ChangeType, HealthStatus, Instance, InstanceKey

SOURCE_SERVICE = "registry"
TOPIC_PREFIX = "registry.instance."
_JSON = json.JSONEncoder(separators=(",", ":")).encode


class LifecycleAnnouncer:
    """Register `on_change` as a catalog listener."""

    def __init__(
        self, bus: EventBus, clock: Callable[[], float], *, started_by_catalog: bool = False
    ) -> None:
        self._bus = bus
        self._clock = clock
        self._started_by_catalog = started_by_catalog
        """The catalog stores `started` with the registration (`Catalog.journal`): not ours to publish."""
        self._ready: set[tuple[InstanceKey, int]] = set()
        """(key, create_revision) of instances already announced ready: one `ready` per
        registration, not one per recovery from DEGRADED."""

    def seed(self, stored: Iterable[Instance]) -> None:
        """Before serving: the instances as the store kept them (`Catalog.start`). A stored status
        other than UNKNOWN means a stream had bound and, all but always, beaten: such an instance
        was announced ready before the restart and is not announced again."""
        self._ready.update(
            (instance.key, instance.create_revision)
            for instance in stored
            if instance.status is not HealthStatus.UNKNOWN
        )

    def started(self, change: Change) -> Envelope | None:
        """The event a registration's change announces (`started` for a new instance), for the
        catalog to store in the registration's own transaction."""
        return self._event("started", change) if change.type is ChangeType.ADDED else None

    def on_change(self, change: Change) -> None:
        if self._started_by_catalog and change.type is ChangeType.ADDED:
            return
        action = self._action(change)
        if action is not None:
            self._bus.publish_nowait(self._event(action, change))

    def _action(self, change: Change) -> str | None:
        instance = change.instance
        marker = (instance.key, instance.create_revision)
        if change.type is ChangeType.ADDED:
            return "started"
        if change.type is ChangeType.REMOVED:
            self._ready.discard(marker)
            return "stopped"
        if change.type is not ChangeType.STATUS_CHANGED:
            return None
        if instance.status is HealthStatus.HEALTHY and marker not in self._ready:
            self._ready.add(marker)
            return "ready"
        if instance.status is HealthStatus.DRAINING:
            return "stopping"
        return None

    def _event(self, action: str, change: Change) -> Envelope:
        instance: Instance = change.instance
        payload = {
            "service_name": instance.service_name,
            "instance_id": instance.instance_id,
            "status": instance.status.name,
            "revision": change.revision,
            "version": instance.registration.version,
            "zone": instance.registration.zone,
        }
        return Envelope(
            type=MessageType.EVENT,
            name=TOPIC_PREFIX + action,
            payload=_JSON(payload).encode(),
            content_type="application/json",
            headers={"service-name": instance.service_name, "instance-id": instance.instance_id},
            priority=Priority.HIGH,
            id=str(uuid.uuid4()),
            source_service=SOURCE_SERVICE,
            create_time=self._clock(),
        )
