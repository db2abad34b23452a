#!/usr/bin/env bash
# `make jaeger`: Jaeger on loopback in the foreground (Ctrl-C stops it), with the instructions.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-jaeger.sh
export JAEGER_OTLP_GRPC_PORT="${JAEGER_OTLP_GRPC_PORT:-4317}" JAEGER_OTLP_HTTP_PORT="${JAEGER_OTLP_HTTP_PORT:-4318}"
export JAEGER_QUERY_HTTP_PORT="${JAEGER_QUERY_HTTP_PORT:-16686}" JAEGER_QUERY_GRPC_PORT="${JAEGER_QUERY_GRPC_PORT:-16685}"
cat <<MSG
Jaeger (in-memory, loopback only):
  OTLP gRPC  127.0.0.1:$JAEGER_OTLP_GRPC_PORT   OTLP HTTP 127.0.0.1:$JAEGER_OTLP_HTTP_PORT
  query API  http://127.0.0.1:$JAEGER_QUERY_HTTP_PORT/api/traces/<trace id>   (services: /api/services)
  This build has no UI (built from the Go module: a placeholder page); read traces through the query API.
Point the registry and the services at it:
  registry serve --otlp-endpoint 127.0.0.1:$JAEGER_OTLP_GRPC_PORT
  export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$JAEGER_OTLP_GRPC_PORT   # your services (OTel SDK)
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$JAEGER_OTLP_GRPC_PORT make demo   # registry + examples
MSG
exec .tools/jaeger --config "$PWD/scripts/jaeger.yaml"
