"""The SDK runs without the server package: it imports `generated/` and never `registry/`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, pkgutil, sys

class NoServer:
    def find_spec(self, name, path=None, target=None):
        if name == "registry" or name.startswith("registry."):
            raise ImportError(f"the SDK imported the server package: {name}")
        return None

sys.meta_path.insert(0, NoServer())
import client
for module in pkgutil.walk_packages(client.__path__, "client."):
    importlib.import_module(module.name)
config = client.ClientConfig(registry_url="127.0.0.1:1", service_name="orders", jwt_secret="x" * 32)
client.SyncRegistryClient(config).close()
assert not [m for m in sys.modules if m == "registry" or m.startswith("registry.")]
print("ok", len([m for m in sys.modules if m.startswith("client.")]))
"""


def test_every_client_module_imports_without_the_server_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    status, count = done.stdout.split()
    assert status == "ok"
    assert int(count) >= 15


def test_the_probe_would_catch_a_server_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.replace("import client\n", "import client\nimport registry.config\n")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "the SDK imported the server package: registry" in done.stderr
