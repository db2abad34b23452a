# The front door. `make run` and `make test` each set everything up from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF_VERSION := 1.75.0
BUF := .tools/node_modules/.bin/buf
ESBUILD := web/console/node_modules/.bin/esbuild
PROTO_LOADER_VERSION := 0.8.1
PROTO_LOADER_GEN := .tools/node_modules/.bin/proto-loader-gen-types
STAMP := $(VENV)/.installed

.PHONY: run console test browser install tools graph-tools etcd cluster generate check-generated lint typecheck format breaking bench demo fuzz clean jaeger jaeger-build loadgen

run: install  ## Start the registry on 127.0.0.1:50051 with ./registry.db
	$(VENV)/bin/registry serve

console: install  ## The registry with its web console on http://127.0.0.1:8080/ (see docs/console.md)
	$(VENV)/bin/registry serve --console-address 127.0.0.1:8080

test: install tools browser etcd jaeger-build check-generated lint typecheck  ## Everything CI checks, then the whole suite
	PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/.tools/node_modules/.bin:$$PATH" $(PY) -m pytest \
		--cov=registry --cov=client --cov-report=term

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

tools: $(BUF) $(PROTO_LOADER_GEN) $(ESBUILD) graph-tools

graph-tools:  ## Graphviz, Chromium, the Mermaid CLI and cytoscape.js for the graph export tests
	scripts/install_graph_tools.sh

etcd:  ## Install etcd (Debian etcd-server) when missing: the cluster tests and `make cluster` use it
	scripts/ensure_etcd.sh

cluster: install etcd  ## Three etcd members and three registry replicas on loopback; Ctrl-C stops all
	$(PY) scripts/cluster.py

$(ESBUILD): web/console/package.json web/console/package-lock.json
	npm ci --silent --no-audit --no-fund --prefix web/console
	touch $@

browser:  ## Debian's Chromium for the console's browser tests (Playwright drives it; no browser download)
	@command -v chromium >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq && \
		apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium; }

$(BUF) $(PROTO_LOADER_GEN):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@$(BUF_VERSION) @grpc/proto-loader@$(PROTO_LOADER_VERSION)

generate: install tools  ## Regenerate generated/ (Python, generated/go, generated/node) from protos/, and the console script
	$(PY) scripts/generate.py
	$(PY) scripts/build_console.py

check-generated: install tools  ## Fail when generated/ (any language) is stale or the protos break lint
	$(BUF) lint
	$(PY) scripts/generate.py --check
	$(PY) scripts/build_console.py --check

breaking: tools  ## Compare protos with a git ref (default: the previous commit)
	scripts/check_breaking.sh $(BUF) $(or $(AGAINST),HEAD~1)

lint: install  ## ruff, and the one-way layer contracts (import-linter, [tool.importlinter] in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo --no-cache
	@test -z "$$(gofmt -l bench/loadgen)" || { echo "gofmt wants to change:"; gofmt -l bench/loadgen; exit 1; }

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy

loadgen:  ## Build the Go load generator (bench/loadgen) once into ~/.cache; the benchmarks build it when missing
	$(PYTHON) -m bench.loadgen_build

bench: install  ## Benchmarks (not part of the suite; several minutes)
	$(PY) -m bench.lookup
	$(PY) -m bench.heartbeats
	$(PY) -m bench.registrations
	$(PY) -m bench.relay
	$(PY) -m bench.metrics

fuzz: install  ## The property-based suites, FUZZ times longer than in `make test` and random (default 25)
	REGISTRY_FUZZ=$(or $(FUZZ),25) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest --timeout 3600 \
		tests/fuzz tests/auth/test_auth_credentials.py::test_no_token_signed_with_a_key_speaks_beyond_it

jaeger-build:  ## Build Jaeger v2 once into ~/.cache (go build, ~12 min the first time) and link .tools/jaeger
	scripts/ensure-jaeger.sh

jaeger: jaeger-build  ## Jaeger (in-memory) on 127.0.0.1: OTLP 4317/4318, query API 16686; Ctrl-C stops it
	scripts/run-jaeger.sh

demo: install  ## A registry and the two example services, printing the flow with trace ids
	$(PY) -m examples.demo

clean:
	rm -rf $(VENV) .tools web/console/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
