"""ITCH over SoupBinTCP 3.0 on real TCP sockets (127.0.0.1)."""

from __future__ import annotations

from typing import Any

from live_itch import frame_offsets, needs_fixture
from minihft.marketdata.live import (
    Batch,
    EventKind,
    SoupBinTcpReceiver,
    SoupBinTcpReplayer,
)

pytestmark = needs_fixture


def session(
    data: bytes, server: dict[str, Any], client: dict[str, Any], timeout_s: float = 10.0
) -> tuple[Batch, dict[str, int], dict[str, int]]:
    with SoupBinTcpReplayer(data, user="trader", password="s3cret", **server) as tx:
        tx.start()
        kw: dict[str, Any] = {"user": "trader", "password": "s3cret", **client}
        with SoupBinTcpReceiver(tx.port, **kw) as rx:
            rx.start()
            got = rx.collect(timeout_s)
            rc = rx.counters()
        return got, rc, tx.counters()


def events(b: Batch, kind: EventKind) -> list[tuple[int, int, int]]:
    ev = b.events[b.events["kind"] == kind]
    return [
        (int(s), int(c), int(a)) for s, c, a in zip(ev["seq"], ev["count"], ev["aux"], strict=True)
    ]


def test_replay_delivers_every_message_byte_identical_in_order(itch: bytes) -> None:
    got, rc, tc = session(itch, {}, {})
    assert got.messages == 1000
    assert got.data == itch
    assert rc["ended"] == 1 and rc["next_expected"] == 1001
    assert tc["messages"] == 1000 and tc["logins"] == 1
    assert [s for s, _, _ in events(got, EventKind.LOGIN_ACCEPTED)] == [1]
    assert len(events(got, EventKind.SESSION_END)) == 1


def test_login_from_a_later_sequence_number(itch: bytes) -> None:
    got, _, _ = session(itch, {}, {"first_seq": 601})
    offs = frame_offsets(itch)
    assert got.messages == 400
    assert got.data == itch[offs[600] :]


def test_bad_login_is_rejected(itch: bytes) -> None:
    got, rc, tc = session(itch, {}, {"password": "wrong"})
    assert got.messages == 0
    assert events(got, EventKind.LOGIN_REJECTED) == [(1, 0, ord("A"))]
    assert rc["rejects"] == 1 and tc["rejects"] == 1 and tc["logins"] == 0
    got, _, _ = session(itch, {}, {"session": "NOSUCH"})
    assert events(got, EventKind.LOGIN_REJECTED) == [(1, 0, ord("S"))]


def test_heartbeats_flow_both_ways_when_idle(itch: bytes) -> None:
    got, rc, tc = session(itch, {"pause_after": 100, "pause_ms": 2600}, {})
    assert got.data == itch
    # ~2.6 s of silence at a 1 s interval: at least two heartbeats each way.
    assert rc["server_heartbeats"] >= 2 and tc["server_heartbeats"] >= 2
    assert rc["client_heartbeats"] >= 2 and tc["client_heartbeats"] >= 2


def test_disconnect_mid_stream_reconnects_at_the_next_sequence_number(itch: bytes) -> None:
    got, rc, tc = session(itch, {"disconnect_after": 400}, {})
    assert got.data == itch  # no loss, no duplicate
    assert rc["connects"] == 2 and rc["disconnects"] == 1
    assert rc["mid_message_disconnects"] == 0
    assert [s for s, _, _ in events(got, EventKind.LOGIN_ACCEPTED)] == [1, 401]
    assert events(got, EventKind.DISCONNECTED) == [(401, 0, 0)]
    assert tc["messages"] == 1000


def test_disconnect_mid_message_is_reported_with_its_sequence_number(itch: bytes) -> None:
    got, rc, _ = session(itch, {"cut_after": 300}, {})
    (seq, partial, mid) = events(got, EventKind.DISCONNECTED)[0]
    assert (seq, mid) == (301, 1) and partial > 0
    assert rc["mid_message_disconnects"] == 1
    assert got.data == itch  # resumed at 301 after the reconnect


def test_mid_message_cut_without_reconnect_keeps_everything_before(itch: bytes) -> None:
    got, _, _ = session(itch, {"cut_after": 300}, {"reconnect": False})
    offs = frame_offsets(itch)
    assert got.messages == 300
    assert got.data == itch[: offs[300]]
    assert events(got, EventKind.DISCONNECTED)[0][0] == 301
