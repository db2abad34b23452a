"""Domain values as the JSON the console page reads: short keys, lower-case enum names.

Only what the page shows: an instance's registration and state, its heartbeat metrics, a catalog
change, the liveness summary, a relayed event (with at most `LIMITS.console_payload_preview`
characters of a text payload; binary payloads are shown by size only).
"""

from __future__ import annotations

from typing import Any

from registry.core.limits import LIMITS
from registry.core.liveness import HealthSummary, InstanceHealth
from registry.core.messages import Envelope
from registry.core.model import Change, HealthStatus, Instance

"""Characters of a text payload shown in the event tail."""
_TEXT_TYPES = ("application/json", "text/")

JSON = dict[str, Any]


def status(value: HealthStatus) -> str:
    return value.name.lower()


def instance(item: Instance) -> JSON:
    r = item.registration
    return {
        "service": r.service_name,
        "id": r.instance_id,
        "status": status(item.status),
        "endpoints": [
            {"name": e.name, "host": e.host, "port": e.port, "protocol": e.protocol.name.lower()}
            for e in r.endpoints
        ],
        "version": r.version,
        "zone": r.zone,
        "tags": list(r.tags),
        "metadata": dict(r.metadata),
        "weight": r.weight,
        "dependencies": [{"service": d.service_name, "kind": d.kind.name.lower()} for d in r.dependencies],
        "statusTime": item.status_time,
        "revision": item.mod_revision,
    }


def change(item: Change) -> JSON:
    return {"type": item.type.name.lower(), "instance": instance(item.instance), "revision": item.revision}


def health(item: InstanceHealth) -> JSON:
    load = item.load
    return {
        "id": item.instance_id,
        "status": status(item.status),
        "connected": item.stream_connected,
        "beats": item.heartbeat_count,
        "missed": item.missed_heartbeats,
        "failures": item.consecutive_failures,
        "latencyAvg": item.average_latency_ms,
        "latencyMin": item.min_latency_ms,
        "latencyMax": item.max_latency_ms,
        "uptimeSeconds": item.uptime_seconds,
        "uptimePct": item.uptime_percentage,
        "lastBeat": item.last_heartbeat_time,
        "sinceLast": item.seconds_since_last,
        "load": None if load is None else {"inFlight": load.in_flight, "cpu": load.cpu},
    }


def summary(item: HealthSummary) -> JSON:
    return {
        "selfPreservation": item.self_preservation_active,
        "startupGrace": item.startup_grace_active,
        "openStreams": item.open_streams,
        "total": {status(s): n for s, n in item.total.items() if n},
    }


def event(item: Envelope) -> JSON:
    return {
        "sequence": item.sequence,
        "id": item.id,
        "name": item.name,
        "source": item.source_service,
        "target": item.target_service,
        "tenant": item.tenant_id,
        "traceId": item.trace_id,
        "time": item.create_time,
        "priority": item.priority.name.lower(),
        "contentType": item.content_type,
        "size": len(item.payload),
        "preview": _preview(item),
    }


def _preview(item: Envelope) -> str | None:
    if not item.content_type.startswith(_TEXT_TYPES):
        return None
    preview = LIMITS.console_payload_preview
    return item.payload[: preview * 4].decode("utf-8", "replace")[:preview]
