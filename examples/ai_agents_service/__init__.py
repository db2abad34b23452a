"""An AI-agents-style service: scores leads on the `analyze` command, announces the result."""
