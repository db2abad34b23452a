"""What the gRPC adapters share: the mapping of domain errors to statuses (`status`) and how a
servicer offers itself to the server (`binding`).

It sits below both `registry.api` (the servicers) and `registry.auth` (the interceptor), so both can
turn a domain error into the same status without importing each other.
"""
