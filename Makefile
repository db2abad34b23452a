# The front door. `make run` and `make test` each set everything up from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf
PROTO_LOADER_VERSION := 0.8.1
PROTO_LOADER_GEN := .tools/node_modules/.bin/proto-loader-gen-types
STAMP := $(VENV)/.installed

.PHONY: run test install tools graph-tools generate check-generated lint typecheck format breaking bench demo clean jaeger jaeger-build

run: install  ## Start the registry on 127.0.0.1:50051 with ./registry.db
	$(VENV)/bin/registry serve

test: install tools jaeger-build check-generated lint typecheck  ## Everything CI checks, then the whole suite
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(PY) -m pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

tools: $(BUF) $(PROTO_LOADER_GEN) graph-tools

graph-tools:  ## Graphviz, Chromium, the Mermaid CLI and cytoscape.js for the graph export tests
	scripts/install_graph_tools.sh

$(BUF) $(PROTO_LOADER_GEN):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION) @grpc/proto-loader@$(PROTO_LOADER_VERSION)

generate: install tools  ## Regenerate generated/ (Python, generated/go, generated/node) from protos/
	$(PY) scripts/generate.py

check-generated: install tools  ## Fail when generated/ (any language) is stale or the protos break lint
	$(BUF) lint
	$(PY) scripts/generate.py --check

breaking: tools  ## Compare protos with a git ref (default: the previous commit)
	scripts/check_breaking.sh $(BUF) $(or $(AGAINST),HEAD~1)

lint: install  ## ruff, and the one-way layer contracts (import-linter, [tool.importlinter] in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy

bench: install  ## Benchmarks (not part of the suite; several minutes)
	$(PY) -m bench.lookup
	$(PY) -m bench.heartbeats
	$(PY) -m bench.relay
	$(PY) -m bench.metrics

jaeger-build:  ## Build Jaeger v2 once into ~/.cache (go install, ~12 min the first time) and link .tools/jaeger
	scripts/ensure-jaeger.sh

jaeger: jaeger-build  ## Jaeger (in-memory) on 127.0.0.1: OTLP 4317/4318, query API 16686; Ctrl-C stops it
	scripts/run-jaeger.sh

demo: install  ## A registry and the two example services, printing the flow with trace ids
	$(PY) -m examples.demo

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
