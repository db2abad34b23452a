"""`registry token create | inspect | keygen`: mint, examine and key tokens for this registry.

`create` and `inspect` resolve the registry's keys exactly as `registry serve` does (the same
flags and REGISTRY_* variables: REGISTRY_JWT_SECRET, --jwt-secret-file, --db-path for the data-dir
secret, --jwks-file), so a token they mint or accept is one the server accepts. They never create
a secret: only the server does that, on its first start.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt

from registry.auth import scopes, signing
from registry.auth.keys import ASYMMETRIC_ALGORITHMS
from registry.auth.verifier import Verifier
from registry.config import ConfigError, build_config
from registry.core.errors import Unauthenticated
from registry.core.limits import LIMITS

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_KID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def parse_duration(text: str) -> float:
    """`90`, `90s`, `15m`, `1h`, `7d` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 15m, 1h, 7d)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not 0 < seconds <= LIMITS.token_ttl_max_seconds:
        raise argparse.ArgumentTypeError(
            f"a token lives between 1 s and {LIMITS.token_ttl_max_seconds // 86400} days"
        )
    return seconds


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags naming the registry's keys; `dest` is the Config field, so build_config reads them."""
    parser.add_argument(
        "--db-path", dest="db_path", help="the registry's database; its folder holds jwt-secret"
    )
    parser.add_argument(
        "--jwt-secret-file",
        "--secret-file",
        dest="jwt_secret_file",
        help="HS256 secret file (env REGISTRY_JWT_SECRET_FILE)",
    )
    parser.add_argument("--jwks-file", dest="jwks_file", help="the registry's JWKS (env REGISTRY_JWKS_FILE)")
    parser.add_argument(
        "--service-keys-file",
        dest="service_keys_file",
        help="per-service keys (env REGISTRY_SERVICE_KEYS_FILE; default DATA_DIR/service-keys.json)",
    )
    parser.add_argument(
        "--jwt-audience", "--audience", dest="jwt_audience", help="audience (env REGISTRY_JWT_AUDIENCE)"
    )


def _create(args: argparse.Namespace) -> int:
    scope_text = " ".join(args.scope)
    for ignored in scopes.unrecognised(scope_text):
        print(f"warning: scope {ignored!r} is not recognised; the registry will ignore it", file=sys.stderr)
    config = build_config(args)
    key: bytes | signing.PrivateKey
    if args.private_key:
        if not args.kid:
            raise ConfigError("--private-key needs --kid, the key's id in the registry's JWKS")
        key = signing.load_private_key(Path(args.private_key))
    else:
        secret = Verifier.from_config(config, create_secret=False).keys.hs_secret
        if secret is None:
            raise ConfigError(
                "no HS256 secret configured; pass --private-key and --kid to sign with a JWKS key"
            )
        key = secret
    token = signing.mint(
        key,
        service=args.service,
        scope=scope_text.split(),
        ttl=args.ttl,
        audience=config.jwt_audience,
        issuer=args.issuer or "",
        kid=args.kid or "",
    )
    print(token)
    return 0


def _when(epoch: Any) -> str:
    if not isinstance(epoch, int | float):
        return "-"
    moment = datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
    delta = round(epoch - time.time())
    return f"{moment} (in {delta} s)" if delta >= 0 else f"{moment} ({-delta} s ago)"


def _inspect(args: argparse.Namespace) -> int:
    token = (args.token or "").strip()
    if not token:
        raise ConfigError("give a token, or set REGISTRY_TOKEN")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        print("not a JWT (expected header.payload.signature, base64url JSON)", file=sys.stderr)
        return 2
    print("header: " + json.dumps(header, sort_keys=True))
    print("claims: " + json.dumps(claims, indent=2, sort_keys=True))
    print(f"issued:  {_when(claims.get('iat'))}")
    print(f"expires: {_when(claims.get('exp'))}")
    try:
        identity = Verifier.from_config(build_config(args), create_secret=False).verify(token)
    except Unauthenticated as error:
        print(f"accepted by this registry: no: {error.message}")
        return 1
    granted = " ".join(sorted(identity.scopes)) or "(none)"
    print(f"accepted by this registry: yes, as service {identity.service!r} with scopes {granted}")
    return 0


def write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def replace_atomically(path: Path, text: str) -> None:
    """Write `path` so that a registry reloading it sees the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _keygen(args: argparse.Namespace) -> int:
    if not _KID.match(args.kid):
        raise ConfigError("--kid takes 1-64 characters of letters, digits, '.', '_' and '-'")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jwks_path = out / "jwks.json"
    document: dict[str, Any] = json.loads(jwks_path.read_text()) if jwks_path.exists() else {"keys": []}
    if any(k.get("kid") == args.kid for k in document["keys"]):
        raise ConfigError(f"{jwks_path} already has a key {args.kid!r}")
    key = signing.generate_private_key(args.alg)
    key_path = out / f"{args.kid}.pem"
    try:
        write_private(key_path, signing.private_pem(key))
    except FileExistsError as exc:
        raise ConfigError(f"{key_path} exists; choose another --kid") from exc
    document["keys"].append(signing.public_jwk(key, args.kid))
    replace_atomically(jwks_path, json.dumps(document, indent=2) + "\n")
    print(f"private key: {key_path} (mode 0600; keep it with the token issuer only)")
    print(f"public JWKS: {jwks_path} ({len(document['keys'])} keys; serve with --jwks-file {jwks_path})")
    print(f"mint:        registry token create --private-key {key_path} --kid {args.kid} --service NAME ...")
    return 0


def _run(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except (ConfigError, ValueError, OSError) as error:
            print(f"registry token: {error}", file=sys.stderr)
            return 2

    return run


def add_parser(subparsers: Any) -> None:
    token = subparsers.add_parser("token", help="mint, inspect and key JWTs for this registry")
    commands = token.add_subparsers(dest="token_command", required=True)

    create = commands.add_parser("create", help="print a signed token")
    create.add_argument("--service", required=True, help="the token's service (its `sub`)")
    create.add_argument(
        "--scope",
        action="append",
        default=[],
        help="scope(s), repeatable or space-separated: discover, send:SVC, send:*, publish:PATTERN, "
        "subscribe:PATTERN, admin",
    )
    create.add_argument(
        "--ttl", type=parse_duration, default=3600.0, help="lifetime, e.g. 15m, 1h (default 1h)"
    )
    create.add_argument("--issuer", help="`iss` claim, when the registry checks issuers")
    create.add_argument(
        "--private-key", help="sign with this PEM key (EdDSA/ES256/RS256) instead of the secret"
    )
    create.add_argument("--kid", help="key id of --private-key in the registry's JWKS")
    add_key_arguments(create)
    create.set_defaults(func=_run(_create))

    inspect = commands.add_parser("inspect", help="decode a token and say whether this registry accepts it")
    inspect.add_argument(
        "token",
        nargs="?",
        default=os.environ.get("REGISTRY_TOKEN"),
        help="the token (default $REGISTRY_TOKEN)",
    )
    add_key_arguments(inspect)
    inspect.set_defaults(func=_run(_inspect))

    keygen = commands.add_parser("keygen", help="make a signing key and add its public half to a JWKS file")
    keygen.add_argument("--alg", choices=ASYMMETRIC_ALGORITHMS, default="EdDSA", help="default EdDSA")
    keygen.add_argument("--kid", required=True, help="key id, e.g. 2025-06")
    keygen.add_argument("--out", required=True, help="folder for KID.pem and jwks.json")
    keygen.set_defaults(func=_run(_keygen))
