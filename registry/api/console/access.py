"""Who is calling the console's HTTP API, checked exactly as the gRPC interceptor checks a call.

The same `Verifier` (keys, audience, issuers, leeway, cache) turns the `Authorization: Bearer`
header into an `Identity`, and the same rules decide: reading the fleet and the graph needs
`discover` (`method_denial(identity, Rule.DISCOVER)`), the event tail a `subscribe:` scope covering
each topic pattern (`require_subscribe`), and drain or deregister `admin` or the instance's own
service (`require_service`). A token is only ever read from that header: never from the URL (which
lands in access logs, browser history and Referer headers) and never written to a log line; denials
are logged like the interceptor's, with the caller's service name and the reason.

With auth off the verifier is None and every caller is `LOCAL`, as on the gRPC port (config
validation keeps such a console on loopback unless --insecure).
"""

from __future__ import annotations

import logging

from aiohttp import web

from registry.auth.identity import LOCAL, Identity, set_current_call
from registry.auth.interceptor import bearer_token
from registry.auth.policy import Rule, method_denial
from registry.auth.verifier import Verifier
from registry.core.errors import PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)


class Access:
    """Verifies the caller of one HTTP request and binds it like an RPC's caller."""

    def __init__(self, verifier: Verifier | None) -> None:
        self._verifier = verifier

    @property
    def auth_on(self) -> bool:
        return self._verifier is not None

    def identify(self, request: web.Request) -> Identity:
        """The verified caller; Unauthenticated (logged, without the token) when there is none."""
        method = f"console {request.method} {request.path}"
        if self._verifier is None:
            set_current_call(LOCAL, method)
            return LOCAL
        header = request.headers.get("Authorization")
        try:
            identity = self._verifier.verify(
                bearer_token([] if header is None else [("authorization", header)])
            )
        except Unauthenticated as error:
            _denied("-", method, error.message, request)
            raise
        set_current_call(identity, method)  # require_* checks log the method they guard
        return identity

    def require(self, request: web.Request, rule: Rule) -> Identity:
        """The caller, who must pass `rule`; PermissionDenied (logged) otherwise."""
        identity = self.identify(request)
        denial = method_denial(identity, rule)
        if denial is not None:
            _denied(identity.service, f"console {request.method} {request.path}", denial, request)
            raise PermissionDenied(denial)
        return identity


def _denied(caller: str, method: str, reason: str, request: web.Request) -> None:
    log.warning(
        "auth denied", extra={"caller": caller, "method": method, "reason": reason, "peer": request.remote}
    )
