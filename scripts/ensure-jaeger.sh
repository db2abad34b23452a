#!/usr/bin/env bash
# Jaeger v2 (the OpenTelemetry-Collector-based all-in-one) for `make jaeger` and the trace tests.
#
# Built from source with `go install` the first time (a large program: about 10 minutes on two
# cores with empty Go caches) into a cache outside the work tree, so a fresh clone on the same
# machine finds it; linked into .tools/jaeger. Concurrent runs wait for each other (flock).
set -euo pipefail
VERSION=v1.76.0
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/grpc-service-registry/jaeger-$VERSION"
cd "$(dirname "$0")/.."

if [ ! -x "$CACHE/jaeger" ]; then
  command -v go >/dev/null || { echo "ensure-jaeger: a Go toolchain is needed to build Jaeger" >&2; exit 1; }
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  if [ ! -x "$CACHE/jaeger" ]; then
    echo "ensure-jaeger: building Jaeger $VERSION from source (first time only, several minutes)" >&2
    start=$(date +%s)
    GOBIN="$CACHE" GOFLAGS=-buildvcs=false go install "github.com/jaegertracing/jaeger/cmd/jaeger@$VERSION"
    echo "ensure-jaeger: built in $(( $(date +%s) - start ))s: $CACHE/jaeger" >&2
  fi
fi
mkdir -p .tools
ln -sfn "$CACHE/jaeger" .tools/jaeger
