"""The Go load generator (bench/loadgen), built once per source version into the cache the
project's other Go tools use (`$XDG_CACHE_HOME/grpc-service-registry/`, outside the work tree, so
a fresh clone on the same machine finds it).

    python3 -m bench.loadgen_build        # build if missing, print the binary's path (`make loadgen`)

The binary is named by a hash of its sources (bench/loadgen and the generated Go stubs it
imports), so an edit rebuilds it and nothing stale is ever run. Concurrent builds wait for each
other (flock). Module versions are those conformance/go pins, which the module cache already holds.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "loadgen"
_INPUTS = (SOURCE, ROOT / "generated" / "go")


def source_hash() -> str:
    digest = hashlib.sha256()
    for folder in _INPUTS:
        for path in sorted(
            p for p in folder.rglob("*") if p.is_file() and p.suffix in {".go", ".mod", ".sum"}
        ):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grpc-service-registry" / "loadgen"


def loadgen() -> Path:
    """The binary for the current sources, built first if missing."""
    binary = cache_dir() / f"loadgen-{source_hash()}"
    if binary.exists():
        return binary
    if not shutil.which("go"):
        raise RuntimeError("a Go toolchain is needed to build the load generator (bench/loadgen)")
    binary.parent.mkdir(parents=True, exist_ok=True)
    with (binary.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            partial = binary.with_suffix(".tmp")
            env = {**os.environ, "GOFLAGS": "-mod=mod -buildvcs=false"}
            subprocess.run(["go", "build", "-o", str(partial), "."], cwd=SOURCE, env=env, check=True)
            partial.rename(binary)
    return binary


if __name__ == "__main__":
    print(loadgen())
