"""Every fixed bound of the API, in one table.

A caller meets these numbers in three places: the proto comments (protos/registry/v1/*.proto),
the docs (docs/api.md "Limits and field rules", docs/security.md "Settings and limits") and the
errors the registry answers with. All three are checked against this table by
tests/test_api_contract.py, and validation builds its patterns from it, so a number changed here
changes the rule, the message and (by a failing test) the docs together.

Lengths are in characters unless the name ends in `_bytes`. Bounds an operator sets per
deployment (instances, watchers, streams, subscribers, payload size) are settings in
`registry/config.py`, not limits of the API.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    # Instance (Register)
    service_name_length: int = 63
    instance_id_length: int = 128
    endpoints: int = 16
    endpoint_name_length: int = 63
    host_length: int = 253
    host_label_length: int = 63
    zone_id_length: int = 32
    """An IPv6 zone id (`fe80::1%eth0`): an interface name (Linux: at most 15) or index."""
    version_length: int = 64
    tags: int = 32
    tag_length: int = 63
    metadata_entries: int = 64
    metadata_key_length: int = 63
    metadata_value_bytes: int = 512
    metadata_total_bytes: int = 16 * 1024
    zone_length: int = 63
    weight_max: int = 1000
    weight_default: int = 100
    dependencies: int = 64
    heartbeat_interval_min: float = 0.010
    heartbeat_interval_max: float = 3600.0
    heartbeat_timeout_max: float = 86400.0
    heartbeat_max_failures: int = 100

    # Reads and streams
    lookup_tags: int = 32
    lookup_metadata: int = 32
    version_constraint_length: int = 256
    lookup_limit: int = 1000
    page_size_default: int = 100
    page_size_max: int = 1000
    watch_services: int = 64
    progress_interval_default_ms: int = 10_000
    progress_interval_min_ms: int = 100
    progress_interval_max_ms: int = 3_600_000
    watch_response_events: int = 500
    watch_response_bytes: int = 256 * 1024
    """Byte budget of one WatchResponse's events, well under the default 1 MiB message limit; a
    single larger instance still goes out alone."""

    # Heartbeats
    load_gauges: int = 16
    beats_per_interval: int = 4
    """Sustained beats per interval a stream may send; faster is refused with RESOURCE_EXHAUSTED."""
    beat_burst: int = 8
    """Beats a stream may send back to back (e.g. after a client-side pause) before the rate applies."""
    drain_reason_length: int = 256
    graph_depth_max: int = 32
    """How far from its root service a dependency graph may reach (0 asks for no limit)."""

    # Envelopes (Send, Publish, Subscribe)
    envelope_id_length: int = 64
    topic_length: int = 255
    topic_segments: int = 16
    topic_segment_length: int = 63
    content_type_length: int = 127
    headers: int = 32
    header_key_length: int = 63
    header_value_length: int = 1024
    headers_total_bytes: int = 8 * 1024
    tenant_id_length: int = 128
    idempotency_key_length: int = 128
    filter_topics: int = 32
    filter_services: int = 32

    # Tokens and key files
    token_bytes: int = 4096
    """Longest accepted token. Real ones are well under 2 KiB, and gRPC itself starts refusing
    request metadata above 8 KiB in all (RESOURCE_EXHAUSTED, without our error details), so a
    limit below that gives a clear UNAUTHENTICATED for an oversized token instead."""
    token_scopes: int = 64
    """Scopes read from one token; the rest are ignored."""
    secret_file_bytes: int = 4096
    jwks_file_bytes: int = 1 << 20
    jwks_keys: int = 100
    token_ttl_max_seconds: int = 366 * 86400
    """Longest lifetime `registry token create` signs."""
    verified_tokens_cached: int = 1024
    """Verified tokens remembered, least recently used first out."""

    # Web console (docs/console.md "Limits")
    console_streams: int = 256
    """Open push streams (fleet feeds and event tails) in total."""
    console_streams_per_caller: int = 16
    """Open push streams per token subject: a few tabs of one operator, each with a feed and a tail."""
    console_write_timeout_seconds: float = 10.0
    """Seconds one pushed frame may wait for the page to read; then the page is cut."""
    console_body_bytes: int = 16 * 1024
    """Largest request body (an action's JSON)."""
    console_health_rows: int = 1000
    """Instances per /health answer; the page shows a service's first ones in id order."""
    console_event_backlog: int = 500
    """Past events an event tail may start with."""
    console_payload_preview: int = 256
    """Characters of a text payload an event row shows."""


LIMITS = Limits()
