"""Seconds to and from protobuf's Duration and Timestamp, in one place for the whole SDK.

The SDK speaks seconds as floats (like `asyncio` and `time`); the wire speaks
google.protobuf.Duration and Timestamp. Conversions truncate to whole nanoseconds.
"""

from __future__ import annotations

from google.protobuf import duration_pb2, timestamp_pb2

_NANOS = 1_000_000_000


def seconds(message: duration_pb2.Duration | timestamp_pb2.Timestamp) -> float:
    """A Duration, or a Timestamp as Unix time, in seconds."""
    return message.seconds + message.nanos / _NANOS


def duration(value: float) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromNanoseconds(int(value * _NANOS))
    return message


def timestamp(value: float) -> timestamp_pb2.Timestamp:
    """A Timestamp for Unix time `value`."""
    message = timestamp_pb2.Timestamp()
    message.FromNanoseconds(int(value * _NANOS))
    return message
