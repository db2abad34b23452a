"""The registry-wide revision counter, reserved in blocks so it is never reused, even across a crash.

A hi-lo allocator: the counter starts at the store's revision ceiling (the highest revision that
may have been handed out before), and the ceiling is raised a whole block ahead of use, so the
counter itself is never written per change. A registration waits for a reservation when the block
is used up (`exhausted_by`); a status change cannot wait, so the next reservation is asked for once
half of the block is used (`reservation_due`), far ahead of any realistic burst.
"""

from __future__ import annotations

REVISION_BLOCK = 100_000
"""Revisions reserved per write of the revision ceiling."""


class Revisions:
    """The counter (`current`) and how far it is durably reserved (`durable_ceiling`)."""

    __slots__ = ("block", "current", "durable_ceiling")

    def __init__(self, block: int = REVISION_BLOCK) -> None:
        self.block = block
        self.current = 0
        self.durable_ceiling = 0

    def start_at(self, ceiling: int) -> None:
        """Continue above anything a previous run may have handed out."""
        self.current = self.durable_ceiling = ceiling

    def next(self) -> int:
        self.current += 1
        return self.current

    def exhausted_by(self, count: int) -> bool:
        """Handing out `count` more would pass the reservation: reserve first."""
        return self.current + count >= self.durable_ceiling

    @property
    def reservation_due(self) -> bool:
        return self.durable_ceiling - self.current <= self.block // 2

    def ceiling_to_write(self) -> int:
        """The ceiling the next store write should carry: raised a block ahead when due."""
        return self.current + self.block if self.reservation_due else self.durable_ceiling

    def reserved(self, ceiling: int) -> None:
        """The store holds `ceiling` now."""
        self.durable_ceiling = ceiling
