"""Semantic versions and version constraints, as Lookup filters on them.

An instance version is `MAJOR.MINOR.PATCH` with an optional `-prerelease` (semver 2.0 without
build metadata). It is parsed once, at registration, into a `Version` key whose tuple order is
semver precedence: numbers compare numerically, a prerelease sorts before its release, and
prerelease identifiers compare numeric-before-alphanumeric, field by field.

A constraint is a comma-separated list of clauses that must all hold, each an operator and a
version: `>=1.2,<2`. Versions in a constraint may leave out trailing parts, which count as 0, as
in PEP 440: `==1.2` means `==1.2.0` and `<2` means `<2.0.0`. `~=` is PEP 440's "compatible
release": `~=1.4` means `>=1.4,<2` and `~=1.4.2` means `>=1.4.2,<1.5`. Prereleases take part in
comparisons by plain precedence (`1.0.0-rc.1 < 1.0.0`); there is no npm-style prerelease opt-in.
Lookup parses a constraint at most once per call (and caches the few that clients repeat).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

from registry.core.errors import InvalidArgument

PrereleaseId = tuple[int, int | str]
Version = tuple[int, int, int, int, tuple[PrereleaseId, ...]]
"""(major, minor, patch, 1 for a release or 0 for a prerelease, prerelease identifiers)."""

Clause = tuple[Callable[[Version, Version], bool], Version]
Constraint = tuple[Clause, ...]

# SemVer 2.0.0: numeric identifiers have no leading zeros (`01.2.3` and `1.2.3-01` are not versions);
# an alphanumeric prerelease identifier (one with a letter or '-') may start with zeros.
_NUMBER = r"(?:0|[1-9][0-9]*)"
_IDENTIFIER = rf"(?:{_NUMBER}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_PRERELEASE = rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*"
_VERSION = re.compile(rf"({_NUMBER})\.({_NUMBER})\.({_NUMBER})(?:-({_PRERELEASE}))?", re.ASCII)
_PARTIAL = re.compile(rf"({_NUMBER})(?:\.({_NUMBER}))?(?:\.({_NUMBER}))?(?:-({_PRERELEASE}))?", re.ASCII)
_CLAUSE = re.compile(r"\s*(==|!=|>=|<=|~=|>|<)\s*(\S+?)\s*", re.ASCII)

_OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def _prerelease_key(prerelease: str | None) -> tuple[int, tuple[PrereleaseId, ...]]:
    if prerelease is None:
        return 1, ()
    return 0, tuple((0, int(part)) if part.isdigit() else (1, part) for part in prerelease.split("."))


def parse_version(text: str, field: str) -> Version:
    """The precedence key of a full version; InvalidArgument naming `field` when malformed."""
    match = _VERSION.fullmatch(text)
    if match is None:
        raise InvalidArgument(field, f"{text!r} is not a version like 1.2.3 or 1.2.3-rc.1")
    major, minor, patch, prerelease = match.groups()
    return (int(major), int(minor), int(patch), *_prerelease_key(prerelease))


def _parse_partial(text: str, field: str) -> tuple[Version, int]:
    """A constraint's version, padded with zeros, and how many numeric parts were written."""
    match = _PARTIAL.fullmatch(text)
    if match is None or (match.group(4) is not None and match.group(3) is None):
        raise InvalidArgument(field, f"{text!r} is not a version like 1, 1.2, 1.2.3 or 1.2.3-rc.1")
    major, minor, patch, prerelease = match.groups()
    written = 1 + (minor is not None) + (patch is not None)
    version = (int(major), int(minor or 0), int(patch or 0), *_prerelease_key(prerelease))
    return version, written


def _compatible(version: Version, written: int, text: str, field: str) -> Constraint:
    """`~=`: at least `version`, and the same release series (all but the last written part)."""
    if written < 2:
        raise InvalidArgument(field, f"'~={text}' needs at least MAJOR.MINOR")
    major, minor = version[0], version[1]
    upper: Version = (major + 1, 0, 0, 0, ()) if written == 2 else (major, minor + 1, 0, 0, ())
    # (x, y, 0, 0, ()) sorts below every version of x.y, prereleases included: an empty
    # identifier tuple is the smallest prerelease.
    return ((operator.ge, version), (operator.lt, upper))


def parse_constraint(text: str, field: str) -> Constraint:
    """Parse `>=1.2,<2` into clauses; InvalidArgument naming `field` on any syntax error."""
    clauses: list[Clause] = []
    for raw in text.split(","):
        match = _CLAUSE.fullmatch(raw)
        if match is None:
            raise InvalidArgument(
                field, f"{raw.strip()!r} is not an operator (==, !=, >=, <=, >, <, ~=) and a version"
            )
        op, version_text = match.groups()
        version, written = _parse_partial(version_text, field)
        if op == "~=":
            clauses.extend(_compatible(version, written, version_text, field))
        else:
            clauses.append((_OPERATORS[op], version))
    return tuple(clauses)


def satisfies(version: Version, constraint: Constraint) -> bool:
    return all(test(version, bound) for test, bound in constraint)
