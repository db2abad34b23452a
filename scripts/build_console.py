"""Build the console's script from `web/console/` with esbuild: `python scripts/build_console.py`.

The bundle (`registry/api/console/static/console.js`, Cytoscape.js included) is committed, so a
fresh clone's `make run` and a plain `pip install` serve the console without npm. With `--check`,
build into a temporary file and fail when it differs from the committed one (part of
`make check-generated`), so a change to `web/console/src/` cannot land without its bundle.
Versions are pinned in `web/console/package-lock.json`, and esbuild's output is deterministic
for a given version and input.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web" / "console"
ESBUILD = WEB / "node_modules" / ".bin" / "esbuild"
OUT = ROOT / "registry" / "api" / "console" / "static" / "console.js"


def build(target: Path) -> None:
    subprocess.run(
        [
            str(ESBUILD),
            "src/main.js",
            "--bundle",
            "--minify",
            "--format=iife",
            "--target=es2020",
            "--legal-comments=none",
            "--log-level=warning",
            f"--outfile={target}",
        ],
        check=True,
        cwd=WEB,
    )


def main(argv: list[str]) -> int:
    if not ESBUILD.exists():
        print(f"{ESBUILD.relative_to(ROOT)} is missing: run `make tools`", file=sys.stderr)
        return 2
    if "--check" not in argv:
        build(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "console.js"
        build(fresh)
        if fresh.read_bytes() != OUT.read_bytes():
            print(f"{OUT.relative_to(ROOT)} is stale: run `make generate` and commit it", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
