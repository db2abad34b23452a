#!/bin/sh
# The real renderers the dependency-graph export tests feed: Graphviz `dot` and Chromium (Debian
# packages, installed only when missing) and, from tools/graph-render/package-lock.json, the Mermaid
# CLI and cytoscape.js (`npm ci`, re-run only when the lock file changes; npm's cache in $HOME
# makes a fresh clone's install quick). Puppeteer's own browser download is skipped: the Mermaid
# CLI runs on the system Chromium (tools/graph-render/puppeteer.json).
set -eu
cd "$(dirname "$0")/../tools/graph-render"
missing=""
command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing
fi
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    PUPPETEER_SKIP_DOWNLOAD=1 npm ci --silent --no-audit --no-fund
fi
