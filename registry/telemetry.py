"""OpenTelemetry: the registry's tracer, W3C propagation over gRPC metadata, and the server span.

One trace runs caller -> registry -> target. The caller sends W3C `traceparent` (and `tracestate`,
`baggage`) as gRPC metadata; `TracingInterceptor` continues that context in a SERVER span around
Send and Publish (a root span when the call carries none), wrapping those two handlers only, when
the server adds the relay service (no other method pays anything for tracing, see
`registry.wire.wrapping`); the Inbox client opens a CLIENT span
around the forward and injects its context into the outgoing metadata, where the target
continues it. Only the relay methods are traced: a heartbeat makes no span, per beat or per
stream. Tracing is the outermost wrapper, outside auth: a Send or Publish that auth refuses still
gets its SERVER span, with the refusal's status (UNAUTHENTICATED or PERMISSION_DENIED), so a
caller's trace shows where its call ended.

Export: OTLP over gRPC (what Jaeger takes on 4317) when `--otlp-endpoint` (env
`REGISTRY_OTLP_ENDPOINT`) or the standard `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
`OTEL_EXPORTER_OTLP_ENDPOINT` is set, unless `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none`; the other `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*` variables apply as
usual. service.name is `registry` (or `OTEL_SERVICE_NAME`). With export off, spans are not recorded
(ParentBased(ALWAYS_OFF)), but trace ids are still made and propagated, so envelopes always carry
one, and a sampled caller's decision still reaches the target.

Each Registry owns its TracerProvider rather than installing a global one, so several registries
in one process (the test suite) never share exporters.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:  # the stubs make these generic; the runtime classes are not subscriptable
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler


log = logging.getLogger(__name__)
_unary_handler: Callable[..., Handler] = grpc.unary_unary_rpc_method_handler

SERVICE_NAME = "registry"
PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
"""W3C trace context and baggage, whatever OTEL_PROPAGATORS says: the relay's contract is W3C."""
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_W3C_KEYS = frozenset({"traceparent", "tracestate", "baggage"})
_NO_CONTEXT = otel_context.Context()
_IDS = RandomIdGenerator()


def export_endpoint(flag: str, env: Mapping[str, str]) -> str | None:
    """Where spans go, or None when export is off (see the module docstring)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    if flag:
        return flag if "://" in flag else f"http://{flag}"
    return next((env[name] for name in _ENDPOINT_VARIABLES if env.get(name)), None)


class Telemetry:
    """The registry's tracer and its exporter; `shutdown` flushes what is buffered."""

    def __init__(self, otlp_endpoint: str = "", env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.endpoint = export_endpoint(otlp_endpoint, env)
        resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or SERVICE_NAME})
        sampler = ParentBased(ALWAYS_ON if self.endpoint else ALWAYS_OFF)
        self.provider = TracerProvider(resource=resource, sampler=sampler)
        if self.endpoint:
            # Imported only when exporting: it pulls in the exporter's own gRPC machinery.
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )

            exporter = OTLPSpanExporter(endpoint=self.endpoint if otlp_endpoint else None)
            self.provider.add_span_processor(BatchSpanProcessor(exporter))
            log.info("exporting traces", extra={"otlp_endpoint": self.endpoint})
        self.tracer = self.provider.get_tracer("registry")

    @property
    def recording(self) -> bool:
        """Whether spans are recorded (and exported) at all."""
        return self.endpoint is not None

    def shutdown(self) -> None:
        """Flush buffered spans and stop the exporter (bounded by the exporter's timeout)."""
        self.provider.shutdown()


def extract(metadata: Iterable[tuple[str, str | bytes]] | None) -> otel_context.Context:
    """The W3C context a call's metadata carries (an empty context when it carries none)."""
    carrier = {key: value for key, value in metadata or () if key in _W3C_KEYS and isinstance(value, str)}
    return PROPAGATOR.extract(carrier) if carrier else _NO_CONTEXT


def current_carrier() -> dict[str, str]:
    """The current span's W3C context as headers: `traceparent`, and `tracestate`/`baggage` when set."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier


def current_trace_id() -> str:
    """The current trace id as 32 lower-case hex digits ("" outside any span)."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


def _unrecorded_span(parent: otel_context.Context) -> trace.Span:
    """What the SDK makes when nothing is recorded, made directly: a non-recording span with a
    fresh span id in the parent's trace (or in a new one), with the parent's flags and state. The
    SDK's general path costs several times more, on every Send and Publish."""
    caller = trace.get_current_span(parent).get_span_context()
    if caller.is_valid:
        own = trace.SpanContext(
            caller.trace_id, _IDS.generate_span_id(), False, caller.trace_flags, caller.trace_state
        )
    else:
        own = trace.SpanContext(_IDS.generate_trace_id(), _IDS.generate_span_id(), False)
    return trace.NonRecordingSpan(own)


def _finish(span: trace.Span, context: grpc.aio.ServicerContext[Any, Any], raised: bool) -> None:
    """Record the call's status: what the handler set (abort, set_code), else OK, or UNKNOWN when
    an exception escaped without one."""
    code = context.code()
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN if raised else grpc.StatusCode.OK
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code is not grpc.StatusCode.OK:
        span.set_status(trace.StatusCode.ERROR, code.name)


class UnaryWrapper:
    """A `registry.wire.handlers.MethodWrapper` (`wrap`) for the unary handlers of `methods`
    (full names, `/pkg.Service/Method`): each is wrapped with `_wrap` once, when the server adds
    its service; any other method, or a streaming one, keeps its handler and pays nothing per call."""

    def __init__(self, methods: Iterable[str]) -> None:
        self._methods = frozenset(methods)

    def wrap(self, method: str, handler: Handler) -> Handler:
        if method not in self._methods or handler.unary_unary is None:
            return handler
        return self._wrap(method, handler)

    def _wrap(self, method: str, handler: Handler) -> Handler:
        raise NotImplementedError


class TracingInterceptor(UnaryWrapper):
    """A SERVER span around each call of the `traced` methods (full names, `/pkg.Service/Method`),
    continuing the caller's W3C context; every other method passes through untouched. Unary
    methods only: the relay's traced methods are unary. With `recording` off, the span only
    carries ids (see `_unrecorded_span`)."""

    def __init__(self, tracer: trace.Tracer, traced: Iterable[str], *, recording: bool = True) -> None:
        super().__init__(traced)
        self._tracer = tracer
        self._recording = recording

    def _wrap(self, method: str, handler: Handler) -> Handler:
        behavior: Callable[..., Awaitable[Any]] = handler.unary_unary  # type: ignore[assignment]
        service, _, name = method[1:].partition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        tracer = self._tracer

        async def recorded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            # Attach the caller's context itself, not only as the span's parent: its baggage must
            # stay current, so that it travels on with the forward.
            token = otel_context.attach(extract(context.invocation_metadata()))
            try:
                with tracer.start_as_current_span(
                    method[1:],
                    kind=trace.SpanKind.SERVER,
                    attributes=attributes,
                    record_exception=False,
                    set_status_on_exception=False,
                ) as span:
                    try:
                        response = await behavior(request, context)
                    except BaseException:
                        _finish(span, context, raised=True)
                        raise
                    _finish(span, context, raised=False)
                    return response
            finally:
                otel_context.detach(token)

        async def unrecorded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            parent = extract(context.invocation_metadata())
            token = otel_context.attach(trace.set_span_in_context(_unrecorded_span(parent), parent))
            try:
                return await behavior(request, context)
            finally:
                otel_context.detach(token)

        return _unary_handler(
            recorded if self._recording else unrecorded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
