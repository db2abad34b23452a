"""The console's HTTPS: the gRPC port's TLS files (certificate, key and, for mutual TLS, the
client CA), served by aiohttp through Python's `ssl`, and picked up when they change.

gRPC reloads its copy at handshakes (`registry.tls.ServerCertificates.fetch`); the console does
the same on its own: at each TLS handshake (the SNI callback) it looks at the files' stat
signature at most once per `tls_reload_seconds` and, when one changed, builds a new context for
this and later handshakes. A renewal that fails to load (a half-written pair) keeps the previous
context and is retried at the next check.
"""

from __future__ import annotations

import logging
import os
import ssl
import time

from registry.tls import ServerCertificates

log = logging.getLogger(__name__)


class ConsoleTls:
    """An SSLContext for the console that follows the certificate files."""

    def __init__(self, certificates: ServerCertificates, interval: float) -> None:
        self._files = certificates
        self._interval = interval
        self._signature = self._stat()
        self._checked = time.monotonic()
        self.current = self._load()
        self.context = self.current  # what aiohttp holds; its callback hands out `current`
        self.context.sni_callback = self._on_hello
        self.reloads = 0

    def _stat(self) -> tuple[tuple[int, int, int], ...]:
        stats = [os.stat(p) for p in self._files.paths]
        return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)

    def _load(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._files.cert_file, self._files.key_file)
        if self._files.client_ca_file is not None:
            context.load_verify_locations(self._files.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def _on_hello(self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext) -> None:
        now = time.monotonic()
        if now - self._checked >= self._interval:
            self._checked = now
            try:
                signature = self._stat()
                if signature != self._signature:
                    fresh = self._load()
                    fresh.sni_callback = self._on_hello
                    self.current, self._signature = fresh, signature
                    self.reloads += 1
                    log.info("console TLS certificate reloaded", extra={"cert": str(self._files.cert_file)})
            except (OSError, ssl.SSLError) as exc:
                # The operator's files, not client input: said loudly, the previous pair stays.
                message = "console TLS reload failed; keeping the previous certificate"
                log.error(message, extra={"error": str(exc)})  # noqa: TRY400
        if self.current is not context:
            connection.context = self.current
