"""Shared by the live-source tests (MoldUDP64, SoupBinTCP): the real ITCH fixture and an
independent, test-side reading of its 2-byte length framing to check the receivers against."""

from __future__ import annotations

import itertools

import pytest
from minihft.paths import itch_fixture

FIXTURE = itch_fixture()
needs_fixture = pytest.mark.skipif(not FIXTURE.exists(), reason="real ITCH fixture not available")


def frame_offsets(data: bytes) -> list[int]:
    """Offset of every frame's length prefix, then the end of the data."""
    out, off = [], 0
    while off < len(data):
        out.append(off)
        off += 2 + int.from_bytes(data[off : off + 2], "big")
    return [*out, off]


def frames(data: bytes) -> list[bytes]:
    """Every message payload, without its length prefix."""
    offs = frame_offsets(data)
    return [data[a + 2 : b] for a, b in itertools.pairwise(offs)]
