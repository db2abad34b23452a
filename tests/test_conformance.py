"""The API from Go and Node: conformance programs on the generated stubs against a real registry.

Each program (conformance/go, conformance/node) runs as its own process with a token minted for
its service, against `registry serve` with JWT auth on: it serves an InboxService, watches its
own service, registers, beats on a heartbeat stream until the watch shows it HEALTHY, looks itself
up with a version constraint, publishes and receives one event, then reports `ready`. A Python
caller then sends it a command with a W3C `traceparent`; the program verifies the registry's
delivery token and replies with what it saw, then leaves (goodbye, Deregister) and exits 0.
Throughout, the registry must log no ERROR.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest

from generated.registry.v1 import envelope_pb2, relay_service_pb2, relay_service_pb2_grpc
from tests.helpers.process import ServerProcess, running_server

ROOT = Path(__file__).resolve().parent.parent
SECRET = "conformance-tests-secret-0123456789abcdef"
PROGRAM_SCOPES = "discover publish:conformance.# subscribe:conformance.#"


def token(service: str, scope: str) -> str:
    now = int(time.time())
    claims = {"sub": service, "aud": "registry", "iat": now, "exp": now + 300, "scope": scope}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture(scope="session")
def go_program(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """conformance/go compiled once per session (the Go build cache makes it quick after the first)."""
    assert shutil.which("go"), "the Go toolchain builds conformance/go"
    binary = tmp_path_factory.mktemp("go") / "conformance"
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ROOT / "conformance" / "go", check=True)
    return [str(binary)]


@pytest.fixture(scope="session")
def node_program() -> list[str]:
    """conformance/node with a fresh copy of generated/node installed (npm's cache keeps it quick)."""
    assert shutil.which("npm"), "npm installs conformance/node's dependencies"
    assert shutil.which("node"), "Node.js runs conformance/node"
    folder = ROOT / "conformance" / "node"
    with (folder / ".install.lock").open("w") as lock:  # one install at a time in this work tree
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(folder / "node_modules" / "@grpc-service-registry", ignore_errors=True)
        install = ["npm", "install", "--silent", "--no-audit", "--no-fund", "--install-links"]
        subprocess.run(install, cwd=folder, check=True)
    return ["node", str(folder / "main.js")]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = tmp_path_factory.mktemp("conformance") / "registry.db"
    with running_server(db, env={"REGISTRY_AUTH_MODE": "jwt", "REGISTRY_JWT_SECRET": SECRET}) as process:
        yield process


def _read_step(proc: subprocess.Popen[str], lines: list[dict[str, Any]], step: str) -> dict[str, Any]:
    assert proc.stdout is not None
    for raw in proc.stdout:
        line: dict[str, Any] = json.loads(raw)
        lines.append(line)
        if line["step"] == step:
            return line
    stderr = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"exited before {step!r} ({proc.wait()}): {lines}\n{stderr}")


def _send_command(address: str, service: str, trace_id: str) -> tuple[dict[str, Any], str]:
    """A command from `py-caller` with a traceparent; returns the program's reply and the parent id."""
    parent_id = secrets.token_hex(8)
    metadata = (
        ("authorization", f"Bearer {token('py-caller', f'send:{service}')}"),
        ("traceparent", f"00-{trace_id}-{parent_id}-01"),
    )
    envelope = envelope_pb2.Envelope(
        type=envelope_pb2.MESSAGE_TYPE_COMMAND, name="greet", target_service=service, payload=b"hello"
    )
    with grpc.insecure_channel(address) as channel:
        response = relay_service_pb2_grpc.RelayServiceStub(channel).Send(
            relay_service_pb2.SendRequest(envelope=envelope), metadata=metadata, timeout=10
        )
    assert response.trace_id == trace_id, "the registry continued the caller's trace"
    return json.loads(response.reply.payload), parent_id


@pytest.mark.parametrize("language", ["go", "node"])
def test_a_client_in_another_language_uses_the_whole_api(
    language: str, registry: ServerProcess, request: pytest.FixtureRequest
) -> None:
    program: list[str] = request.getfixturevalue(f"{language}_program")
    service = f"{language}-conformance"
    env = {
        **os.environ,
        "REGISTRY_ADDRESS": registry.address,
        "REGISTRY_TOKEN": token(service, PROGRAM_SCOPES),
        "SERVICE_NAME": service,
        "INSTANCE_ID": f"{service}-1",
    }
    lines: list[dict[str, Any]] = []
    proc = subprocess.Popen(program, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _read_step(proc, lines, "ready")
        trace_id = secrets.token_hex(16)
        reply, parent_id = _send_command(registry.address, service, trace_id)
        _read_step(proc, lines, "done")
        command = next(line for line in lines if line["step"] == "command")
        assert proc.wait(20) == 0, proc.stderr and proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert [line["step"] for line in lines] == [
        "registered", "beat", "healthy", "lookup", "event", "ready", "command", "done",
    ]  # fmt: skip
    assert lines[0]["created"] is True
    assert lines[3]["found"] == f"{service}-1"
    assert lines[4]["name"] == f"conformance.{service}.hello"
    assert reply == {key: command[key] for key in reply}, "the reply carries what the handler saw"
    assert reply["language"] == language
    assert reply["verified_sender"] == "py-caller", "the delivery token names the caller"
    assert reply["source_service"] == "py-caller", "the envelope names the caller"
    assert (reply["type"], reply["name"], reply["payload"]) == ("MESSAGE_TYPE_COMMAND", "greet", "hello")
    version, traced, parent, flags = reply["traceparent"].split("-")
    assert (version, traced, flags) == ("00", trace_id, "01"), "a W3C traceparent in the caller's trace"
    assert len(parent) == 16
    assert parent != parent_id, "the registry's forwarding span is the parent"
    assert reply["trace_id"] == trace_id
    assert registry.error_lines() == [], registry.output()


@pytest.mark.timeout(240)  # tsc needs about 4 s of CPU; on two loaded cores that can take a minute
def test_the_typescript_types_check_a_typescript_client(node_program: list[str]) -> None:
    """conformance/node/typed.ts compiles under `tsc --strict` against generated/node's types."""
    folder = ROOT / "conformance" / "node"
    done = subprocess.run(
        ["npm", "run", "--silent", "typecheck"], cwd=folder, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
