"""Inbox: how a service receives relayed commands, queries and events with decorated handlers.

```python
inbox = Inbox("ai-agents")

@inbox.command("analyze")
async def analyze(message: Message) -> dict:
    return {"score": score(message.json())}

@inbox.event("crm.lead.*")
async def on_lead(message: Message) -> None: ...

await registry.serve_inbox(inbox)           # gRPC InboxService + the event subscription
await registry.register(inbox=inbox)        # advertises the inbox endpoint, reports its load
```

Commands and queries arrive as InboxService.Deliver calls from the registry. Each carries a
delivery token the registry signed with its Ed25519 key; the inbox verifies it against the keys
from RelayService.GetDeliveryKeys (fetched once, refetched when an unknown `kid` shows up, at most
once per `KEY_REFRESH_INTERVAL`) and checks that it names this service as audience and this
envelope's id. Anything else is refused with UNAUTHENTICATED: a delivery that did not come through
the registry never reaches a handler. `Message.source_service` is then the token's `sub`, the
sender as the registry verified it.

Events are not pushed to the inbox: the inbox subscribes to the union of its `@event` patterns and
hands each event to every handler whose pattern matches (AMQP rules: `*` one segment, `#` any).

Handlers may be coroutines or plain functions (run in a worker thread, for synchronous code). A
handler's return value is the reply (bytes, text, JSON-able, or a `Reply`). Raising a
`RegistryClientError` sends its status to the sender; any other exception becomes INTERNAL.

Each handler runs inside a span whose parent is the trace context the delivery carried, so the
handler's own calls (a publish, a send) continue the sender's trace.

Limits: at most `max_concurrency` (64) deliveries handled at once (gRPC refuses more with
RESOURCE_EXHAUSTED); events are handled one at a time, in order.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import jwt
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from client._proto import envelope_pb, inbox_grpc, inbox_pb, relay_pb
from client._tasks import cancel_and_wait
from client.errors import RegistryClientError, UnauthenticatedError, UnimplementedError, translated
from client.messaging import Message, MessageType, Payload, Reply, Subscription, encode
from client.model import Endpoint, Load, Protocol

if TYPE_CHECKING:
    from client.client import RegistryClient

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("client.inbox")

Handler = Callable[[Message], Any]
H = TypeVar("H", bound=Handler)

KEY_REFRESH_INTERVAL = 5.0
"""Least time between two fetches of the registry's delivery keys."""
INBOX_ENDPOINT_NAME = "inbox"


def topic_matches(pattern: str, topic: str) -> bool:
    """AMQP topic matching: `*` is exactly one dot-separated segment, `#` zero or more."""
    return _match(pattern.split("."), topic.split("."))


def _match(pattern: list[str], topic: list[str]) -> bool:
    if not pattern:
        return not topic
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, topic[i:]) for i in range(len(topic) + 1))
    return bool(topic) and head in ("*", topic[0]) and _match(rest, topic[1:])


class DeliveryVerifier:
    """Checks delivery tokens against the registry's published keys."""

    def __init__(
        self, fetch: Callable[[], Awaitable[relay_pb.GetDeliveryKeysResponse]], service: str
    ) -> None:
        self._fetch = fetch
        self._service = service
        self._keys: dict[str, Any] = {}
        self._issuer = ""
        self._fetched_at = -KEY_REFRESH_INTERVAL
        self._lock = asyncio.Lock()

    async def verify(self, token: str, envelope_id: str) -> str:
        """The verified sending service; `UnauthenticatedError` when the token does not hold."""
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError as error:
            raise UnauthenticatedError(f"delivery token is malformed: {error}") from None
        key = self._keys.get(kid) or await self._refresh(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                audience=self._service,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise UnauthenticatedError(f"delivery token rejected: {error}") from None
        if claims.get("eid") != envelope_id:
            raise UnauthenticatedError("delivery token was issued for another envelope")
        return str(claims["sub"])

    async def _refresh(self, kid: str) -> Any:
        async with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= KEY_REFRESH_INTERVAL:
                self._fetched_at = time.monotonic()
                response = await self._fetch()
                self._issuer = response.issuer
                self._keys = {k.key_id: k.key for k in jwt.PyJWKSet.from_json(response.jwks).keys if k.key_id}
        key = self._keys.get(kid)
        if key is None:
            raise UnauthenticatedError(f"delivery token signed with unknown key {kid!r}")
        return key


class Inbox(inbox_grpc.InboxServiceServicer):
    """Decorated handlers behind an InboxService server; see the module docstring."""

    def __init__(self, service_name: str = "", *, verify: bool = True, max_concurrency: int = 64) -> None:
        self.service_name = service_name
        self.verify = verify
        self.max_concurrency = max_concurrency
        self.in_flight = 0
        """Deliveries being handled now; reported to the registry as load."""
        self._commands: dict[str, Handler] = {}
        self._queries: dict[str, Handler] = {}
        self._events: list[tuple[str, Handler]] = []
        self._verifier: DeliveryVerifier | None = None
        self._server: grpc.aio.Server | None = None
        self._subscription: Subscription | None = None
        self._event_task: asyncio.Task[None] | None = None
        self.host = ""
        self.port = 0

    # -- declaring handlers ----------------------------------------------------------------------

    def command(self, name: str) -> Callable[[H], H]:
        """Handle the command `name` (one handler per name)."""
        return self._into(self._commands, name)

    def query(self, name: str) -> Callable[[H], H]:
        """Handle the query `name` (one handler per name)."""
        return self._into(self._queries, name)

    def event(self, pattern: str) -> Callable[[H], H]:
        """Handle events whose topic matches `pattern` (several handlers may match one event)."""

        def register(handler: H) -> H:
            self._events.append((pattern, handler))
            return handler

        return register

    @staticmethod
    def _into(table: dict[str, Handler], name: str) -> Callable[[H], H]:
        def register(handler: H) -> H:
            if name in table:
                raise ValueError(f"a handler for {name!r} is already registered")
            table[name] = handler
            return handler

        return register

    # -- serving ---------------------------------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint to register (named `inbox`); valid once started."""
        if not self.port:
            raise RuntimeError("start the inbox before registering it")
        return Endpoint(self.host, self.port, Protocol.GRPC, INBOX_ENDPOINT_NAME)

    def load(self) -> Load:
        return Load(in_flight=self.in_flight)

    async def start(self, client: RegistryClient, *, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve InboxService on `host:port` (0 picks a free port) and subscribe for events."""
        self.service_name = self.service_name or client.config.service_name
        transport = client.transport

        async def fetch_keys() -> relay_pb.GetDeliveryKeysResponse:
            with translated():
                return await transport.relay.GetDeliveryKeys(
                    relay_pb.GetDeliveryKeysRequest(), timeout=transport.call_timeout
                )

        self._verifier = DeliveryVerifier(fetch_keys, self.service_name)
        server = grpc.aio.server(
            maximum_concurrent_rpcs=self.max_concurrency,
            options=[
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
                ("grpc.so_reuseport", 0),
            ],
        )
        inbox_grpc.add_InboxServiceServicer_to_server(self, server)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.port = server.add_insecure_port(address)
        self.host = host
        await server.start()
        self._server = server
        if self._events:
            self._subscription = client.subscribe(*sorted({p for p, _ in self._events}))
            self._event_task = asyncio.create_task(self._consume(self._subscription), name="inbox events")
        return self.port

    async def stop(self, grace: float | None = 1.0) -> None:
        if self._subscription is not None:
            await self._subscription.aclose()
        if self._event_task is not None:
            await cancel_and_wait(self._event_task)
        if self._server is not None:
            await self._server.stop(grace)

    async def events_ready(self) -> None:
        """Wait until the event subscription is live (events published after this reach handlers)."""
        if self._subscription is not None:
            await self._subscription.started.wait()

    # -- handling --------------------------------------------------------------------------------

    async def Deliver(
        self, request: inbox_pb.DeliverRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> inbox_pb.DeliverResponse:
        parent = propagate.extract(dict(context.invocation_metadata() or ()))
        try:
            message = await self._admit(request)
            handler = self._handler_for(message)
            self.in_flight += 1
            try:
                span_name = f"{message.type.name.lower()} {message.name}"
                result = await self._run(handler, message, span_name, parent, trace.SpanKind.SERVER)
            finally:
                self.in_flight -= 1
        except RegistryClientError as error:
            await context.abort(error.code or grpc.StatusCode.UNKNOWN, error.message)
        except Exception as error:
            log.exception("handler for %r failed", request.envelope.name)
            await context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")
        return inbox_pb.DeliverResponse(reply=_reply(result))

    def _handler_for(self, message: Message) -> Handler:
        table = self._commands if message.type is MessageType.COMMAND else self._queries
        handler = table.get(message.name)
        if handler is None:
            raise UnimplementedError(f"{self.service_name} has no handler for {message.name!r}")
        return handler

    async def _admit(self, request: inbox_pb.DeliverRequest) -> Message:
        message = Message.from_proto(request.envelope)
        if not self.verify:
            return message
        assert self._verifier is not None  # set by start()
        sender = await self._verifier.verify(request.delivery_token, request.envelope.id)
        if sender != message.source_service:
            raise UnauthenticatedError("delivery token names another sender than the envelope")
        return message

    async def _consume(self, subscription: Subscription) -> None:
        async for message in subscription:
            parent = propagate.extract(dict(message.trace_context))
            for pattern, handler in self._events:
                if not topic_matches(pattern, message.name):
                    continue
                try:
                    await self._run(
                        handler, message, f"event {message.name}", parent, trace.SpanKind.CONSUMER
                    )
                except Exception:
                    log.exception("event handler for %r failed on %r", pattern, message.name)

    @staticmethod
    async def _run(
        handler: Handler, message: Message, span_name: str, parent: otel_context.Context, kind: trace.SpanKind
    ) -> Any:
        # Attach the delivered context itself (not just use it as the span's parent), so its
        # baggage stays current inside the handler too; to_thread copies the context along.
        token = otel_context.attach(parent)
        try:
            with _tracer.start_as_current_span(span_name, kind=kind):
                if inspect.iscoroutinefunction(handler):
                    return await handler(message)
                return await asyncio.to_thread(handler, message)
        finally:
            otel_context.detach(token)


def _reply(result: Reply | Payload) -> envelope_pb.Reply:
    if isinstance(result, Reply):
        return envelope_pb.Reply(
            payload=result.payload, content_type=result.content_type, headers=dict(result.headers)
        )
    payload, content_type = encode(result)
    return envelope_pb.Reply(payload=payload, content_type=content_type)
