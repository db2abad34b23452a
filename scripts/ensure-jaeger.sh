#!/usr/bin/env bash
# Jaeger v2 (the OpenTelemetry-Collector-based all-in-one) for `make jaeger` and the trace tests.
#
# Built from source the first time (a large program: about 12 minutes on two busy cores with empty
# Go caches) into a cache outside the work tree, so a fresh clone on the same machine finds it;
# linked into .tools/jaeger. Concurrent runs wait for each other (flock).
#
# Not `go install …/cmd/jaeger@VERSION`: Jaeger's go.mod has a replace directive, which `go install
# pkg@version` refuses. So the module is fetched through the Go module proxy (`go mod download`)
# and built inside it as the main module, with its own go.mod and go.sum, as its release does.
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
    source_dir=$(go mod download -json "github.com/jaegertracing/jaeger@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$source_dir" ] || { echo "ensure-jaeger: could not download github.com/jaegertracing/jaeger@$VERSION" >&2; exit 1; }
    (cd "$source_dir" && GOFLAGS="-buildvcs=false -mod=readonly" go build -o "$CACHE/jaeger.tmp" ./cmd/jaeger)
    mv "$CACHE/jaeger.tmp" "$CACHE/jaeger"
    echo "ensure-jaeger: built in $(( $(date +%s) - start ))s: $CACHE/jaeger" >&2
  fi
fi
mkdir -p .tools
ln -sfn "$CACHE/jaeger" .tools/jaeger
