"""Example services that talk to each other only through the registry (run `make demo`)."""
