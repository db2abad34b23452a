#!/usr/bin/env bash
# Check protos/ for breaking changes (buf FILE rules) against a git ref; a ref without protos passes.
set -euo pipefail
buf=$1
ref=$2
if ! git cat-file -e "$ref:protos" 2>/dev/null; then
  echo "breaking: $ref has no protos/, nothing to compare"
  exit 0
fi
"$buf" breaking --against ".git#ref=$ref"
