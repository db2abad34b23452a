"""OpenTelemetry set-up for the helper processes (caller and target), as a real service does it:
the SDK with an OTLP/gRPC exporter configured by the standard OTEL_* variables, W3C propagation."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def install(service_name: str) -> TracerProvider:
    """A global TracerProvider exporting to OTEL_EXPORTER_OTLP_ENDPOINT; shut it down to flush."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
