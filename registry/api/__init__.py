"""Thin gRPC servicers: proto <-> domain conversion and nothing else."""
