"""The domain: catalog, watch, liveness. No gRPC and no SQL in here."""
