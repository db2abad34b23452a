"""The operator console: a web page served by the registry on its own HTTP port.

An api-layer adapter like the gRPC servicers: HTTP and JSON on one side, calls into the core
(catalog, liveness, event bus) on the other, never the store. Modules:

- `server.py`: the aiohttp application, its routes, and start/stop beside the gRPC server;
- `access.py`: bearer tokens checked with the gRPC interceptor's verifier and rules;
- `push.py`: Server-Sent Events with a write deadline, and the per-caller stream limits;
- `fleet.py`: the fleet feed (a catalog watch per open page) and the liveness summary;
- `encode.py`: domain values as the JSON the page reads;
- `graph.py`: the core's dependency graph and its analyses as the page draws them;
- `static/`: the page, built from `web/console/` by `make console-assets` (committed, stale-checked).

docs/console.md describes what an operator sees and how tokens are kept out of URLs and logs.
"""
