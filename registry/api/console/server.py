"""The console's HTTP server: the page, its JSON API and its push streams, on their own port.

aiohttp runs on the registry's event loop beside grpc.aio, so the handlers call the core directly
(no threads, no copies of state). Routes:

    GET  /                                   the page (no data: it asks for a token first)
    GET  /static/…                           its script and style, built from web/console/
    GET  /api/session                        who the token belongs to, and the page's settings
    GET  /api/fleet?after=REV                push: catalog snapshot or missed changes, then changes
    GET  /api/services/NAME/health           heartbeat metrics of a service's instances
    GET  /api/graph?window=1m|5m|60m         the dependency graph, declared and observed
    GET  /api/events?topic=P&tenant=T        push: the live tail of relayed events
    POST /api/services/NAME/instances/ID/drain        {"reason": "..."}
    POST /api/services/NAME/instances/ID/deregister

Errors are JSON `{"error": {"reason", "message", "field"}}` with the HTTP status matching the
gRPC code the same domain error gets on the gRPC port. Every response forbids framing and
sniffing, and the page runs under a Content-Security-Policy that allows only its own origin.
Access logging is off: the request line is all it would add, and it is never worth the risk of a
proxy that rewrites a token into it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import ssl
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from registry.api.console import encode
from registry.api.console.access import Access
from registry.api.console.fleet import FleetFeed, SummaryCache
from registry.api.console.graph import graph_json
from registry.api.console.push import EventStream, SlowPage, StreamLimits
from registry.auth import require_service, require_subscribe
from registry.auth.policy import Rule
from registry.auth.verifier import Verifier
from registry.core import errors, event_filter, validation
from registry.core.catalog import Catalog
from registry.core.events import EventBus, Subscription
from registry.core.graph import DependencyGraph
from registry.core.limits import LIMITS
from registry.core.liveness import Liveness

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

_HTTP_STATUS: dict[type[errors.RegistryError], int] = {
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.FailedPrecondition: 409,
    errors.ResourceExhausted: 429,
    errors.Unavailable: 503,
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        # Scripts only from this origin and never eval'd; inline styles are allowed because
        # Cytoscape.js sets them on the elements it draws.
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def http_status(error: errors.RegistryError) -> int:
    for cls in type(error).__mro__:
        if cls in _HTTP_STATUS:
            return _HTTP_STATUS[cls]
    return 500


def error_response(error: errors.RegistryError) -> web.Response:
    body: dict[str, Any] = {"reason": error.reason, "message": error.message}
    if isinstance(error, errors.InvalidArgument):
        body["field"] = error.field
    return web.json_response({"error": body}, status=http_status(error))


@web.middleware
async def _domain_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except errors.RegistryError as error:
        return error_response(error)
    return response


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_SECURITY_HEADERS)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


class ConsoleServer:
    """The console app, started after the gRPC server and stopped after the core ends its streams."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        catalog: Catalog,
        liveness: Liveness,
        events: EventBus,
        graph: DependencyGraph,
        verifier: Verifier | None,
        trace_url: str = "",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._address = address
        self._catalog = catalog
        self._liveness = liveness
        self._events = events
        self._dependencies = graph
        self._access = Access(verifier)
        self._trace_url = trace_url
        self._ssl = ssl_context
        self._limits = StreamLimits()
        self._fleet = FleetFeed(catalog, SummaryCache(liveness))
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        host = self._address[0]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self._ssl else 'http'}://{host}:{self.port}/"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[_domain_errors], client_max_size=LIMITS.console_body_bytes)
        app.on_response_prepare.append(_secure_headers)
        app.router.add_get("/", self._index)
        app.router.add_static("/static", STATIC)
        app.router.add_get("/api/session", self._session)
        app.router.add_get("/api/fleet", self._fleet_stream)
        app.router.add_get("/api/services/{service}/health", self._health)
        app.router.add_get("/api/graph", self._graph)
        app.router.add_get("/api/events", self._event_tail)
        app.router.add_post("/api/services/{service}/instances/{instance}/drain", self._drain)
        app.router.add_post("/api/services/{service}/instances/{instance}/deregister", self._deregister)
        return app

    async def start(self) -> None:
        # handler_cancellation: a page that goes away ends its handler, and with it its watcher.
        self._runner = web.AppRunner(
            self.app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
            logger=_ServerLog(logging.getLogger("aiohttp.server")),
        )
        await self._runner.setup()
        sock = socket.create_server(self._address, family=_family(self._address[0]))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock, ssl_context=self._ssl).start()
        log.info("console serving", extra={"url": self.url, "auth": self._access.auth_on})

    async def stop(self) -> None:
        """Close the port and end open pages; call after the core ended its watches and tails."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----------------------------------------------------------------- page and reads

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _session(self, request: web.Request) -> web.Response:
        identity = self._access.identify(request)
        return web.json_response(
            {
                "service": identity.service,
                "scopes": sorted(identity.scopes),
                "admin": identity.is_admin,
                "expiresAt": None if math.isinf(identity.expires_at) else identity.expires_at,
                "authOn": self._access.auth_on,
                "traceUrl": self._trace_url,
            }
        )

    async def _health(self, request: web.Request) -> web.Response:
        self._access.require(request, Rule.DISCOVER)
        service = request.match_info["service"]
        validation.service_name(service, "service")
        rows, more = self._liveness.health_page(service, None, LIMITS.console_health_rows)
        return web.json_response({"instances": [encode.health(h) for h in rows], "more": more is not None})

    async def _graph(self, request: web.Request) -> web.Response:
        self._access.require(request, Rule.DISCOVER)
        return web.json_response(graph_json(self._dependencies, request.query.get("window", "5m")))

    # ----------------------------------------------------------------- push

    async def _fleet_stream(self, request: web.Request) -> web.StreamResponse:
        identity = self._access.require(request, Rule.DISCOVER)
        after = _int_param(request, "after", 0)
        with self._limits.slot(identity.service):
            stream = await EventStream.open(request)
            try:
                await self._fleet.run(stream, after)
            except (SlowPage, ConnectionError):
                log.info("console page cut or gone", extra={"caller": identity.service, "feed": "fleet"})
            return stream.response

    async def _event_tail(self, request: web.Request) -> web.StreamResponse:
        identity = self._access.identify(request)
        wanted = event_filter.build(
            request.query.getall("topic", []), request.query.get("tenant", ""), (), (), "filter"
        )
        for pattern in wanted.patterns:
            require_subscribe(identity, pattern)
        backlog = min(_int_param(request, "backlog", 50), LIMITS.console_event_backlog)
        with self._limits.slot(identity.service):
            subscription = await self._events.subscribe(
                wanted, after_sequence=max(0, self._events.head - backlog)
            )
            try:
                stream = await EventStream.open(request)
                try:
                    await _tail(stream, subscription)
                except (SlowPage, ConnectionError):
                    log.info("console page cut or gone", extra={"caller": identity.service, "feed": "events"})
                return stream.response
            finally:
                subscription.close()

    # ----------------------------------------------------------------- actions

    async def _drain(self, request: web.Request) -> web.Response:
        key, identity = self._target(request)
        body = await _json_body(request)
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            raise errors.InvalidArgument("reason", "must be a string")
        validation.drain_reason(reason)
        sent = self._liveness.drain(key, reason or f"drained from the console by {identity.service}")
        log.info("console drain", extra={"caller": identity.service, "service": key[0], "instance": key[1]})
        return web.json_response({"directiveSent": sent})

    async def _deregister(self, request: web.Request) -> web.Response:
        key, identity = self._target(request)
        # Shielded: a page that goes away mid-request must not cut a removal between its store
        # write and its catalog update (handlers are cancelled when their client leaves).
        revision = await asyncio.shield(self._catalog.deregister(key))
        log.info(
            "console deregister", extra={"caller": identity.service, "service": key[0], "instance": key[1]}
        )
        return web.json_response({"revision": revision})

    def _target(self, request: web.Request) -> tuple[tuple[str, str], Any]:
        identity = self._access.identify(request)
        key = validation.instance_key(request.match_info["service"], request.match_info["instance"])
        require_service(identity, key[0])
        return key, identity


async def _tail(stream: EventStream, subscription: Subscription) -> None:
    try:
        async for delivery in subscription:
            await stream.send("event", encode.event(delivery.event))
    except errors.ResourceExhausted as error:  # fell behind: the page opens a new tail
        await stream.send("cut", {"message": error.message})
    except errors.Unavailable:
        await stream.send("bye", {"message": "the registry is shutting down"})


class _ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server log, except that a malformed request (the client's fault, not ours) is one
    INFO line instead of an ERROR with a traceback."""

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self.logger.info("malformed HTTP request refused", extra={"reason": exc_info.message[:200]})
            return
        self.logger.exception(msg, *args, exc_info=exc_info, **kwargs)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise errors.InvalidArgument(name, f"{raw[:32]!r} is not a non-negative integer")
    return int(raw)


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidArgument("body", "is not JSON") from exc
    if not isinstance(body, dict):
        raise errors.InvalidArgument("body", "must be a JSON object")
    return body
