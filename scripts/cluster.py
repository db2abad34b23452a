"""`make cluster`: three etcd members and three registry replicas on loopback, until Ctrl-C.

Ports: etcd clients on 2379, 22379, 32379 and replicas on 50051, 50052, 50053 when free (another
free port otherwise; every address is printed). State lives in a temporary folder removed at exit:
this is for trying cluster mode, not for running it (docs/cluster.md says how to run it). All
replicas share one HS256 secret file, printed with the command that mints a token for them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from registry.auth.keys import create_secret_file  # noqa: E402
from tests.helpers.etcd import EtcdCluster, free_port  # noqa: E402

ETCD_PORTS = [(2379, 2380), (22379, 22380), (32379, 32380)]
REPLICA_PORTS = [50051, 50052, 50053]


def port_or_free(port: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in (path.read_text(errors="replace") if path.exists() else ""):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"a replica did not start; its log:\n{path.read_text(errors='replace')}")
        time.sleep(0.05)


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="registry-cluster-"))
    etcd = EtcdCluster(3, root)
    for member, (client, peer) in zip(etcd.members, ETCD_PORTS, strict=True):
        member.client_port, member.peer_port = port_or_free(client), port_or_free(peer)
    etcd.initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in etcd.members)
    secret = root / "jwt-secret"
    create_secret_file(secret)
    replicas: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        etcd.start()
        for index, wanted in enumerate(REPLICA_PORTS):
            port = port_or_free(wanted)
            data = root / f"replica-{index}"
            data.mkdir()
            log = data / "registry.log"
            with log.open("wb") as sink:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "registry.cli.main",
                        "serve",
                        "--store",
                        "etcd",
                        "--etcd-endpoints",
                        etcd.endpoints,
                        "--replica-id",
                        f"replica-{index}",
                        "--port",
                        str(port),
                        "--db-path",
                        str(data / "registry.db"),
                        "--jwt-secret-file",
                        str(secret),
                    ],
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            replicas.append((f"127.0.0.1:{port}", proc))
            wait_for(log, "registry serving", proc)
        urls = ",".join(address for address, _ in replicas)
        print(f"etcd members:      {etcd.endpoints}")
        for address, proc in replicas:
            print(f"registry replica:  {address}  (pid {proc.pid})")
        print(f"logs and data:     {root}")
        print(f"\nexport REGISTRY_URL={urls}")
        print(f"export REGISTRY_ADDRESS={urls}")
        print(f"export JWT_SECRET_FILE={secret}")
        print(
            f"token: .venv/bin/registry token create --service NAME --scope discover --secret-file {secret}"
        )
        print("\nCtrl-C stops everything.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        for _, proc in replicas:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in replicas:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        etcd.stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)
        print("cluster stopped")
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
