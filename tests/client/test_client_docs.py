"""docs/client.md's snippets are real code: each compiles, and imports only what the SDK exports."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def test_every_snippet_compiles_and_its_imports_exist() -> None:
    snippets = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(snippets) >= 8
    for snippet in snippets:
        tree = ast.parse(snippet)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name} in docs/client.md"
