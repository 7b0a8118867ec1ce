"""Per-hop latency histograms and batch_seq gaps from hand-built batches (runtime/hops.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from minihft import codec
from minihft.bus.base import Message
from minihft.bus.inproc import InProcBus
from minihft.records import MD_EVENT
from minihft.runtime import ManualClock, Service, ServiceConfig
from minihft.runtime.hops import HopObserver, stage_name
from minihft.runtime.metrics import HOP_BUCKETS, ServiceMetrics
from minihft.schema.HopPoint import HopPoint
from minihft.schema.Stage import Stage

H = "minihft_strategy_runner_hop_latency_seconds"
G = "minihft_strategy_runner_batch_seq_gaps_total"


def msg(
    topic: str,
    seq: int,
    stamps: list[tuple[int, int, int, int]],
    symbol: int = 7,
    offset: int = 0,
) -> Message:
    hops = codec.make_hops(*stamps) if stamps else None
    value = codec.encode(
        codec.MD_BOOK,
        np.zeros(1, codec.BOOK_UPDATE),
        symbol_id=symbol,
        batch_seq=seq,
        hops=hops,
    )
    return Message(topic, 0, offset, b"7", value, 0)


def chain(t0: int) -> list[tuple[int, int, int, int]]:
    """feed_handler publishes at t0, lob_engine receives 2 ms later and publishes 3 us after."""
    return [
        (t0, Stage.FeedHandler, HopPoint.Publish, 0),
        (t0 + 2_000_000, Stage.LobEngine, HopPoint.Receive, 0),
        (t0 + 2_003_000, Stage.LobEngine, HopPoint.Publish, 0),
    ]


def sample(m: ServiceMetrics, name: str, **labels: str) -> float:
    v = m.registry.get_sample_value(name, labels)
    return math.nan if v is None else v


def test_stage_names_are_service_names() -> None:
    assert stage_name(Stage.FeedHandler) == "feed_handler"
    assert stage_name(Stage.StrategyRunner) == "strategy_runner"
    assert stage_name(250) == "stage250"


def test_buckets_are_log_spaced_from_100ns_to_1s() -> None:
    b = np.array(HOP_BUCKETS)
    assert b[0] == 1e-7 and b[-1] == 1.0
    ratios = b[1:] / b[:-1]
    assert np.all(ratios > 1.5) and np.all(ratios < 2.0)


def test_each_hop_and_end_to_end_observed_once_with_its_delta() -> None:
    m = ServiceMetrics("strategy_runner")
    obs = HopObserver(m, ManualClock())
    t0 = 1_700_000_000_000_000_000
    obs.observe(msg("md.book", 0, chain(t0)), now_ns=t0 + 2_503_000)
    expect = {
        "feed_handler>lob_engine": 2e-3,
        "lob_engine": 3e-6,
        "lob_engine>strategy_runner": 500e-6,
        "end_to_end": 2.503e-3,
    }
    for hop, secs in expect.items():
        assert sample(m, H + "_count", hop=hop) == 1, hop
        assert math.isclose(sample(m, H + "_sum", hop=hop), secs, rel_tol=1e-9), hop
    # 3 us lies in (1.78 us, 3.16 us]: the bucket boundaries really split it there.
    assert sample(m, H + "_bucket", hop="lob_engine", le="1.78e-06") == 0
    assert sample(m, H + "_bucket", hop="lob_engine", le="3.16e-06") == 1


def test_clock_skew_counts_as_zero_not_negative() -> None:
    m = ServiceMetrics("strategy_runner")
    obs = HopObserver(m, ManualClock())
    obs.observe(msg("md.book", 0, chain(10_000_000)), now_ns=5)
    assert sample(m, H + "_sum", hop="lob_engine>strategy_runner") == 0
    assert sample(m, H + "_bucket", hop="end_to_end", le="1e-07") == 1


def test_batch_seq_gaps_per_topic_and_producer() -> None:
    m = ServiceMetrics("strategy_runner")
    obs = HopObserver(m, ManualClock())
    c = chain(0)
    for seq in (0, 1, 2):
        obs.observe(msg("md.book", seq, c), now_ns=10**7)
    assert sample(m, G, topic="md.book") == 0  # the series exists before any gap
    obs.observe(msg("md.book", 5, c), now_ns=10**7)  # 3 and 4 missing: one gap
    assert sample(m, G, topic="md.book") == 1
    obs.observe(msg("md.book", 0, c), now_ns=10**7)  # producer restart: no gap
    obs.observe(msg("md.book", 1, c), now_ns=10**7)
    assert sample(m, G, topic="md.book") == 1
    # Another symbol and another producer instance keep their own sequences.
    obs.observe(msg("md.book", 9, c, symbol=8), now_ns=10**7)
    other = [(0, Stage.LobEngine, HopPoint.Publish, 1)]
    obs.observe(msg("md.book", 4, other), now_ns=10**7)
    assert sample(m, G, topic="md.book") == 1
    obs.observe(msg("orders", 0, other), now_ns=10**7)
    obs.observe(msg("orders", 2, other), now_ns=10**7)
    assert sample(m, G, topic="orders") == 1
    assert sample(m, G, topic="md.book") == 1


def test_non_batch_messages_are_ignored() -> None:
    m = ServiceMetrics("strategy_runner")
    obs = HopObserver(m, ManualClock())
    obs.observe(Message("md.events", 0, 0, None, b"garbage!garbage", 0))
    obs.observe(Message("md.events", 0, 1, None, b"\x08\0\0\0MREF\0\0\0\0", 0))
    assert math.isnan(sample(m, G, topic="md.events"))


def test_service_consume_records_hops_of_every_fresh_message() -> None:
    bus = InProcBus()
    clock = ManualClock(0)
    svc = Service("strategy_runner", ServiceConfig(), bus=bus, clock=clock)
    bus.create_topics(["md.events"], 1)
    ev = np.zeros(2, MD_EVENT)
    for seq in (0, 1, 3):
        hops = codec.make_hops((1000, Stage.FeedHandler, HopPoint.Publish, 0))
        bus.publish(
            "md.events",
            codec.encode(codec.MD_EVENTS, ev, symbol_id=1, batch_seq=seq, hops=hops),
            key=b"1",
        )
    clock.set(6000)
    consumer = bus.subscribe(["md.events"], "g")
    handled: list[int] = []

    def handle(m: Message) -> None:
        handled.append(m.offset)
        if len(handled) == 3:
            svc.stop()

    assert svc.consume(consumer, handle) == 0
    assert handled == [0, 1, 2]
    sm = svc.metrics
    assert sample(sm, H + "_count", hop="feed_handler>strategy_runner") == 3
    assert math.isclose(sample(sm, H + "_sum", hop="end_to_end"), 3 * 5e-6)
    assert sample(sm, G, topic="md.events") == 1


def test_handler_gets_the_batch_the_loop_decoded_and_a_wrong_schema_still_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bus = InProcBus()
    svc = Service("strategy_runner", ServiceConfig(), bus=bus, clock=ManualClock(0))
    bus.create_topics(["md.events", "dead.letter"], 1)
    ev = np.zeros(3, MD_EVENT)
    ev["order_id"] = [7, 8, 9]
    bus.publish("md.events", codec.encode(codec.MD_EVENTS, ev, symbol_id=1, batch_seq=0), b"1")
    orders = np.zeros(1, codec.ORDERS.dtype)
    bus.publish("md.events", codec.encode(codec.ORDERS, orders, symbol_id=1, batch_seq=0), b"1")
    decodes: list[bytes] = []
    real = codec.decode

    def counting(buf: bytes, expected: codec.BatchSchema | None = None) -> codec.Batch:
        decodes.append(bytes(buf[4:8]))
        return real(buf, expected)

    monkeypatch.setattr(codec, "decode", counting)
    seen: list[list[int]] = []

    def handle(m: Message) -> None:
        try:
            seen.append(svc.decode(m, codec.MD_EVENTS).records["order_id"].tolist())
        finally:
            if m.offset == 1:
                svc.stop()

    assert svc.consume(bus.subscribe(["md.events"], "g"), handle) == 0
    assert seen == [[7, 8, 9]]
    # Once per message by the loop; the ORDERS batch again, by decode() refusing it.
    assert decodes == [b"MDEV", b"MCMD", b"MCMD"]
    assert len(bus.subscribe(["dead.letter"], "d").poll()) == 1
