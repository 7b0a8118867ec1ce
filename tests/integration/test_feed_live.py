"""feed_handler live mode against a real broker: ITCH over MoldUDP64 with injected drops.

The replayer (in this process) plays a real ITCH file onto UDP; the feed_handler process receives
it with `--source moldudp64://...`, and md.events is read back from the broker. The reference is
the same file parsed from disk (the native file path, no network): every event must arrive
exactly once, in order, per symbol, and the gap metrics must match what the replayer dropped.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from confluent_kafka import Consumer, TopicPartition
from minihft import codec
from minihft.bus import Topics
from minihft.marketdata import itch, lobster
from minihft.marketdata.live import MoldUdp64Replayer, SoupBinTcpReplayer, read_itch
from minihft.paths import itch_fixture, lobster_dir
from minihft.services.feed_handler import reference
from pipeline_procs import Proc, free_port, metric

pytestmark = pytest.mark.integration

LOBSTER = lobster_dir() / "AMZN_2012-06-21_34200000_57600000_message_1.csv.gz"
M = "minihft_feed_handler_"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def lobster_itch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 000 events of real AMZN LOBSTER flow written as ITCH (locate 3)."""
    if not LOBSTER.exists():
        pytest.fail(f"{LOBSTER} missing: the shared LOBSTER data is required")
    ev = lobster.read_messages(LOBSTER, symbol_id=3).events[:20_000]
    path = tmp_path_factory.mktemp("itch") / "amzn.itch"
    itch.write_itch(ev, {3: "AMZN"}, path)
    return path


def read_all(bootstrap: str, topic: str, n: int, timeout_s: float) -> list[bytes]:
    """Every message of `topic` in partition order (per-key order is what Kafka promises), read
    until `n` arrived and then one more second, so a duplicate would be seen too."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{os.getpid()}-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    md = c.list_topics(topic, timeout=10).topics[topic]
    c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
    out: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.2):
                if m.error() is None:
                    out.append(m.value())
            if len(out) >= n:
                deadline = min(deadline, time.monotonic() + 1.0)
    finally:
        c.close()
    return out


NAMES = (
    "messages_received_total", "gaps_detected_total", "gaps_recovered_total",
    "gaps_unrecovered_total", "messages_lost_total", "retransmissions_requested_total",
    "duplicates_suppressed_total", "reference_published_total", "events_published_total",
    "batches_published_total", "reconnects_total",
)  # fmt: skip


def run_feed(
    tmp_path: Path, bootstrap: str, topics: Topics, tx: Any, src: str
) -> tuple[list[bytes], dict[str, float], dict[str, int]]:
    """Starts feed_handler on `src`, then the sender `tx`; returns md.events, the feed_handler's
    metrics once it has flushed the whole session, and the sender's counters."""
    http = free_port()
    with tx:
        run_id = topics.prefix.removeprefix("bt.").removesuffix(".")
        args = ["--kafka-bootstrap", bootstrap, "--run-id", run_id, "--source", src]
        proc = Proc.python("feed_handler", "feed_handler", args, tmp_path, http)
        try:
            proc.wait_ready()
            deadline = time.monotonic() + 30
            while "live source started" not in proc.tail(50):
                assert time.monotonic() < deadline, proc.tail()
                time.sleep(0.05)
            tx.start()
            deadline = time.monotonic() + 60
            while metric(http, M + "replay_done_bool") != 1:
                assert time.monotonic() < deadline, proc.tail()
                time.sleep(0.1)
            metrics = {n: metric(http, M + n) for n in NAMES}
            tc = tx.counters()
        finally:
            assert proc.stop() == 0, proc.tail()
    n = int(metrics["reference_published_total"] + metrics["batches_published_total"])
    msgs = read_all(bootstrap, topics.md_events, n, 30)
    assert len(msgs) == n  # nothing published twice
    return msgs, metrics, tc


def mold(data: bytes, **replay: Any) -> tuple[MoldUdp64Replayer, str]:
    udp = free_udp_port()
    tx = MoldUdp64Replayer(data, udp, linger_ms=3000, **replay)
    return tx, f"moldudp64://127.0.0.1:{udp}?rerequest=127.0.0.1:{tx.rerequest_port}"


def split(msgs: list[bytes]) -> tuple[dict[int, list[codec.Batch]], list[reference.Reference]]:
    batches: dict[int, list[codec.Batch]] = {}
    refs = []
    for v in msgs:
        if codec.identifier(v) == reference.IDENTIFIER:
            refs.append(reference.decode(v))
        else:
            b = codec.decode(v, codec.MD_EVENTS)
            batches.setdefault(b.symbol_id, []).append(b)
    return batches, refs


def check_exactly_once_in_order(batches: dict[int, list[codec.Batch]], expected: Any) -> None:
    want_syms = sorted(set(expected["symbol_id"].tolist()))
    assert sorted(batches) == want_syms
    for sym, bs in batches.items():
        assert [b.batch_seq for b in bs] == list(range(len(bs))), f"symbol {sym}: batch_seq"
        got = np.concatenate([b.records for b in bs])
        want = expected[expected["symbol_id"] == sym]
        assert len(got) == len(want), f"symbol {sym}: {len(got)} events, expected {len(want)}"
        assert np.array_equal(got, want), f"symbol {sym}: events differ or out of order"


def test_real_itch_fixture_with_drops_recovered(
    tmp_path: Path, bootstrap: str, topics: Topics
) -> None:
    data = read_itch(itch_fixture())
    expected = itch.parse_file(itch_fixture())
    msgs, m, tc = run_feed(tmp_path, bootstrap, topics, *mold(data, drop_every=4, dup_every=7))
    batches, refs = split(msgs)
    check_exactly_once_in_order(batches, expected.events)
    sd = expected.reference["stock_directory"]
    got_sd = [r for r in refs if r.kind == "stock_directory"]
    # One per symbol, each keyed by its symbol: order across symbols is the partitions' mix.
    assert sorted((r.symbol_id, r.stock) for r in got_sd) == sorted(
        (int(loc), bytes(s).decode().rstrip())
        for loc, s in zip(sd["locate"], sd["stock"], strict=True)
    )
    assert not [r for r in refs if r.kind == "sequence_gap"]
    assert m["messages_received_total"] == 1000 == tc["messages"]
    assert tc["dropped_packets"] > 0
    assert m["gaps_detected_total"] == tc["dropped_packets"]
    assert m["gaps_recovered_total"] == m["gaps_detected_total"]
    assert m["gaps_unrecovered_total"] == 0 and m["messages_lost_total"] == 0
    assert m["retransmissions_requested_total"] >= tc["requests"] > 0
    assert m["duplicates_suppressed_total"] > 0
    assert m["events_published_total"] == len(expected.events)


def test_lobster_flow_as_itch_with_drops_recovered(
    tmp_path: Path, bootstrap: str, topics: Topics, lobster_itch: Path
) -> None:
    expected = itch.parse_file(lobster_itch)
    data = read_itch(lobster_itch)
    msgs, m, tc = run_feed(tmp_path, bootstrap, topics, *mold(data, drop_every=9, max_rate=200_000))
    batches, refs = split(msgs)
    check_exactly_once_in_order(batches, expected.events)
    assert [(r.symbol_id, r.stock) for r in refs] == [(3, "AMZN")]
    assert tc["dropped_packets"] > 10
    assert m["gaps_detected_total"] == m["gaps_recovered_total"] == tc["dropped_packets"]
    assert m["gaps_unrecovered_total"] == 0
    assert m["messages_received_total"] == len(expected.events) + 3  # + S, R, S


def frames(data: bytes) -> list[bytes]:
    """Test-side split of the file framing (independent of the native parser)."""
    out, off = [], 0
    while off < len(data):
        n = int.from_bytes(data[off : off + 2], "big")
        out.append(data[off : off + 2 + n])
        off += 2 + n
    return out


def test_unrecovered_gaps_publish_sequence_gaps_and_the_rest_arrives(
    tmp_path: Path, bootstrap: str, topics: Topics, lobster_itch: Path
) -> None:
    data = read_itch(lobster_itch)
    udp = free_udp_port()
    tx = MoldUdp64Replayer(data, udp, linger_ms=500, drop_every=150, max_rate=200_000)
    dead = free_udp_port()  # a re-request server that never answers
    src = f"moldudp64://127.0.0.1:{udp}?rerequest=127.0.0.1:{dead}"
    msgs, m, tc = run_feed(
        tmp_path, bootstrap, topics, tx, src + "&request_timeout_ms=20&max_requests=3"
    )
    batches, refs = split(msgs)
    gaps = [r for r in refs if r.kind == "sequence_gap"]
    assert len(gaps) == tc["dropped_packets"] == m["gaps_unrecovered_total"] > 0
    assert m["gaps_recovered_total"] == 0
    lost = {s for g in gaps for s in range(g.expected_seq, g.received_seq)}
    assert len(lost) == m["messages_lost_total"]
    assert m["messages_received_total"] + len(lost) == len(frames(data))
    # What arrived is exactly the file without the lost messages (MoldUDP64 seq = index + 1).
    kept = b"".join(f for i, f in enumerate(frames(data)) if i + 1 not in lost)
    check_exactly_once_in_order(batches, itch.parse_bytes(kept).events)
    assert all(g.session.startswith("moldudp64://") for g in gaps)


def test_soupbintcp_reconnects_and_delivers_exactly_once(
    tmp_path: Path, bootstrap: str, topics: Topics, lobster_itch: Path
) -> None:
    data = read_itch(lobster_itch)
    tx = SoupBinTcpReplayer(data, user="u", password="p", disconnect_after=5000)
    tx.start()  # binds its port; the feed_handler connects once it is up
    src = f"soupbintcp://127.0.0.1:{tx.port}?user=u&password=p&session="
    msgs, m, _ = run_feed(tmp_path, bootstrap, topics, _Started(tx), src)
    batches, _ = split(msgs)
    check_exactly_once_in_order(batches, itch.parse_file(lobster_itch).events)
    assert m["reconnects_total"] >= 1
    assert m["messages_received_total"] == len(frames(data))


class _Started:
    """A sender already started (SoupBinTCP serves whoever logs in)."""

    def __init__(self, tx: SoupBinTcpReplayer) -> None:
        self.tx = tx

    def start(self) -> None:
        pass

    def counters(self) -> dict[str, int]:
        return self.tx.counters()

    def __enter__(self) -> _Started:
        return self

    def __exit__(self, *exc: object) -> None:
        self.tx.stop()
