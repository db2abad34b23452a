"""Keyword parameters declared once, as TypedDicts, for the methods that several facades share.

`RegistryClient`, `SyncRegistryClient` and `Messenger` all offer `register` / `send` / `query` /
`publish` with the same keyword parameters. Each keyword set is one TypedDict, and the facades
take `**options: Unpack[...]` and pass it on, so a parameter is added in one place. Type checkers
check the keywords as before; `check` keeps the runtime error for a misspelt one, since a
`**options` signature would otherwise accept anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def check(options: Mapping[str, Any], spec: Any, method: str) -> None:
    """TypeError (as for any unknown keyword argument) when `options` has a key `spec` lacks."""
    unknown = set(options) - spec.__required_keys__ - spec.__optional_keys__
    if unknown:
        raise TypeError(f"{method}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
