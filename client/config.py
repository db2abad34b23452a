"""Client settings from arguments or the environment the integration guides already use.

A service configured the way 003 tells it (`REGISTRY_URL`, `SERVICE_ID`, `JWT_SECRET` in the
environment) works unchanged: `ClientConfig.from_env()` reads those names, and any keyword given to
it wins over the environment. Everything is validated here, once, so a misconfigured service fails at
start with a `ConfigError` naming the setting, not at its first call.

A registry cluster (docs/cluster.md) is several comma-separated addresses or one `dns:///name:port`:
the channel balances over the replicas and moves to another one by itself when one fails.

Environment variables (all optional except a registry URL):

| variable | setting |
| --- | --- |
| `REGISTRY_URL` | `host:port`, `grpc://host:port` (plain) or `grpcs://host:port` (TLS); a cluster: `a,b,c` |
| `SERVICE_NAME` | this service's name (the JWT `sub`) |
| `SERVICE_ID` | this instance's id; default `<hostname>-<pid>` |
| `REGISTRY_CREDENTIALS_FILE` | this service's own credential (`registry credentials issue`): its key, |
| | name, scopes and audience; the recommended way to authenticate |
| `JWT_SECRET` | HS256 shared secret: the client mints its own short-lived tokens |
| `REGISTRY_PRIVATE_KEY_FILE` | PEM private key (Ed25519, EC P-256 or RSA): mints tokens with it |
| `REGISTRY_KEY_ID` | `kid` header for tokens signed with a private key |
| `REGISTRY_TOKEN` | a ready token, used as is (no refresh: prefer a secret or a key) |
| `REGISTRY_AUDIENCE` | JWT `aud`; default `registry` |
| `REGISTRY_SCOPES` | space-separated scopes; default `discover send:* publish:# subscribe:#` |
| `REGISTRY_TOKEN_TTL` | seconds a minted token lives; default 300 |
| `REGISTRY_CALL_TIMEOUT` | deadline of every unary call in seconds; default 5 |
| `REGISTRY_TLS_CA_FILE` | PEM CA that signed the registry's certificate (turns TLS on) |
| `REGISTRY_TLS_CLIENT_CERT_FILE` | this service's certificate, for a registry that requires mTLS |
| `REGISTRY_TLS_CLIENT_KEY_FILE` | the key of that certificate |
| `REGISTRY_TLS_SERVER_NAME` | name the registry's certificate must carry, if not the URL's host |
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.credentials import Credential, load_credential
from client.errors import ConfigError

DEFAULT_SCOPES = ("discover", "send:*", "publish:#", "subscribe:#")
"""Scopes minted tokens ask for: discovery, sending to any service, any topic (`#` matches any
number of dot-separated segments, `*` exactly one). Narrow them with REGISTRY_SCOPES."""

_SCHEMES = {"grpc": False, "http": False, "grpcs": True, "https": True}
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$")
_SERVICE_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")

_ENV: dict[str, str] = {
    "registry_url": "REGISTRY_URL",
    "service_name": "SERVICE_NAME",
    "instance_id": "SERVICE_ID",
    "credentials_file": "REGISTRY_CREDENTIALS_FILE",
    "jwt_secret": "JWT_SECRET",
    "private_key_file": "REGISTRY_PRIVATE_KEY_FILE",
    "key_id": "REGISTRY_KEY_ID",
    "token": "REGISTRY_TOKEN",
    "audience": "REGISTRY_AUDIENCE",
    "scopes": "REGISTRY_SCOPES",
    "token_ttl": "REGISTRY_TOKEN_TTL",
    "call_timeout": "REGISTRY_CALL_TIMEOUT",
    "tls_ca_file": "REGISTRY_TLS_CA_FILE",
    "tls_cert_file": "REGISTRY_TLS_CLIENT_CERT_FILE",
    "tls_key_file": "REGISTRY_TLS_CLIENT_KEY_FILE",
    "tls_server_name": "REGISTRY_TLS_SERVER_NAME",
}


def default_instance_id() -> str:
    """`<hostname>-<pid>`, squeezed into the registry's instance-id alphabet."""
    raw = f"{socket.gethostname()}-{os.getpid()}"
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", raw).strip("._-")[:128].strip("._-")
    return cleaned or f"instance-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Every client setting. Durations are seconds.

    Limits: `token_ttl` 2-86400 (JWT times are whole seconds, so shorter tokens cannot be refreshed
    ahead of expiry); `call_timeout` 0.01-300; `max_stream_age` 1-86400; backoff base 0.001-60 and
    cap at least the base.
    """

    registry_url: str
    service_name: str = ""
    instance_id: str = ""
    credentials_file: Path | None = None
    jwt_secret: str = field(default="", repr=False)
    private_key_file: Path | None = None
    key_id: str = ""
    token: str = field(default="", repr=False)
    audience: str = "registry"
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    token_ttl: float = 300.0
    call_timeout: float = 5.0
    max_stream_age: float = 300.0
    backoff_base: float = 0.1
    backoff_cap: float = 5.0
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_server_name: str = ""

    def __post_init__(self) -> None:
        if not self.instance_id:
            object.__setattr__(self, "instance_id", default_instance_id())
        if self.credentials_file is not None:
            self._adopt(load_credential(self.credentials_file))
        validate(self)

    def _adopt(self, credential: Credential) -> None:
        """Take the service name, scopes and audience from the credential where none were given:
        its key can sign for nothing else, so asking for more would only be refused."""
        if self.service_name and self.service_name != credential.service:
            raise ConfigError(
                f"service_name: {self.service_name!r}, but the credential is for {credential.service!r}"
            )
        object.__setattr__(self, "service_name", credential.service)
        if self.scopes == DEFAULT_SCOPES:
            object.__setattr__(self, "scopes", credential.scopes)
        if self.audience == "registry":
            object.__setattr__(self, "audience", credential.audience)

    @property
    def addresses(self) -> list[str]:
        """The registry addresses (`host:port`, or one `dns:///name:port`), without schemes."""
        return [_split_url(url)[1] for url in _urls(self.registry_url)]

    @property
    def target(self) -> str:
        """The gRPC target of the registry: `host:port` for one replica; for several, an
        `ipv4:`/`ipv6:` list (names resolved now) that the channel balances over and fails over
        between by itself; `dns:///name:port` as given (gRPC resolves every address of the name)."""
        addresses = self.addresses
        if len(addresses) == 1:
            return addresses[0]
        return grpc_target(addresses)

    @property
    def several(self) -> bool:
        """True when the URL names a registry cluster (several addresses or a DNS name)."""
        return len(self.addresses) > 1 or self.addresses[0].startswith("dns:")

    @property
    def tls(self) -> bool:
        """True when the URL asks for TLS (`grpcs://` or `https://`) or a TLS file is given."""
        return (
            _split_url(_urls(self.registry_url)[0])[0]
            or self.tls_ca_file is not None
            or self.tls_cert_file is not None
        )

    @property
    def refresh_margin(self) -> float:
        """How long before expiry a token is replaced and streams opened with it are reopened.

        A quarter of the lifetime, at most a minute: long enough for a reconnect to finish on a busy
        registry, short enough that most of each token's life is used.
        """
        return min(60.0, self.token_ttl / 4)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ClientConfig:
        """Settings from `env` (default `os.environ`); keyword arguments win over the environment."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(_ENV.get(f.name, ""), "")
            if raw:
                values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "registry_url" not in values:
            raise ConfigError("registry_url: set REGISTRY_URL or pass registry_url=")
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(str(error)) from error


def _convert(name: str, raw: str) -> Any:
    if name == "scopes":
        return tuple(raw.split())
    if name in {"credentials_file", "private_key_file", "tls_ca_file", "tls_cert_file", "tls_key_file"}:
        return Path(raw)
    if name in {"token_ttl", "call_timeout"}:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}: not a number: {raw!r}") from None
    return raw


def _urls(value: str) -> list[str]:
    return [url.strip() for url in value.split(",") if url.strip()] or [value]


def grpc_target(addresses: list[str]) -> str:
    """`ipv4:a:p,b:p` (or ipv6) for gRPC's static resolver; host names are resolved here.
    The registry CLI uses it too, for `--address a,b,c`."""
    resolved: list[tuple[str, str]] = []
    for address in addresses:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        try:
            resolved.append((str(ipaddress.ip_address(host)), port))
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
            except OSError as error:
                raise ConfigError(f"registry_url: cannot resolve {host!r}: {error}") from None
            resolved.append((str(infos[0][4][0]), port))
    if all(ipaddress.ip_address(h).version == 4 for h, _ in resolved):
        return "ipv4:" + ",".join(f"{h}:{p}" for h, p in resolved)
    return "ipv6:" + ",".join(f"[{h}]:{p}" for h, p in resolved)


def _split_url(url: str) -> tuple[bool, str]:
    if url.startswith("dns:"):
        return False, url.rstrip("/")
    scheme, sep, rest = url.partition("://")
    if not sep:
        return False, url.rstrip("/")
    if scheme.lower() not in _SCHEMES:
        raise ConfigError(f"registry_url: unknown scheme {scheme!r}; use grpc:// or grpcs://")
    return _SCHEMES[scheme.lower()], rest.rstrip("/")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def validate(config: ClientConfig) -> None:
    """Refuse settings that could only fail later, naming the setting."""
    urls = _urls(config.registry_url)
    _require(
        len({_split_url(url)[0] for url in urls}) == 1, "registry_url: every address must use TLS, or none"
    )
    for address in config.addresses:
        host, _, port = address.removeprefix("dns:").lstrip("/").rpartition(":")
        _require(bool(host) and port.isdigit() and 0 < int(port) < 65536, "registry_url: expected host:port")
    _require(
        not config.service_name or bool(_SERVICE_NAME.match(config.service_name)),
        "service_name: 1-63 lower-case letters, digits and '-', starting with a letter",
    )
    _require(bool(_INSTANCE_ID.match(config.instance_id)), "instance_id: 1-128 of [A-Za-z0-9._-]")
    credentials = sum(
        bool(x) for x in (config.credentials_file, config.jwt_secret, config.private_key_file, config.token)
    )
    _require(credentials <= 1, "give one of credentials_file, jwt_secret, private_key_file or token")
    _require(
        bool(config.service_name) or not (config.jwt_secret or config.private_key_file),
        "service_name: required to mint tokens (it is their subject)",
    )
    _require(2 <= config.token_ttl <= 86_400, "token_ttl: 2-86400 seconds")
    _require(0.01 <= config.call_timeout <= 300, "call_timeout: 0.01-300 seconds")
    _require(1 <= config.max_stream_age <= 86_400, "max_stream_age: 1-86400 seconds")
    _require(0.001 <= config.backoff_base <= 60, "backoff_base: 0.001-60 seconds")
    _require(config.backoff_cap >= config.backoff_base, "backoff_cap: at least backoff_base")
    _require(bool(config.audience), "audience: must not be empty")
    _require(
        (config.tls_cert_file is None) == (config.tls_key_file is None),
        "tls_cert_file and tls_key_file go together (mutual TLS)",
    )
    _require(
        not config.tls or not config.registry_url.lower().startswith(("grpc://", "http://")),
        "registry_url: grpc:// is plaintext, but TLS files are given; use grpcs:// or host:port",
    )
