"""Real etcd members on free loopback ports with their own data directories, for tests and
`make cluster` (scripts/cluster.py).

etcd is Debian's `etcd-server` (/usr/bin/etcd); `scripts/ensure_etcd.sh` installs it when missing.
Members run with short heartbeat and election timeouts (50 ms / 500 ms) so a lost leader is
replaced within a second, and keep their data on tmpfs when the machine has one: the tests measure
the registry, not this machine's fsync.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class ClientTls:
    """TLS on a member's client port: its certificate and key, the CA whose client certificates it
    requires (etcd's `--client-cert-auth`), and a client pair for the harness's own health checks."""

    ca: Path
    cert: Path
    key: Path
    client_cert: Path
    client_key: Path

    def flags(self) -> list[str]:
        return [
            f"--cert-file={self.cert}",
            f"--key-file={self.key}",
            f"--trusted-ca-file={self.ca}",
            "--client-cert-auth",
        ]

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(self.client_cert, self.client_key)
        return context


class Member:
    def __init__(
        self, name: str, client_port: int, peer_port: int, data_dir: Path, tls: ClientTls | None = None
    ) -> None:
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def client_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"

    def start(self, initial_cluster: str, state: str = "new") -> None:
        log = (self.data_dir.parent / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [
                ETCD,
                "--name",
                self.name,
                "--data-dir",
                str(self.data_dir),
                "--listen-client-urls",
                self.client_url,
                "--advertise-client-urls",
                self.client_url,
                "--listen-peer-urls",
                self.peer_url,
                "--initial-advertise-peer-urls",
                self.peer_url,
                "--initial-cluster",
                initial_cluster,
                "--initial-cluster-state",
                state,
                "--initial-cluster-token",
                f"registry-test-{os.getpid()}",
                "--heartbeat-interval",
                "50",
                "--election-timeout",
                "500",
                "--log-level",
                "warn",
                *(self.tls.flags() if self.tls else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def healthy(self) -> bool:
        try:
            context = self.tls.context() if self.tls else None
            with urllib.request.urlopen(f"{self.client_url}/health", timeout=0.5, context=context) as answer:
                return b'"health":"true"' in answer.read()
        except OSError:
            return False

    def signal(self, sig: signal.Signals, timeout: float = 10) -> None:
        """Send `sig` to the running member; a SIGSTOP returns only once every thread of it has
        stopped.

        kill(2) only queues a stop: the other threads of a Go process run on until the one the
        kernel picked is scheduled and stops the group. On a loaded machine that took long enough
        for a stopped leader to commit a write sent right after the kill, so a test that "stopped
        two of three members" saw the write acknowledged."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"etcd {self.name} is not running: {sig.name} would reach nothing")
        self.proc.send_signal(sig)
        if sig != signal.SIGSTOP:
            return
        deadline = time.monotonic() + timeout
        while not self.stopped():
            if time.monotonic() > deadline:
                raise TimeoutError(f"etcd {self.name} did not stop within {timeout} s")
            time.sleep(0.001)

    def stopped(self) -> bool:
        """Whether every thread of the member is in the stopped state (`T` in /proc)."""
        assert self.proc is not None
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that has just ended
                stat = (task / "stat").read_text()
                if stat[stat.rindex(")") + 2] != "T":
                    return False
        return True

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


class EtcdCluster:
    """`size` members; `endpoints` is the comma-separated list a registry takes."""

    def __init__(self, size: int, root: Path, tls: ClientTls | None = None) -> None:
        self.root = root
        self.members = [
            Member(f"m{i}", free_port(), free_port(), root / f"m{i}.etcd", tls) for i in range(size)
        ]
        self.initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    @property
    def endpoints(self) -> str:
        return ",".join(m.endpoint for m in self.members)

    def start(self, timeout: float = 30) -> None:
        for member in self.members:
            member.start(self.initial_cluster)
        self.wait_healthy(self.members, timeout)

    def wait_healthy(self, members: list[Member], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not all(m.healthy() for m in members):
            for member in members:
                if member.proc is not None and member.proc.poll() is not None:
                    raise RuntimeError(f"etcd {member.name} exited: {self.log(member)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"etcd did not become healthy: {[self.log(m) for m in members]}")
            time.sleep(0.05)

    def restart(self, member: Member, timeout: float = 30) -> None:
        """Start a stopped member again on its old data directory; returns once every member
        answers healthy (it has rejoined and the cluster has a leader), so the next test starts
        on the whole cluster."""
        member.start(self.initial_cluster, state="existing")
        self.wait_healthy(self.members, timeout)

    def log(self, member: Member) -> str:
        path = self.root / f"{member.name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        for member in self.members:
            member.kill()


def _scratch() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="registry-etcd-", dir=base))


@contextlib.contextmanager
def etcd_cluster(size: int, tls: ClientTls | None = None) -> Iterator[EtcdCluster]:
    """A started cluster of `size` members (TLS on their client ports with `tls`), stopped and
    removed on exit."""
    root = _scratch()
    cluster = EtcdCluster(size, root, tls)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
