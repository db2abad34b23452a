"""Benchmarks (not tests): each prints a table comparing our cost with a bare grpc.aio floor."""
