"""A beat's ack as bytes, written by hand: no message built and serialized per beat.

Every beat is answered with `HeartbeatResponse{ack: BeatAck{sequence, server_time, status}}`.
Building that message (three objects, a Timestamp among them) and letting grpc serialize it cost
more than the rest of the ack's path; its wire form is a handful of bytes that vary only in
the sequence, the time and the status. So the Heartbeat method is registered with a response
serializer that passes bytes through (`registry.wire.preencoded`), and the ack is written here:

    HeartbeatResponse.ack (field 2, length-delimited)
      BeatAck.sequence    (field 1, varint; left out when 0, as proto3 does)
      BeatAck.server_time (field 2, length-delimited, always present, possibly empty)
        Timestamp.seconds (field 1, varint; left out when 0)
        Timestamp.nanos   (field 2, varint; left out when 0)
      BeatAck.status      (field 3, varint; left out when 0)

`tests/test_beat_ack.py` checks the bytes parse to exactly the message the generated classes
build, and are the bytes those classes serialize, for edge values and every status.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from registry.wire.varint import SMALL as _SMALL
from registry.wire.varint import varint

_NANOS = 1_000_000_000


def _field(tag: bytes, value: int) -> bytes:
    return tag + varint(value) if value else b""


class AckEncoder:
    """Acks stamped with the current time. The seconds' bytes change once a second and are kept."""

    __slots__ = ("_clock", "_second", "_seconds_field")

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        """`clock_ns`: Unix time in nanoseconds (tests pass their own)."""
        self._clock = clock_ns
        self._second: int | None = None
        self._seconds_field = b""

    def ack(self, sequence: int, status: int) -> bytes:
        """The serialized ack of beat `sequence` (a uint64), server_time now, `status` after the
        beat (a HealthStatus value, below 128)."""
        second, nanos = divmod(self._clock(), _NANOS)
        if second != self._second:
            self._second, self._seconds_field = second, _field(b"\x08", second)
        timestamp = self._seconds_field + (b"\x10" + varint(nanos) if nanos else b"")
        body = (
            (b"\x08" + varint(sequence) if sequence else b"")
            + b"\x12"
            + _SMALL[len(timestamp)]
            + timestamp
            + (b"\x18" + _SMALL[status] if status else b"")
        )
        return b"\x12" + _SMALL[len(body)] + body
