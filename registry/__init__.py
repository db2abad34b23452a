"""The registry server: thin gRPC servicers over a domain core over a store interface."""
