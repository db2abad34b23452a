"""The API contract in prose matches the one in code.

The limits live in one table (`registry.core.limits.LIMITS`) and the ErrorInfo reasons in one enum
(`registry.core.errors.Reason`). Clients read them in the proto comments, docs/api.md,
docs/security.md and docs/console.md. This test checks those four against the table and the
enum, both ways: every number a document states for a limit is the table's, every limit is
documented, every reason is documented, and every reason-like word in the documents is a status
code, a reason or a proto enum value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health_pb2

from generated.registry.v1 import (
    dependency_graph_pb2,
    envelope_pb2,
    heartbeat_service_pb2,
    inbox_service_pb2,
    instance_pb2,
    registry_service_pb2,
    relay_service_pb2,
)
from registry.core.errors import Reason
from registry.core.limits import LIMITS

ROOT = Path(__file__).resolve().parent.parent
API_MD = (ROOT / "docs" / "api.md").read_text()
SECURITY_MD = (ROOT / "docs" / "security.md").read_text()
CONSOLE_MD = (ROOT / "docs" / "console.md").read_text()
PROTO_DIR = ROOT / "protos" / "registry" / "v1"
DESCRIPTORS: tuple[FileDescriptor, ...] = (
    dependency_graph_pb2.DESCRIPTOR,
    envelope_pb2.DESCRIPTOR,
    heartbeat_service_pb2.DESCRIPTOR,
    inbox_service_pb2.DESCRIPTOR,
    instance_pb2.DESCRIPTOR,
    registry_service_pb2.DESCRIPTOR,
    relay_service_pb2.DESCRIPTOR,
)


def proto_field_comments() -> dict[str, str]:
    """`Message.field` -> the comment lines right above the field, for every proto file."""
    comments: dict[str, str] = {}
    for path in sorted(PROTO_DIR.glob("*.proto")):
        messages: list[str] = []
        pending: list[str] = []
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if line.startswith("//"):
                pending.append(line[2:].strip())
                continue
            opened = re.match(r"(?:message|enum|oneof)\s+(\w+)\s*\{", line)
            field = re.match(r"(?:repeated\s+|optional\s+)?[\w.<>, ]+?\s+(\w+)\s*=\s*\d+", line)
            if opened:
                messages.append(opened.group(1))
            elif field and messages:
                comments[f"{messages[-1]}.{field.group(1)}"] = " ".join(pending)
            if line.endswith("}") or line == "}":
                messages[-1:] = []
            pending = []
    return comments


def table_row(document: str, first_cell: str) -> str:
    """The markdown table row whose first cell starts with `first_cell`."""
    for line in document.splitlines():
        if line.startswith("|") and line[1:].strip().startswith(first_cell):
            return line
    raise AssertionError(f"no table row starting with {first_cell!r}")


def size(n: int) -> str:
    """Bytes as the docs write them: 16 KiB, 1 MiB, else the plain number."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return str(n)


def thousands(n: int) -> str:
    return f"{n:,}"


PROTO = proto_field_comments()
L = LIMITS


API_LIMITS = API_MD[API_MD.index("## Limits and field rules") :]


def api(first_cell: str) -> Callable[[], str]:
    """A row of the tables under "Limits and field rules" in docs/api.md."""
    return lambda: table_row(API_LIMITS, first_cell)


def security(first_cell: str) -> Callable[[], str]:
    return lambda: table_row(SECURITY_MD, first_cell)


def console(first_cell: str) -> Callable[[], str]:
    """A row of the "Limits" table in docs/console.md."""
    return lambda: table_row(CONSOLE_MD[CONSOLE_MD.index("### Limits") :], first_cell)


def proto(field: str) -> Callable[[], str]:
    return lambda: PROTO[field]


def heartbeat_refusals() -> str:
    return table_row(API_MD, "more than")


DOCUMENTED: list[tuple[str, Callable[[], str], str]] = [
    # (limit, where a client reads it, what it must say there)
    ("service_name_length", api("`service_name`"), f"1-{L.service_name_length} characters"),
    ("service_name_length", proto("Instance.service_name"), f"1-{L.service_name_length} characters"),
    ("instance_id_length", api("`instance_id`"), f"1-{L.instance_id_length} characters"),
    ("instance_id_length", proto("Instance.instance_id"), f"1-{L.instance_id_length} characters"),
    ("endpoints", api("`endpoints` "), f"1-{L.endpoints}"),
    ("endpoints", proto("Instance.endpoints"), f"1-{L.endpoints} endpoints"),
    ("endpoint_name_length", api("`endpoints[].name`"), f"1-{L.endpoint_name_length} characters"),
    ("endpoint_name_length", proto("Endpoint.name"), f"at most {L.endpoint_name_length} characters"),
    ("host_length", api("`endpoints[].host`"), f"at most {L.host_length} characters"),
    ("host_length", proto("Endpoint.host"), f"at most {L.host_length} characters"),
    ("host_label_length", api("`endpoints[].host`"), f"labels of at most {L.host_label_length} characters"),
    (
        "zone_id_length",
        api("`endpoints[].host`"),
        f"zone id (`fe80::1%eth0`) is 1-{L.zone_id_length} characters",
    ),
    ("version_length", api("`version`"), f"at most {L.version_length} characters"),
    ("version_length", proto("Instance.version"), f"at most {L.version_length} characters"),
    ("tags", api("`tags`"), f"at most {L.tags}"),
    ("tags", proto("Instance.tags"), f"at most {L.tags}"),
    ("tag_length", api("`tags`"), f"each 1-{L.tag_length} characters"),
    ("tag_length", proto("Instance.tags"), f"each 1-{L.tag_length} characters"),
    ("metadata_entries", api("`metadata`"), f"at most {L.metadata_entries} entries"),
    ("metadata_entries", proto("Instance.metadata"), f"At most {L.metadata_entries} entries"),
    ("metadata_key_length", api("`metadata`"), f"keys 1-{L.metadata_key_length} characters"),
    ("metadata_key_length", proto("Instance.metadata"), f"keys 1-{L.metadata_key_length} characters"),
    ("metadata_value_bytes", api("`metadata`"), f"values at most {L.metadata_value_bytes} bytes"),
    ("metadata_value_bytes", proto("Instance.metadata"), f"values at most {L.metadata_value_bytes} bytes"),
    ("metadata_total_bytes", api("`metadata`"), f"at most {size(L.metadata_total_bytes)}"),
    ("metadata_total_bytes", proto("Instance.metadata"), f"{size(L.metadata_total_bytes)} for the whole map"),
    ("zone_length", api("`zone`"), f"at most {L.zone_length} characters"),
    ("zone_length", proto("Instance.zone"), f"At most {L.zone_length} characters"),
    ("weight_max", api("`weight`"), f"0-{L.weight_max}"),
    ("weight_max", proto("Instance.weight"), f"0-{L.weight_max}"),
    ("weight_default", api("`weight`"), f"0 means {L.weight_default}"),
    ("weight_default", proto("Instance.weight"), f"default of {L.weight_default}"),
    ("dependencies", api("`dependencies`"), f"at most {L.dependencies}"),
    ("dependencies", proto("Instance.dependencies"), f"at most {L.dependencies}"),
    (
        "heartbeat_interval_min",
        api("`heartbeat_policy.interval`"),
        f"{L.heartbeat_interval_min * 1000:g} ms-",
    ),
    ("heartbeat_interval_min", proto("HeartbeatPolicy.interval"), f"{L.heartbeat_interval_min * 1000:g}ms-"),
    ("heartbeat_interval_max", api("`heartbeat_policy.interval`"), f"-{L.heartbeat_interval_max / 3600:g} h"),
    ("heartbeat_interval_max", proto("HeartbeatPolicy.interval"), f"-{L.heartbeat_interval_max / 3600:g}h"),
    (
        "heartbeat_timeout_max",
        api("`heartbeat_policy.timeout`"),
        f"at most {L.heartbeat_timeout_max / 3600:g} h",
    ),
    ("heartbeat_max_failures", api("`heartbeat_policy.max_failures`"), f"1-{L.heartbeat_max_failures}"),
    ("heartbeat_max_failures", proto("HeartbeatPolicy.max_failures"), f"1-{L.heartbeat_max_failures}"),
    ("lookup_tags", api("`LookupRequest.tags`"), f"at most {L.lookup_tags}"),
    ("lookup_tags", proto("LookupRequest.tags"), f"at most {L.lookup_tags}"),
    ("lookup_metadata", api("`LookupRequest.metadata`"), f"at most {L.lookup_metadata}"),
    ("lookup_metadata", proto("LookupRequest.metadata"), f"at most {L.lookup_metadata}"),
    (
        "version_constraint_length",
        api("`LookupRequest.version_constraint`"),
        f"at most {L.version_constraint_length}",
    ),
    ("lookup_limit", api("`LookupRequest.limit`"), f"0-{L.lookup_limit}"),
    ("lookup_limit", proto("LookupRequest.limit"), f"0-{L.lookup_limit}"),
    ("page_size_default", api("`page_size`"), f"default {L.page_size_default}"),
    ("page_size_max", api("`page_size`"), f"at most {L.page_size_max}"),
    ("page_size_default", proto("ListServicesRequest.page_size"), f"0 means {L.page_size_default}"),
    ("page_size_max", proto("ListServicesRequest.page_size"), f"treated as {L.page_size_max}"),
    ("page_size_max", proto("ListInstancesRequest.page_size"), f"0-{L.page_size_max}"),
    ("page_size_max", proto("ListEventsRequest.page_size"), f"0-{L.page_size_max}"),
    ("watch_services", api("`WatchRequest.service_names`"), f"at most {L.watch_services}"),
    ("watch_services", proto("WatchRequest.service_names"), f"at most {L.watch_services}"),
    (
        "progress_interval_default_ms",
        api("`WatchRequest.progress_interval_ms`"),
        f"0 (= {thousands(L.progress_interval_default_ms)})",
    ),
    (
        "progress_interval_default_ms",
        proto("WatchRequest.progress_interval_ms"),
        f"0 means {L.progress_interval_default_ms}",
    ),
    (
        "progress_interval_min_ms",
        api("`WatchRequest.progress_interval_ms`"),
        f"{L.progress_interval_min_ms}-",
    ),
    (
        "progress_interval_min_ms",
        proto("WatchRequest.progress_interval_ms"),
        f"at least {L.progress_interval_min_ms}",
    ),
    (
        "progress_interval_max_ms",
        api("`WatchRequest.progress_interval_ms`"),
        f"-{thousands(L.progress_interval_max_ms)}",
    ),
    ("watch_response_events", api("one `WatchResponse`"), f"{L.watch_response_events} events"),
    ("watch_response_bytes", api("one `WatchResponse`"), f"about {size(L.watch_response_bytes)}"),
    ("graph_depth_max", api("`GetDependencyGraphRequest.depth`"), f"0 (unlimited) to {L.graph_depth_max}"),
    ("graph_depth_max", proto("GetDependencyGraphRequest.depth"), f"0 (unlimited) to {L.graph_depth_max}"),
    ("load_gauges", api("`Beat.load.gauges`"), f"at most {L.load_gauges}"),
    ("load_gauges", proto("Load.gauges"), f"at most {L.load_gauges}"),
    (
        "drain_reason_length",
        api("`DrainInstanceRequest.reason`"),
        f"at most {L.drain_reason_length} characters",
    ),
    (
        "drain_reason_length",
        proto("DrainInstanceRequest.reason"),
        f"at most {L.drain_reason_length} characters",
    ),
    ("envelope_id_length", api("`id`"), f"1-{L.envelope_id_length} characters"),
    ("envelope_id_length", proto("Envelope.id"), f"1-{L.envelope_id_length} characters"),
    ("topic_length", api("`name` (topic or action)"), f"1-{L.topic_length} characters"),
    ("topic_length", proto("Envelope.name"), f"1-{L.topic_length} characters"),
    ("topic_segments", api("`name` (topic or action)"), f"1-{L.topic_segments} dot-separated segments"),
    ("topic_segments", proto("Envelope.name"), f"1-{L.topic_segments} segments"),
    ("topic_segments", security("segments per topic or pattern"), f"{L.topic_segments}, each"),
    ("topic_segment_length", api("`name` (topic or action)"), f"{{1,{L.topic_segment_length}}}"),
    ("topic_segment_length", proto("Envelope.name"), f"each 1-{L.topic_segment_length} characters"),
    ("content_type_length", api("`content_type`"), f"at most {L.content_type_length} characters"),
    ("content_type_length", proto("Envelope.content_type"), f"at most {L.content_type_length} characters"),
    ("headers", api("`headers`"), f"at most {L.headers}"),
    ("headers", proto("Envelope.headers"), f"at most {L.headers}"),
    ("header_key_length", api("`headers`"), f"{{1,{L.header_key_length}}}"),
    ("header_key_length", proto("Envelope.headers"), f"keys 1-{L.header_key_length} characters"),
    ("header_value_length", api("`headers`"), f"values at most {L.header_value_length} characters"),
    ("header_value_length", proto("Envelope.headers"), f"most {L.header_value_length} characters"),
    ("headers_total_bytes", api("`headers`"), f"{size(L.headers_total_bytes)} in all"),
    ("headers_total_bytes", proto("Envelope.headers"), f"{size(L.headers_total_bytes)} for the whole map"),
    ("tenant_id_length", api("`tenant_id`"), f"at most {L.tenant_id_length} characters"),
    ("tenant_id_length", proto("Envelope.tenant_id"), f"at most {L.tenant_id_length} characters"),
    ("idempotency_key_length", api("`idempotency_key`"), f"at most {L.idempotency_key_length} characters"),
    (
        "idempotency_key_length",
        proto("Envelope.idempotency_key"),
        f"At most {L.idempotency_key_length} characters",
    ),
    ("filter_topics", api("`EventFilter.topics`"), f"at most {L.filter_topics} patterns"),
    ("filter_topics", proto("EventFilter.topics"), f"at most {L.filter_topics}"),
    ("filter_services", api("`EventFilter.source_services`"), f"at most {L.filter_services} each"),
    ("filter_services", proto("EventFilter.source_services"), f"at most {L.filter_services}"),
    ("filter_services", proto("EventFilter.target_services"), f"at most {L.filter_services}"),
    ("beats_per_interval", heartbeat_refusals, f"more than {L.beats_per_interval} beats per interval"),
    ("beat_burst", heartbeat_refusals, f"after a burst of {L.beat_burst}"),
    ("token_bytes", api("`authorization` token"), size(L.token_bytes)),
    ("token_bytes", security("token length"), size(L.token_bytes)),
    ("token_scopes", security("scopes read per token"), str(L.token_scopes)),
    ("secret_file_bytes", security("secret file"), size(L.secret_file_bytes)),
    ("jwks_file_bytes", security("JWKS file"), size(L.jwks_file_bytes)),
    ("jwks_keys", security("JWKS file"), f"{L.jwks_keys} keys"),
    ("token_ttl_max_seconds", security("TTL accepted by"), f"{L.token_ttl_max_seconds // 86400} days"),
    ("verified_tokens_cached", security("verified tokens cached"), str(L.verified_tokens_cached)),
    (
        "console_streams_per_caller",
        console("open push streams per token"),
        f"| {L.console_streams_per_caller} |",
    ),
    ("console_streams", console("open push streams in total"), f"| {L.console_streams} |"),
    (
        "console_write_timeout_seconds",
        console("a pushed frame"),
        f"| {L.console_write_timeout_seconds:g} s |",
    ),
    ("console_body_bytes", console("request body"), f"| {size(L.console_body_bytes)} |"),
    ("console_health_rows", console("instances per"), f"| {thousands(L.console_health_rows)} |"),
    (
        "console_event_backlog",
        console("past events"),
        f"| {L.console_event_backlog} | a larger `backlog` is read as {L.console_event_backlog}",
    ),
    ("console_payload_preview", console("payload shown"), f"| {L.console_payload_preview} characters |"),
]


@pytest.mark.parametrize(
    ("limit", "where", "says"), DOCUMENTED, ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(DOCUMENTED)]
)
def test_documents_state_the_limits_of_the_table(limit: str, where: Callable[[], str], says: str) -> None:
    assert says in where(), f"{limit} = {getattr(LIMITS, limit)}: expected {says!r} in {where()!r}"


def test_every_limit_is_documented() -> None:
    documented = {name for name, _, _ in DOCUMENTED}
    assert documented <= {f.name for f in dataclasses.fields(LIMITS)}
    assert {f.name for f in dataclasses.fields(LIMITS)} - documented == set()


def _reason_column(document: str, header: str, column: int) -> set[str]:
    """Backticked UPPER_SNAKE words in one column of the markdown table under `header`."""
    start = document.index(header)
    found: set[str] = set()
    for line in document[start:].splitlines()[1:]:
        if line.startswith("#"):
            break
        if not line.startswith("|") or line.startswith("|--"):
            continue
        cells = line.strip("|").split("|")
        found |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[column]))
    return found


def test_every_reason_is_in_the_error_tables_and_nothing_else() -> None:
    api_reasons = _reason_column(API_MD, "| Code | Reason(s) | Meaning |", 1)
    token_reasons = _reason_column(SECURITY_MD, "| Code | When | ErrorInfo `reason` |", 2)
    assert api_reasons | token_reasons == {r.value for r in Reason}


def _known_words() -> set[str]:
    """Status codes, reasons, and proto enum values, also without their enum's prefix (the docs
    write `SET_INTERVAL` for `DIRECTIVE_TYPE_SET_INTERVAL`)."""
    words = {code.name for code in grpc.StatusCode} | {r.value for r in Reason}
    for descriptor in (*DESCRIPTORS, health_pb2.DESCRIPTOR):
        enums = list(descriptor.enum_types_by_name.values())
        for message in descriptor.message_types_by_name.values():
            enums.extend(message.enum_types)
        for enum in enums:
            prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
            words |= set(enum.values_by_name)
            words |= {name.removeprefix(prefix) for name in enum.values_by_name}
    return words


UPPER_SNAKE = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")
NOT_REASONS = {"UPPER_SNAKE_CASE", "DATA_DIR", "METHOD_RULES"}
"""Words that look like reasons but are not (a naming rule, a path placeholder, a code table)."""


@pytest.mark.parametrize(
    "source",
    ["docs/api.md", "docs/security.md", *sorted(str(p.relative_to(ROOT)) for p in PROTO_DIR.glob("*.proto"))],
)
def test_every_reason_like_word_is_a_code_a_reason_or_a_proto_enum_value(source: str) -> None:
    text = (ROOT / source).read_text()
    if source.endswith(".proto"):
        text = "\n".join(line.split("//", 1)[1] for line in text.splitlines() if "//" in line)
    else:
        text = re.sub(r"`[^`]*(?:REGISTRY|OTEL)_[^`]*`", "", text)  # environment variables
    unknown = set(UPPER_SNAKE.findall(text)) - _known_words() - NOT_REASONS
    assert unknown == set()
