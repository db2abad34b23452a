"""`registry credentials issue | list | revoke`: give each service a key that speaks only for itself.

`issue SERVICE --scope ...` makes a key pair, writes the private half to a credential file for that
service (mode 0600, JSON: service, kid, algorithm, scopes, audience, private_key PEM) and adds the
public half to the registry's service keys (`DATA_DIR/service-keys.json`, or
`--service-keys-file`), bound to the subject SERVICE and to the scopes given. The registry reloads
that file on change, so a new service can call at once, and accepts from the key only tokens for
SERVICE within those scopes. The SDK reads the file (`REGISTRY_CREDENTIALS_FILE`) and mints its
own short-lived tokens; the registry's master HS256 secret never leaves the operators.

Issuing again for a service adds a key (rotation: both work until the old one is revoked);
`revoke SERVICE [--kid KID]` removes a service's keys, which revokes every token they signed at
the registry's next reload.

Cluster mode (`--store etcd` with the replicas' `--etcd-*` settings): the public keys go to etcd
(`<prefix>/keys/services/<kid>`) instead of the file, and every replica follows them with a watch,
so an issued or revoked key counts on every replica within milliseconds (docs/cluster.md).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from registry.auth import scopes, signing
from registry.auth.keys import parse_jwks, service_keys_path
from registry.cli.token import add_key_arguments, guarded, replace_atomically, write_private
from registry.cluster import etcd_settings
from registry.config import Config, ConfigError, build_config
from registry.store.etcd_client import EtcdClient, EtcdUnavailable
from registry.store.etcd_service_keys import EtcdServiceKeys

T = TypeVar("T")

ISSUABLE = ("EdDSA", "ES256")


@contextmanager
def _locked(path: Path) -> Iterator[dict[str, Any]]:
    """The service keys document, read and written back under an exclusive lock, so two operators
    issuing at once do not drop each other's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        document: dict[str, Any] = {"keys": []}
        if path.exists():
            raw = path.read_bytes()
            parse_jwks(raw, bound=True)  # refuse to build on a broken file
            document = json.loads(raw)
        yield document
        parse_jwks(json.dumps(document).encode(), bound=True)  # what the registry will load
        replace_atomically(path, json.dumps(document, indent=2) + "\n")


def _in_etcd(config: Config, work: Callable[[EtcdServiceKeys], Awaitable[T]]) -> T:
    """Run `work` on the cluster's service keys in etcd; an unreachable etcd is one line."""

    async def run() -> T:
        client = EtcdClient(etcd_settings(config))
        try:
            await client.authenticate()
            return await work(EtcdServiceKeys(client, config.etcd_prefix))
        finally:
            await client.close()

    try:
        return asyncio.run(run())
    except EtcdUnavailable as error:
        raise ConfigError(f"etcd at {config.etcd_endpoints}: {error}") from None


def _etcd_keys(config: Config) -> list[dict[str, Any]]:
    """The service keys in etcd; a value that is no JSON object shows as its kid alone (the
    replicas skip it)."""
    stored, _ = _in_etcd(config, lambda keys: keys.read())
    found = []
    for kid, value in sorted(stored.items()):
        try:
            entry = json.loads(value)
        except ValueError:
            entry = None
        found.append({**entry, "kid": kid} if isinstance(entry, dict) else {"kid": kid})
    return found


def _publish(config: Config, keys_path: Path, kid: str, entry: dict[str, Any]) -> str:
    """Add a public key where the registry reads service keys; where that is."""
    if config.store != "etcd":
        with _locked(keys_path) as document:
            document["keys"].append(entry)
        return str(keys_path)
    value = json.dumps(entry).encode()
    parse_jwks(b'{"keys":[' + value + b"]}", bound=True)  # what the replicas will load
    if not _in_etcd(config, lambda keys: keys.add(kid, value)):
        raise ConfigError(f"kid {kid} is already in etcd; issue again")
    return f"etcd {config.etcd_prefix.rstrip('/')}/keys/services/{kid}"


def _issue(args: argparse.Namespace) -> int:
    if not scopes.is_service_name(args.service):
        raise ConfigError(f"{args.service!r} is not a service name (an RFC 1035 label)")
    scope_text = " ".join(args.scope)
    if unknown := scopes.unrecognised(scope_text):
        raise ConfigError(f"unrecognised scopes {unknown}")
    granted = " ".join(sorted(scopes.parse(scope_text)))
    config = build_config(args)
    keys_path = service_keys_path(config)
    out = Path(args.out or f"{args.service}.credentials.json")
    kid = f"{args.service}.{time.strftime('%Y%m%d')}.{secrets.token_hex(4)}"
    key = signing.generate_private_key(args.alg)
    credential = {
        "service": args.service,
        "kid": kid,
        "algorithm": args.alg,
        "scopes": granted,
        "audience": config.jwt_audience,
        "private_key": signing.private_pem(key).decode(),
    }
    try:
        write_private(out, (json.dumps(credential, indent=2) + "\n").encode())
    except FileExistsError as exc:
        raise ConfigError(f"{out} exists; pass another --out") from exc
    entry = {**signing.public_jwk(key, kid), "sub": args.service, "scope": granted}
    try:
        where = _publish(config, keys_path, kid, entry)
    except BaseException:
        out.unlink(missing_ok=True)  # a credential the registry does not know is no credential
        raise
    print(f"credential:   {out} (mode 0600; give it to {args.service} only)")
    print(f"service keys: {where} (kid {kid}, scopes: {granted or '(own service only)'})")
    print(f"use:          REGISTRY_CREDENTIALS_FILE={out} (the SDK mints its tokens from it)")
    return 0


def _bound_keys(args: argparse.Namespace) -> tuple[Path, list[dict[str, Any]]]:
    config = build_config(args)
    path = service_keys_path(config)
    if config.store == "etcd":
        return path, _etcd_keys(config)
    if not path.exists():
        return path, []
    document = json.loads(path.read_bytes())
    return path, list(document.get("keys", []))


def _list(args: argparse.Namespace) -> int:
    _, keys = _bound_keys(args)
    rows = [(k.get("sub", "-"), k.get("kid", "-"), k.get("alg", "-"), k.get("scope", "")) for k in keys]
    if args.json:
        json.dump([dict(zip(("service", "kid", "alg", "scopes"), r, strict=True)) for r in rows], sys.stdout)
        print()
        return 0
    if not rows:
        print("(none)")
        return 0
    widths = [max(len(str(r[i])) for r in [("SERVICE", "KID", "ALG", "SCOPES"), *rows]) for i in range(3)]
    for row in [("SERVICE", "KID", "ALG", "SCOPES"), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + str(row[3]))
    return 0


def _revoke_in_etcd(config: Config, args: argparse.Namespace) -> int:
    doomed = [
        str(key.get("kid"))
        for key in _etcd_keys(config)
        if key.get("sub") == args.service and args.kid in (None, key.get("kid"))
    ]

    async def remove(keys: EtcdServiceKeys) -> list[str]:
        return [kid for kid in doomed if await keys.remove(kid)]

    removed = _in_etcd(config, remove)
    if not removed:
        print(f"no key of {args.service!r}{f' with kid {args.kid!r}' if args.kid else ''} in etcd")
        return 1
    for kid in removed:
        print(f"revoked {kid} of {args.service} (every replica refuses its tokens within milliseconds)")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    config = build_config(args)
    if config.store == "etcd":
        return _revoke_in_etcd(config, args)
    path = service_keys_path(config)
    if not path.exists():
        raise ConfigError(f"{path}: no service keys")
    with _locked(path) as document:
        kept: list[dict[str, Any]] = []
        removed: list[dict[str, Any]] = []
        for key in document["keys"]:
            match = key.get("sub") == args.service and args.kid in (None, key.get("kid"))
            (removed if match else kept).append(key)
        document["keys"] = kept
    if not removed:
        print(f"no key of {args.service!r}{f' with kid {args.kid!r}' if args.kid else ''} in {path}")
        return 1
    for key in removed:
        print(f"revoked {key.get('kid')} of {args.service} (its tokens fail at the registry's next reload)")
    return 0


def _add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the service keys live in cluster mode; etcd's user, password and TLS settings are
    read from the same `REGISTRY_ETCD_*` variables as `registry serve`."""
    parser.add_argument("--store", dest="store", choices=("sqlite", "etcd"), help="etcd: keys in etcd")
    parser.add_argument("--etcd-endpoints", dest="etcd_endpoints", help="env REGISTRY_ETCD_ENDPOINTS")
    parser.add_argument("--etcd-prefix", dest="etcd_prefix", help="env REGISTRY_ETCD_PREFIX")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "credentials", help="per-service signing keys, bound to their service and scopes"
    )
    commands = parser.add_subparsers(dest="credentials_command", required=True)

    issue = commands.add_parser("issue", help="make a service's key pair and register its public key")
    issue.add_argument("service", help="the service the key speaks for (the tokens' `sub`)")
    issue.add_argument(
        "--scope",
        action="append",
        default=[],
        help="the most its tokens may grant, repeatable or space-separated: discover, send:SVC, "
        "publish:PATTERN, subscribe:PATTERN (none: only its own instances)",
    )
    issue.add_argument("--alg", choices=ISSUABLE, default="EdDSA", help="default EdDSA")
    issue.add_argument("--out", help="credential file to write (default ./SERVICE.credentials.json)")
    add_key_arguments(issue)
    _add_store_arguments(issue)
    issue.set_defaults(func=guarded("registry credentials", _issue))

    listing = commands.add_parser("list", help="every service key: service, kid, algorithm, scopes")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_key_arguments(listing)
    _add_store_arguments(listing)
    listing.set_defaults(func=guarded("registry credentials", _list))

    revoke = commands.add_parser("revoke", help="remove a service's keys (or one, with --kid)")
    revoke.add_argument("service")
    revoke.add_argument("--kid", help="only this key")
    add_key_arguments(revoke)
    _add_store_arguments(revoke)
    revoke.set_defaults(func=guarded("registry credentials", _revoke))
