"""The `registry` command: `serve` plus client commands for people at a terminal."""
