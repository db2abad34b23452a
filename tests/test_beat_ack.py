"""Acks written by hand are byte for byte what the generated classes build and serialize."""

from __future__ import annotations

import itertools
from typing import cast

import pytest
from google.protobuf import timestamp_pb2

from generated.registry.v1 import heartbeat_service_pb2 as pb
from generated.registry.v1 import instance_pb2 as ipb
from registry.wire.beat_ack import AckEncoder
from registry.wire.varint import varint

SEQUENCES = [0, 1, 2, 127, 128, 16_383, 16_384, 2**21, 2**28 - 1, 2**28, 2**35, 2**63 - 1, 2**64 - 1]
TIMES_NS = [
    0,  # seconds 0, nanos 0: an empty Timestamp, still present
    1,  # seconds 0
    999_999_999,
    1_000_000_000,  # nanos 0
    1_700_000_000_000_000_000,
    1_700_000_000_123_456_789,
    253_402_300_799_999_999_999,  # 9999-12-31T23:59:59.999999999Z, the largest Timestamp
    -1_000_000_000,  # before 1970: a negative int64 takes ten bytes
    -1,
]
STATUSES = list(ipb.HealthStatus.values())


def built(sequence: int, time_ns: int, status: int) -> pb.HeartbeatResponse:
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    server_time = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    health = cast(ipb.HealthStatus.ValueType, status)
    ack = pb.BeatAck(sequence=sequence, server_time=server_time, status=health)
    return pb.HeartbeatResponse(ack=ack)


@pytest.mark.parametrize(("sequence", "time_ns"), list(itertools.product(SEQUENCES, TIMES_NS)))
def test_hand_written_acks_are_the_generated_bytes(sequence: int, time_ns: int) -> None:
    encoder = AckEncoder(lambda: time_ns)
    for status in STATUSES:
        expected = built(sequence, time_ns, status)
        data = encoder.ack(sequence, status)
        assert data == expected.SerializeToString()
        parsed = pb.HeartbeatResponse.FromString(data)
        assert parsed == expected
        assert parsed.WhichOneof("kind") == "ack"
        assert parsed.ack.HasField("server_time")


def test_the_cached_seconds_follow_the_clock() -> None:
    times = iter([5_999_999_999, 6_000_000_000, 6_000_000_001, 5_000_000_000])
    encoder = AckEncoder(lambda: next(times))
    for time_ns in [5_999_999_999, 6_000_000_000, 6_000_000_001, 5_000_000_000]:
        assert encoder.ack(7, 2) == built(7, time_ns, 2).SerializeToString()


@pytest.mark.parametrize("value", [1, 127, 128, 300, 2**32, 2**63 - 1, 2**64 - 1, -1, -(2**63)])
def test_varints_are_protobufs(value: int) -> None:
    message = timestamp_pb2.Timestamp(seconds=value) if value < 2**63 else None
    if message is not None:
        assert b"\x08" + varint(value) == message.SerializeToString()
    else:
        assert b"\x08" + varint(value) == pb.BeatAck(sequence=value).SerializeToString()
