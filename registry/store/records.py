"""Reading stored records back strictly: a record that does not decode into a valid value is
refused with `CorruptRecord`, naming the field and the fault, never half-read.

Both stores keep an instance (and an event) as the same record: SQLite as a row, etcd as the JSON
of that row. Either can be damaged outside the registry: a hand edit in `sqlite3` or `etcdctl`, a
restored backup of another version, a disk fault. The stores skip such a record with a WARNING
naming it and serve the rest (docs/operations-store.md "Damaged records"); the data stays where
it is for the operator to inspect, and is replaced only when the instance registers again.
Nothing here judges the API's rules (name patterns, lengths): a record written by an older
release under looser rules still loads.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from typing import Any, TypeVar

E = TypeVar("E", bound=enum.IntEnum)


class CorruptRecord(ValueError):
    """A stored record that cannot be read; the message says which field and why."""


def shown(value: object) -> str:
    """`value` for a log line: quoted, every control, non-ASCII or undecodable character escaped,
    so a damaged name can neither break the line nor the log's encoding."""
    return json.dumps(value, default=repr)


def lenient_text(raw: bytes) -> str:
    """SQLite's text factory while records are read: bytes that are not UTF-8 become lone
    surrogates (checked by `text`) instead of failing the whole query."""
    return raw.decode("utf-8", "surrogateescape")


def _fault(name: str, why: str) -> CorruptRecord:
    return CorruptRecord(f"{name}: {why}")


def text(values: Mapping[str, Any], name: str) -> str:
    value = field(values, name)
    if not isinstance(value, str):
        raise _fault(name, f"expected text, found {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fault(name, "not valid UTF-8") from None
    return value


def integer(values: Mapping[str, Any], name: str) -> int:
    value = field(values, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fault(name, f"expected an integer, found {type(value).__name__}")
    return value


def number(values: Mapping[str, Any], name: str) -> float:
    value = field(values, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fault(name, f"expected a finite number, found {value!r}"[:120])
    return float(value)


def blob(values: Mapping[str, Any], name: str) -> bytes:
    value = field(values, name)
    if not isinstance(value, bytes):
        raise _fault(name, f"expected bytes, found {type(value).__name__}")
    return value


def member(values: Mapping[str, Any], name: str, kind: type[E]) -> E:
    value = integer(values, name)
    try:
        return kind(value)
    except ValueError:
        raise _fault(name, f"{value} is not a {kind.__name__}") from None


def field(values: Mapping[str, Any], name: str) -> Any:
    if not isinstance(values, Mapping):
        raise CorruptRecord(f"expected an object, found {type(values).__name__}")
    if name not in values:
        raise _fault(name, "missing")
    return values[name]


def parsed(values: Mapping[str, Any], name: str) -> Any:
    """The JSON held as text in field `name`."""
    try:
        return json.loads(text(values, name))
    except json.JSONDecodeError as error:
        raise _fault(name, f"not JSON ({error.msg}, character {error.pos})") from None


def json_list(values: Mapping[str, Any], name: str) -> list[Any]:
    value = parsed(values, name)
    if not isinstance(value, list):
        raise _fault(name, f"expected a JSON list, found {type(value).__name__}")
    return value


def text_list(values: Mapping[str, Any], name: str) -> tuple[str, ...]:
    items = json_list(values, name)
    return tuple(text({name: item}, name) for item in items)


def text_map(values: Mapping[str, Any], name: str) -> dict[str, str]:
    value = parsed(values, name)
    if not isinstance(value, dict):
        raise _fault(name, f"expected a JSON object, found {type(value).__name__}")
    return {key: text(value, key) for key in value}


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    """A whole record stored as a JSON object (etcd's values)."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptRecord(f"{what} is not JSON ({error})") from None
    if not isinstance(value, dict):
        raise CorruptRecord(f"{what}: expected a JSON object, found {type(value).__name__}")
    return value
