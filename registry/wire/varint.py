"""Protobuf base-128 varints, for the responses the registry writes as bytes by hand (beat acks,
cached Lookup and Register answers)."""

from __future__ import annotations

SMALL = [bytes((n,)) for n in range(0x80)]
UINT64 = 1 << 64


def varint(value: int) -> bytes:
    """`value` (an int64 or uint64) as a protobuf varint; negatives take ten bytes, as int64 does."""
    if value < 0x80:
        if value >= 0:
            return SMALL[value]
        value += UINT64
    if value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    if value < 0x200000:
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14))
    if value < 0x10000000:
        return bytes((value & 0x7F | 0x80, value >> 7 & 0x7F | 0x80, value >> 14 & 0x7F | 0x80, value >> 21))
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
