"""Execution algorithms, hand-checked on a synthetic book where every fill is predictable.

Book: a bid of 1000 at 10000 and an ask of 100000 at 10100 that never move and never trade,
so a passive child never fills and every crossing IOC fills in full at 10100 (taker). Zero
latency: each cancel is acknowledged, and the next order sent, at the same ns.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from minihft.backtest.inprocess import drive
from minihft.backtest_core import BacktestConfig, Backtester
from minihft.records import MD_EVENT, CommandType, ExecType, MdEventType, Side, TimeInForce
from minihft.strategy.algos import (
    AggressiveTwap,
    ExecAlgo,
    Naive,
    ParentSpec,
    Pov,
    Twap,
    Vwap,
    cumulative_targets,
    slice_edges,
    time_of_day_profile,
    volume_profile,
)
from minihft.strategy.risk import RiskChecker, RiskLimits

Arr = np.ndarray[Any, Any]
NS = 1_000_000_000
BID, ASK = 10_000, 10_100
SUB, CXL = CommandType.SUBMIT_ORDER, CommandType.CANCEL_ORDER
logging.getLogger("minihft.backtest").setLevel(logging.WARNING)


def events(rows: list[tuple[int, int, int, int, int, int]]) -> Arr:
    """rows: (ts, type, order_id, side, price, qty)."""
    ev = np.zeros(len(rows), dtype=MD_EVENT)
    for i, (ts, t, oid, side, px, q) in enumerate(rows):
        ev[i]["ts_event"], ev[i]["ts_recv"], ev[i]["type"] = ts, ts, t
        ev[i]["order_id"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = oid, side, px, q
    return ev


def book(extra: list[tuple[int, int, int, int, int, int]] | None = None) -> Arr:
    A = MdEventType.ADD
    return events(
        [(1, A, 1, Side.BUY, BID, 1000), (2, A, 2, Side.SELL, ASK, 100_000), *(extra or [])]
    )


def run(algo: ExecAlgo, ev: Arr, limits: RiskLimits | None = None) -> tuple[Arr, Arr]:
    bt = Backtester(ev, BacktestConfig())
    reps, _, cmds, _ = drive(
        bt, algo, algo.p.start_ns, algo.p.end_ns, risk=RiskChecker(limits or RiskLimits())
    )
    return reps, cmds


def fills(reps: Arr) -> Arr:
    return reps[reps["type"] == ExecType.ORDER_FILLED]


def test_slices_and_targets_by_hand() -> None:
    assert slice_edges(0, 10, 3).tolist() == [0, 3, 6, 10]
    assert cumulative_targets(1000, [1, 1, 1]).tolist() == [333, 667, 1000]
    assert cumulative_targets(10, [0, 3, 1]).tolist() == [0, 8, 10]  # 7.5 rounds half up
    with pytest.raises(ValueError, match="weights"):
        cumulative_targets(10, [0, 0])


def test_volume_profile_uses_only_the_window_before_start() -> None:
    # window [100, 200) in 2 slices; lookback [0, 100): 3000 shares in [0, 50), 1000 in [50, 100)
    ts = [10, 20, 60, 150, 199]
    qty = [2000, 1000, 1000, 10**6, 10**6]  # the prints at 150 and 199 are after start: unused
    w, info = volume_profile(ts, qty, 100, 200, 2, shrink=0.5, min_volume=1)
    assert w.tolist() == pytest.approx([0.5 * 0.75 + 0.25, 0.5 * 0.25 + 0.25])
    assert info["source"] == "previous window"
    w, info = volume_profile(ts, qty, 100, 200, 2, min_volume=10_000)
    assert w.tolist() == [0.5, 0.5] and info["source"] == "uniform"
    w, info = volume_profile(ts, qty, 100, 200, 2, min_volume=1, data_start_ns=5)
    assert w.tolist() == [0.5, 0.5] and "before start" in info["reason"]


def test_time_of_day_profile_uses_the_same_clock_window_of_other_data() -> None:
    # window [100, 200) in 2 slices: the other data has 3000 in [100, 150), 1000 in [150, 200)
    ts = [50, 120, 140, 160, 250]
    qty = [10**6, 1000, 2000, 1000, 10**6]  # outside the window's time of day: unused
    w, info = time_of_day_profile(ts, qty, 100, 200, 2, shrink=0.0, min_volume=1)
    assert w.tolist() == pytest.approx([0.75, 0.25]) and info["volume"] == 4000
    w, info = time_of_day_profile(ts, qty, 100, 200, 2, min_volume=5000)
    assert w.tolist() == [0.5, 0.5] and info["source"] == "uniform"


def test_twap_posts_at_touch_and_crosses_each_slice_end() -> None:
    algo = Twap(ParentSpec(0, Side.BUY, 300, 10 * NS, 40 * NS), slices=3)
    reps, cmds = run(algo, book())
    got = [
        (int(c["ts"]) // NS, int(c["type"]), int(c["price"]), int(c["qty"]), int(c["tif"]))
        for c in cmds
    ]
    post = (SUB, BID, 100, TimeInForce.DAY)
    ioc_px = ASK + 100  # 20 bps of 10100 is 20 ticks: one cent through the ask
    cross = (SUB, ioc_px, 100, TimeInForce.IOC)
    cancel = (CXL, 0, 0, TimeInForce.DAY)
    assert got == [
        (10, *post), (20, *cancel), (20, *cross), (20, *post),
        (30, *cancel), (30, *cross), (30, *post), (40, *cancel), (40, *cross),
    ]  # fmt: skip
    f = fills(reps)
    assert f["qty"].tolist() == [100, 100, 100] and (f["price"] == ASK).all()
    assert (cmds["flags"][cmds["tif"] == TimeInForce.DAY][::2] == 1).all()  # posts are post-only
    assert algo.status()["state"] == "complete" and algo.status()["crosses"] == 3


def test_twap_repegs_when_the_touch_moves_through_it() -> None:
    # At 12 s a better bid (10010) appears: the child (at 10000, sent at 10 s) is behind.
    algo = Twap(ParentSpec(0, Side.BUY, 100, 10 * NS, 20 * NS), slices=1)
    _, cmds = run(algo, book([(12 * NS, MdEventType.ADD, 3, Side.BUY, BID + 10, 50)]))
    subs = cmds[cmds["type"] == SUB]
    assert subs["price"].tolist()[:2] == [BID, BID + 10]
    assert int(subs["ts"][1]) == 12 * NS and algo.stats.repegs == 1


def test_limit_price_prevents_crossing_and_is_reported() -> None:
    algo = Twap(ParentSpec(0, Side.BUY, 300, 10 * NS, 40 * NS, limit_price=ASK - 50), slices=3)
    reps, cmds = run(algo, book())
    assert not len(fills(reps))
    assert (cmds["tif"] != TimeInForce.IOC).all()  # never crossed
    st = algo.status()
    assert st["state"] == "incomplete" and "limit price" in st["reason"] and st["filled"] == 0


def test_aggressive_twap_crosses_at_each_slice_start() -> None:
    algo = AggressiveTwap(ParentSpec(0, Side.SELL, 300, 10 * NS, 40 * NS), slices=3)
    reps, cmds = run(algo, book())
    assert [int(t) // NS for t in cmds["ts"]] == [10, 20, 30]
    assert (cmds["tif"] == TimeInForce.IOC).all() and cmds["qty"].tolist() == [100] * 3
    assert cmds["price"].tolist() == [BID - 100] * 3  # 20 bps of 10000 = 20 ticks -> one cent
    f = fills(reps)
    assert f["qty"].sum() == 300 and (f["price"] == BID).all()


def test_naive_sends_one_marketable_order_at_start() -> None:
    algo = Naive(ParentSpec(0, Side.BUY, 700, 10 * NS, 40 * NS))
    reps, cmds = run(algo, book())
    assert len(cmds) == 1 and int(cmds["ts"][0]) == 10 * NS and int(cmds["qty"][0]) == 700
    assert fills(reps)["qty"].sum() == 700 and algo.status()["state"] == "complete"


def test_vwap_follows_its_weights() -> None:
    algo = Vwap(ParentSpec(0, Side.BUY, 400, 10 * NS, 40 * NS), weights=[1, 2, 1])
    _, cmds = run(algo, book())
    ioc = cmds[cmds["tif"] == TimeInForce.IOC]
    assert ioc["qty"].tolist() == [100, 200, 100]  # nothing passive fills: each slice crossed
    assert [int(t) // NS for t in ioc["ts"]] == [20, 30, 40]


def test_pov_tracks_traded_volume() -> None:
    # 2000 shares of the resting bid execute at 15 s (not ours: we post behind it).
    X = MdEventType.EXECUTE
    ev = book(
        [(5 * NS, MdEventType.ADD, 4, Side.BUY, BID, 5000), (15 * NS, X, 4, Side.BUY, BID, 2000)]
    )
    algo = Pov(ParentSpec(0, Side.SELL, 1000, 10 * NS, 40 * NS), rate=0.1, clip=50, tolerance=150)
    reps, cmds = run(algo, ev)
    subs = cmds[cmds["type"] == SUB]
    # At start the target is 0: post `clip` (50) passively. After 2000 traded the target is
    # 200; nothing has filled, 200 behind >= tolerance 150, so cross 200 at once.
    assert subs["qty"].tolist()[0] == 50 and int(subs["tif"][0]) == TimeInForce.DAY
    crosses = subs[subs["tif"] == TimeInForce.IOC]
    assert int(crosses["ts"][0]) == 15 * NS and int(crosses["qty"][0]) == 200
    assert fills(reps)["qty"].sum() == 1000  # the rest crossed at end
    assert int(crosses["ts"][-1]) == 40 * NS


def test_risk_rejection_is_visible_in_status() -> None:
    algo = Naive(ParentSpec(0, Side.BUY, 700, 10 * NS, 40 * NS))
    reps, cmds = run(algo, book(), RiskLimits(max_order_qty=500))
    assert len(cmds) == 0 and not len(fills(reps))
    st = algo.status()
    assert st["state"] == "incomplete" and st["risk_rejects"] >= 1
    assert "risk reject: max_order_size" in st["notes"]
