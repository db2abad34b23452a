"""Version constraints for filtering cached instances, with the registry's Lookup semantics.

The client filters its watch cache itself (no RPC per resolve), so it needs the same rules the
registry applies to `LookupRequest.version_constraint`: semver 2.0 versions without build metadata,
comma-separated clauses that must all hold (`>=1.2,<2`), missing trailing parts count as 0, and
`~=` is PEP 440's compatible release (`~=1.4` is `>=1.4,<2`, `~=1.4.2` is `>=1.4.2,<1.5`). The SDK
may not import the server package, so this is a second implementation; a test compares the two
on a table of cases so they cannot drift apart.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import lru_cache

from client.errors import InvalidArgumentError

Version = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]
"""(major, minor, patch, 1 for a release or 0 for a prerelease, prerelease identifiers): sorts in
semver precedence."""
Constraint = tuple[tuple[Callable[[Version, Version], bool], Version], ...]

_PRE = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(rf"([0-9]+)\.([0-9]+)\.([0-9]+)(?:-({_PRE}))?", re.ASCII)
_PARTIAL = re.compile(rf"([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-({_PRE}))?", re.ASCII)
_CLAUSE = re.compile(r"\s*(==|!=|>=|<=|~=|>|<)\s*(\S+?)\s*", re.ASCII)
_OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def _key(major: str, minor: str | None, patch: str | None, pre: str | None) -> Version:
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")) if pre is not None else ()
    return (int(major), int(minor or 0), int(patch or 0), 0 if pre is not None else 1, ids)


@lru_cache(maxsize=1024)
def parse_version(text: str) -> Version | None:
    """The precedence key of `1.2.3[-pre]`, or None when `text` is not such a version."""
    match = _VERSION.fullmatch(text)
    return _key(*match.groups()) if match else None


@lru_cache(maxsize=256)
def parse_constraint(text: str) -> Constraint:
    """Parse `>=1.2,<2`; `InvalidArgumentError` on bad syntax, as the registry would answer."""
    clauses: list[tuple[Callable[[Version, Version], bool], Version]] = []
    for raw in text.split(","):
        clause = _CLAUSE.fullmatch(raw)
        partial = _PARTIAL.fullmatch(clause.group(2)) if clause else None
        if clause is None or partial is None or (partial.group(4) is not None and partial.group(3) is None):
            raise InvalidArgumentError(
                f"version_constraint: {raw.strip()!r} is not an operator and a version"
            )
        op = clause.group(1)
        major, minor, patch, pre = partial.groups()
        version = _key(major, minor, patch, pre)
        if op != "~=":
            clauses.append((_OPERATORS[op], version))
            continue
        if minor is None:
            raise InvalidArgumentError(
                f"version_constraint: '~={clause.group(2)}' needs at least MAJOR.MINOR"
            )
        upper: Version = (
            (version[0] + 1, 0, 0, 0, ()) if patch is None else (version[0], version[1] + 1, 0, 0, ())
        )
        clauses.extend(((operator.ge, version), (operator.lt, upper)))
    return tuple(clauses)


def satisfies(version_text: str, constraint: Constraint) -> bool:
    """Whether an instance's version meets every clause (an instance without a version never does)."""
    version = parse_version(version_text)
    return version is not None and all(test(version, bound) for test, bound in constraint)
