"""ITCH over MoldUDP64 on real UDP sockets (127.0.0.1 and multicast on loopback)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from live_itch import frames, needs_fixture
from minihft.marketdata.live import (
    Batch,
    EventKind,
    MoldUdp64Receiver,
    MoldUdp64Replayer,
)

pytestmark = needs_fixture


def replay(
    data: bytes, group: str = "", port: int = 0, timeout_s: float = 10.0, **kw: Any
) -> tuple[Batch, dict[str, int], dict[str, int]]:
    with (
        MoldUdp64Receiver(port=port, group=group) as rx,
        MoldUdp64Replayer(data, rx.port, group=group, linger_ms=3000, **kw) as tx,
    ):
        rx.set_rerequest(tx.rerequest_port)
        rx.start()
        tx.start()
        got = rx.collect(timeout_s)
        return got, rx.counters(), tx.counters()


def kinds(b: Batch) -> list[EventKind]:
    return [EventKind(int(k)) for k in b.events["kind"]]


def test_replay_delivers_every_message_byte_identical_in_order(itch: bytes) -> None:
    got, rc, tc = replay(itch)
    assert got.messages == 1000
    assert frames(got.data) == frames(itch)
    assert got.data == itch
    assert rc["gaps"] == 0 and rc["lost"] == 0 and rc["duplicates"] == 0
    assert rc["messages"] == tc["messages"] == 1000
    assert kinds(got) == [EventKind.SESSION_END]
    assert int(got.events["seq"][0]) == 1001


def test_multicast_on_loopback(itch: bytes) -> None:
    got, rc, _ = replay(itch, group="239.255.42.7", port=31917)
    assert got.data == itch
    assert rc["lost"] == 0


def test_dropped_packets_are_gaps_recovered_by_retransmission(itch: bytes) -> None:
    got, rc, tc = replay(itch, drop_every=4)
    assert tc["dropped_packets"] >= 7
    assert rc["gaps"] == tc["dropped_packets"]
    assert rc["missing"] == rc["retransmitted"] == tc["retransmitted"] > 0
    assert rc["lost"] == 0
    assert got.data == itch  # recovered messages delivered in sequence order
    ev = got.events
    detected = ev[ev["kind"] == EventKind.GAP_DETECTED]
    recovered = ev[ev["kind"] == EventKind.GAP_RECOVERED]
    assert len(detected) == rc["gaps"] == len(recovered)
    assert np.array_equal(detected["seq"], recovered["seq"])
    assert int(detected["count"].sum()) == rc["missing"]


def test_multicast_drops_recovered_over_unicast_retransmission(itch: bytes) -> None:
    got, rc, _ = replay(itch, group="239.255.42.8", port=31918, drop_every=3)
    assert rc["gaps"] > 0 and rc["lost"] == 0
    assert got.data == itch


def test_lost_last_packet_found_by_end_of_session_and_recovered(itch: bytes) -> None:
    _, _, tc = replay(itch)
    got, rc, tc2 = replay(itch, drop_every=tc["packets"])  # only the last packet is dropped
    assert tc2["dropped_packets"] == 1
    assert rc["gaps"] == 1 and rc["lost"] == 0
    assert got.data == itch


def test_duplicates_are_suppressed(itch: bytes) -> None:
    got, rc, tc = replay(itch, dup_every=2)
    assert tc["duplicated_packets"] > 0
    assert rc["duplicates"] > 0
    assert got.messages == 1000
    assert got.data == itch


def test_paced_replay_follows_itch_timestamps(itch: bytes) -> None:
    ts = [int.from_bytes(m[5:11], "big") for m in frames(itch)]
    span_s = (ts[-1] - ts[0]) / 1e9  # about 282 s of recorded time
    speed = span_s / 0.5
    t0 = time.monotonic()
    got, _, _ = replay(itch, speed=speed)
    took = time.monotonic() - t0
    assert got.data == itch
    assert 0.45 < took < 5.0


def test_received_stream_parses_like_the_file(itch: bytes) -> None:
    from minihft.marketdata import itch as itch_mod

    got, _, _ = replay(itch, drop_every=5)
    live = itch_mod.parse_bytes(got.data, name="live")
    # Counts from the fixture's README (independent script): R 993, H 3, Y 3, S 1.
    assert len(live.reference["stock_directory"]) == 993
    assert len(live.reference["system_events"]) == 1


def test_corrupt_input_is_reported_with_its_offset(itch: bytes) -> None:
    bad = itch[:-3]
    with pytest.raises(ValueError, match=r"<bytes>.*byte offset 40"):
        MoldUdp64Replayer(bad, 9, linger_ms=0)
