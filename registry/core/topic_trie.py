"""AMQP topic patterns in a trie, matched segment by segment: no regular expression, no backtracking.

Topic patterns (`*` is exactly one dot-separated segment, `#` zero or more) used to become regular
expressions, where each `#` was `(?:\\.[^.]+)*`. A pattern with many `#` then backtracks
exponentially on a topic that almost matches: one subscription to `evil.#.#.#.#.#.#.#.#.#.#.#.#.zz`
froze the event loop for seconds per publish. Here the patterns are the edges of a trie and a
topic is run through it as a set of states (a Thompson-style NFA simulation): each segment of the
topic moves every live node along its literal child, its `*` child, or keeps it on a `#` node, and
each node is kept at most once per step. So matching costs at most (topic segments) x (trie
nodes) steps, linear in the topic's length whatever the patterns, and adding a subscriber adds
at most its pattern's segments to the trie.

The same trie serves one filter (a handful of patterns) and the event bus's index of every live
subscriber (all their patterns at once), so fan-out visits the subscribers whose patterns can
match instead of testing every subscriber against every event.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V", bound=Hashable)

_ONE = "*"
_ANY = "#"


class _Node(Generic[V]):
    __slots__ = ("children", "is_any", "values")

    def __init__(self, is_any: bool = False) -> None:
        self.children: dict[str, _Node[V]] = {}
        """Literal segments, and `*` and `#` under those keys (neither is a valid literal)."""
        self.values: set[V] = set()
        """Values whose pattern ends here."""
        self.is_any = is_any
        """Reached by a `#` edge: may consume any number of further segments."""


class TopicTrie(Generic[V]):
    """Patterns, each holding values; `match` finds the values of every pattern a topic matches."""

    def __init__(self) -> None:
        self._root: _Node[V] = _Node()
        self.steps = 0
        """Node visits made by every `match` so far: what a test bounds to prove matching linear."""

    def add(self, pattern: str, value: V) -> None:
        node = self._root
        for segment in _segments(pattern):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _Node(is_any=segment == _ANY)
            node = child
        node.values.add(value)

    def remove(self, pattern: str, value: V) -> None:
        """Forget `value` under `pattern`, pruning nodes left empty. Absent ones are ignored."""
        path = [self._root]
        segments = _segments(pattern)
        for segment in segments:
            child = path[-1].children.get(segment)
            if child is None:
                return
            path.append(child)
        path[-1].values.discard(value)
        for depth in range(len(segments), 0, -1):
            node = path[depth]
            if node.values or node.children:
                break
            del path[depth - 1].children[segments[depth - 1]]

    def __bool__(self) -> bool:
        return bool(self._root.children)

    def match(self, topic: str) -> set[V]:
        """Values of every pattern matching `topic` (a dot-separated name, no wildcards)."""
        found: set[V] = set()
        for node in self._final_states(topic):
            found |= node.values
        return found

    def matches_any(self, topic: str) -> bool:
        """Whether any pattern holding a value matches `topic`."""
        return any(node.values for node in self._final_states(topic))

    def _final_states(self, topic: str) -> list[_Node[V]]:
        states = _closure([self._root])
        steps = 0
        for segment in topic.split("."):
            steps += len(states)
            following: list[_Node[V]] = []
            for node in states:
                children = node.children
                if children:
                    child = children.get(segment)
                    if child is not None:
                        following.append(child)
                    child = children.get(_ONE)
                    if child is not None:
                        following.append(child)
                if node.is_any:
                    following.append(node)  # `#` consumes this segment and stays
            if not following:
                states = following
                break
            states = _closure(following)
        self.steps += steps
        return states


def _segments(pattern: str) -> list[str]:
    """The pattern's segments with each run of `#` made one: `a.#.#.b` matches exactly what
    `a.#.b` matches, and one node per run keeps the set of live states small."""
    segments: list[str] = []
    for segment in pattern.split("."):
        if segment != _ANY or not segments or segments[-1] != _ANY:
            segments.append(segment)
    return segments


def _closure(nodes: list[_Node[V]]) -> list[_Node[V]]:
    """`nodes`, each once, plus every `#` node reachable from them without consuming a segment
    (a `#` may match zero segments, so `a.#.#.b` reaches `b` from `a` directly)."""
    if len(nodes) == 1 and _ANY not in nodes[0].children:
        return nodes  # the common case: one live state, no `#` to enter
    seen: dict[int, _Node[V]] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        hashed = node.children.get(_ANY)
        if hashed is not None:
            stack.append(hashed)
    return list(seen.values())
