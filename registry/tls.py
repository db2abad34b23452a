"""Transport security: server TLS from certificate and key files, reloaded when they change.

The registry serves TLS when `tls_cert_file` and `tls_key_file` are set, and mutual TLS when
`tls_client_ca_file` is set too (then a client without a certificate signed by that CA is refused
in the handshake, before any RPC). gRPC asks `ServerCertificates.fetch` for the current
configuration at every new handshake, from its own threads; fetch looks at the files' stat
signature at most once per `tls_reload_seconds` and reloads them only when one changed. So a
renewed certificate (cert-manager, certbot, a cron job) is served to new connections without a
restart, and the handshake path costs no file I/O. A reload that fails (a half-written pair, a key
that does not match the certificate) is logged and the previous pair stays in force, and is
retried at the next check.

Plaintext with JWT auth on a non-loopback address is refused by config validation unless
`--insecure` says so; `server_credentials` then logs that at CRITICAL on every start.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from registry.config import Config, ConfigError

log = logging.getLogger(__name__)

MAX_PEM_BYTES = 1 << 20

Signature = tuple[tuple[int, int, int], ...]


class TlsFileError(ConfigError):
    """A certificate, key or CA file is unusable; at start the registry refuses to run."""


@dataclass(frozen=True, slots=True)
class PemSet:
    """One validated certificate chain, its key, the client CA (or None) and the chain's expiry."""

    chain: bytes
    key: bytes
    client_ca: bytes | None
    not_after: str


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise TlsFileError(f"{path}: cannot read the {what}: {exc.strerror}") from exc
    if len(data) > MAX_PEM_BYTES:
        raise TlsFileError(f"{path}: a {what} file holds at most {MAX_PEM_BYTES} bytes")
    return data


def _certificates(data: bytes, path: Path, what: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TlsFileError(f"{path}: not a PEM {what}: {exc}") from exc
    return certificates


def load_pem_set(cert_file: Path, key_file: Path, client_ca_file: Path | None) -> PemSet:
    """Read and check the files: PEM certificates, a private key that matches the first one."""
    chain = _read(cert_file, "TLS certificate")
    key = _read(key_file, "TLS private key")
    leaf = _certificates(chain, cert_file, "certificate chain")[0]
    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as exc:
        raise TlsFileError(f"{key_file}: not an unencrypted PEM private key: {exc}") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != leaf.public_key().public_bytes(serialization.Encoding.DER, public):
        raise TlsFileError(f"{key_file}: the private key does not match the certificate in {cert_file}")
    client_ca = None
    if client_ca_file is not None:
        client_ca = _read(client_ca_file, "client CA")
        _certificates(client_ca, client_ca_file, "CA certificate")
    return PemSet(chain, key, client_ca, leaf.not_valid_after_utc.isoformat(timespec="seconds"))


class ServerCertificates:
    """The server's TLS files, handed to gRPC as dynamic credentials and reloaded on change."""

    def __init__(self, cert_file: Path, key_file: Path, client_ca_file: Path | None, interval: float) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.client_ca_file = client_ca_file
        self._interval = interval
        self._lock = threading.Lock()  # fetch runs on gRPC's handshake threads
        self.current = load_pem_set(cert_file, key_file, client_ca_file)
        self._signature = self._stat()
        self._checked = time.monotonic()
        self.reloads = 0
        """Successful reloads so far; tests and logs read it."""

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.cert_file, self.key_file, *([self.client_ca_file] if self.client_ca_file else []))

    def _stat(self) -> Signature:
        try:
            stats = [os.stat(p) for p in self.paths]
        except OSError as exc:
            raise TlsFileError(f"{exc.filename}: cannot read: {exc.strerror}") from exc
        return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        pems = self.current
        return grpc.ssl_server_certificate_configuration([(pems.key, pems.chain)], pems.client_ca)

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self.configuration(),
            self.fetch,  # type: ignore[arg-type]  # gRPC documents None as "unchanged"; the stub omits it
            require_client_authentication=self.client_ca_file is not None,
        )

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by gRPC at each handshake: a new configuration when the files changed, else None.

        It never raises: an exception here would fail the handshake of every client.
        """
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self._interval:
                return None
            self._checked = now
            try:
                signature = self._stat()
                if signature == self._signature:
                    return None
                pems = load_pem_set(self.cert_file, self.key_file, self.client_ca_file)
            except TlsFileError as exc:
                # The operator's files, not client input; the message names the file and the cause.
                log.error("TLS reload failed; keeping the previous certificate", extra={"error": str(exc)})  # noqa: TRY400
                return None
            self._signature, self.current = signature, pems
            self.reloads += 1
        log.info("TLS certificate reloaded", extra={"cert": str(self.cert_file), "not_after": pems.not_after})
        return self.configuration()


def server_certificates(config: Config) -> ServerCertificates | None:
    """The TLS files `config` names, validated, or None for plaintext."""
    if not config.tls_cert_file:
        return None
    client_ca = Path(config.tls_client_ca_file) if config.tls_client_ca_file else None
    return ServerCertificates(
        Path(config.tls_cert_file), Path(config.tls_key_file), client_ca, config.tls_reload_seconds
    )


def describe(config: Config, certificates: ServerCertificates | None) -> str:
    """`plaintext`, `tls` or `mtls`, for the serving log line; logs plaintext dangers loudly."""
    if certificates is None:
        if not config.binds_loopback and config.auth_mode == "jwt":
            log.critical(
                "JWT AUTH IN PLAINTEXT ON A NON-LOOPBACK ADDRESS (--insecure): anyone on the network "
                "path can read tokens and replay them until they expire",
                extra={"host": config.host},
            )
        return "plaintext"
    log.info(
        "TLS on",
        extra={
            "cert": str(certificates.cert_file),
            "not_after": certificates.current.not_after,
            "client_ca": str(certificates.client_ca_file or "-"),
        },
    )
    return "mtls" if certificates.client_ca_file else "tls"
