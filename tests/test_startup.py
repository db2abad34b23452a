"""`registry serve` refusing to start: one line naming the file and the cause, exit status 2, and
nothing written to the data directory. Also: one process per database, and private file modes."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest

from generated.registry.v1 import instance_pb2, registry_service_pb2, registry_service_pb2_grpc
from tests.helpers.process import running_server


def _serve(db: Path, *, prefix: Sequence[str] = (), auth: str = "jwt") -> subprocess.CompletedProcess[str]:
    """Run `registry serve` to completion (these all fail fast) and capture what it says."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "registry.cli.main", "serve", "--port", "0", "--db-path", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "REGISTRY_AUTH_MODE": auth},
    )


def _assert_refused(result: subprocess.CompletedProcess[str], db: Path, cause: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback, no log lines
    assert str(db) in lines[0]
    assert cause in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def _register(address: str, instance_id: str) -> None:
    with grpc.insecure_channel(address) as ch:
        registry_service_pb2_grpc.RegistryServiceStub(ch).Register(
            registry_service_pb2.RegisterRequest(
                instance=instance_pb2.Instance(
                    service_name="orders",
                    instance_id=instance_id,
                    endpoints=[
                        instance_pb2.Endpoint(
                            host="10.0.0.1", port=9000, protocol=instance_pb2.ENDPOINT_PROTOCOL_GRPC
                        )
                    ],
                    version="1.0.0",
                )
            ),
            timeout=5,
        )


def test_a_second_registry_on_the_same_database_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    with running_server(db) as first:
        _register(first.address, "orders-1")
        second = _serve(db, auth="off")
        _assert_refused(second, db, "another registry process is using this database")
        _register(first.address, "orders-2")  # the first one serves on, undisturbed
        assert first.proc.poll() is None
        first.kill()  # the kernel drops the lock with the process: no stale lock to clean up
    with running_server(db) as again, grpc.insecure_channel(again.address) as ch:
        listed = registry_service_pb2_grpc.RegistryServiceStub(ch).ListInstances(
            registry_service_pb2.ListInstancesRequest(), timeout=5
        )
    assert sorted(i.instance_id for i in listed.instances) == ["orders-1", "orders-2"]


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        (b"this is not a database\n" * 10, "not a SQLite database"),
        (None, "malformed"),  # a real database cut short
    ],
    ids=["not-sqlite", "truncated"],
)
def test_a_broken_database_is_one_line_and_writes_nothing(
    tmp_path: Path, content: bytes | None, cause: str
) -> None:
    db = tmp_path / "data" / "registry.db"
    db.parent.mkdir()
    if content is None:
        with running_server(db) as server:
            _register(server.address, "orders-1")
            server.terminate()
        whole = db.read_bytes()
        shutil.rmtree(db.parent)
        db.parent.mkdir()
        content = whole[:100]  # header intact, pages gone
    db.write_bytes(content)
    result = _serve(db)
    _assert_refused(result, db, cause)
    assert sorted(p.name for p in db.parent.iterdir()) == ["registry.db"]  # no secret, no key


def _without_root_override() -> list[str]:
    """Root ignores file modes; drop that capability so a read-only folder is read-only."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    # util-linux's setpriv is on every Debian machine; without it this test cannot make its point.
    assert setpriv is not None, "running as root needs setpriv (util-linux) to make a folder read-only"
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("existing", ["nothing", "database-and-secret"])
def test_a_read_only_data_directory_is_one_line_and_writes_nothing(tmp_path: Path, existing: str) -> None:
    data = tmp_path / "data"
    db = data / "registry.db"
    data.mkdir()
    if existing != "nothing":
        with running_server(db, env={"REGISTRY_AUTH_MODE": "jwt"}) as server:
            server.terminate()
        assert (data / "jwt-secret").exists()
    before = sorted(p.name for p in data.iterdir())
    data.chmod(0o555)
    try:
        result = _serve(db, prefix=_without_root_override())
    finally:
        data.chmod(0o700)
    _assert_refused(result, db, "not writable" if existing != "nothing" else "permission denied")
    assert sorted(p.name for p in data.iterdir()) == before


def test_the_database_and_its_journal_are_private(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    old_umask = os.umask(0o022)
    try:
        with running_server(db) as server:
            _register(server.address, "orders-1")
            files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("registry.db*")}
    finally:
        os.umask(old_umask)
    assert set(files) >= {"registry.db", "registry.db-wal", "registry.db-shm"}
    assert files == dict.fromkeys(files, 0o600)
