"""Backtest fill simulator through Python: layout, binding errors, and a real LOBSTER window.

The hand-checked queue/fill rules are in tests/cpp/fill_simulator_test.cpp; here the real-data
test checks invariants that any correct fill model must keep, with the LOBSTER orderbook file
(not our book) as the independent record of what the book was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from minihft import _lob
from minihft.backtest_core import (
    REPORT_EXTRA,
    TRADE_PRINT,
    BacktestConfig,
    Backtester,
    FillCause,
    Wake,
    bench_quote_touch,
    command,
    lobster_depth,
    simulate,
)
from minihft.marketdata.lobster import read_messages, read_orderbook
from minihft.paths import lobster_dir
from minihft.records import (
    MD_EVENT,
    ORDER_COMMAND,
    CommandType,
    ExecType,
    Liquidity,
    MdEventType,
    Side,
    TimeInForce,
)

Arr = np.ndarray[Any, Any]
DATA = lobster_dir()
GOOG_MSG = DATA / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
GOOG_OB = DATA / "GOOG_2012-06-21_34200000_57600000_orderbook_10.csv.gz"
NS = 1_000_000_000


def test_layout_matches_cpp() -> None:
    sizes = _lob.BACKTEST_STRUCT_SIZES
    offs = _lob.BACKTEST_STRUCT_OFFSETS
    assert REPORT_EXTRA.itemsize == sizes["ReportExtra"]
    assert TRADE_PRINT.itemsize == sizes["TradePrint"]
    assert REPORT_EXTRA.fields is not None and TRADE_PRINT.fields is not None
    assert REPORT_EXTRA.fields["md_index"][1] == offs["ReportExtra.md_index"]
    assert REPORT_EXTRA.fields["cause"][1] == offs["ReportExtra.cause"]
    for f in ("symbol_id", "aggressor", "hidden"):
        assert TRADE_PRINT.fields[f][1] == offs[f"TradePrint.{f}"]


def _events(rows: list[tuple[int, int, int, int, int, int]]) -> Arr:
    """rows: (ts, type, order_id, side, price, qty)."""
    ev = np.zeros(len(rows), dtype=MD_EVENT)
    for i, (ts, t, oid, side, px, q) in enumerate(rows):
        ev[i]["ts_event"], ev[i]["ts_recv"], ev[i]["type"] = ts, ts, t
        ev[i]["order_id"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = oid, side, px, q
    return ev


A, X = MdEventType.ADD, MdEventType.EXECUTE
B, S = Side.BUY, Side.SELL


def test_stepper_queue_and_fill_through_python() -> None:
    # Bid 100: A 50 ahead of us, C 40 behind. C executes 15 -> we (20) fill 15, seen 5 ns later.
    ev = _events([(1, A, 1, B, 100, 50), (3, A, 3, B, 100, 40), (4, X, 3, B, 100, 15)])
    bt = Backtester(ev, BacktestConfig(report_latency_ns=5, maker_fee_e4=-2000))
    bt.run_until(2, Wake(0))
    bt.submit(9, Side.BUY, 100, 20)
    why, now = bt.run_until(wake=Wake.REPORT)
    assert (why, now) == (Wake.REPORT, 7)  # accepted at 2, seen at 7
    assert bt.queue_ahead(9) == 50
    why, now = bt.run_until(wake=Wake.REPORT)
    assert (why, now) == (Wake.REPORT, 9)  # filled at 4, seen at 9
    rep, extra = bt.take_reports()
    assert list(rep["type"]) == [ExecType.ORDER_ACCEPTED, ExecType.ORDER_FILLED]
    assert rep["qty"][1] == 15 and rep["leaves_qty"][1] == 5
    assert extra["fee_e4"][1] == 15 * -2000 and extra["md_index"][1] == 2
    assert extra["cause"][1] == FillCause.QUEUE_BEHIND
    assert bt.position() == 15 and bt.open_qty(9) == 5
    trades = bt.take_trades()
    assert len(trades) == 1 and trades["aggressor"][0] == Side.SELL and trades["qty"][0] == 15
    assert bt.depth(1)[0].tolist() == [0, 0, 100, 75]
    assert bt.run_until()[0] == Wake.END


def test_bad_input_is_a_clear_error() -> None:
    ev = _events([(5, A, 1, B, 100, 50), (3, A, 2, B, 100, 40)])
    with pytest.raises(ValueError, match="row 1 field ts_event"):
        Backtester(ev)
    with pytest.raises(ValueError, match="unknown key 'latency'"):
        _lob.Backtester(ev[:1].view(np.uint8), {"latency": 3})
    with pytest.raises(TypeError, match="ORDER_COMMAND"):
        simulate(ev[:1], np.zeros(1, dtype=MD_EVENT))
    with pytest.raises(ValueError, match=">= 0"):
        Backtester(ev[:1], BacktestConfig(order_latency_ns=-1))


@pytest.fixture(scope="module")
def goog_window() -> tuple[Arr, Arr, int]:
    """GOOG level 10, 10:00:00-10:10:00: events, truth depth (n, 10, 4) and the slice start."""
    msgs = read_messages(GOOG_MSG)
    ob = read_orderbook(GOOG_OB)
    ts = msgs.events["ts_event"]
    i0, i1 = np.searchsorted(ts, [36_000 * NS, 36_600 * NS])
    return msgs.events[i0:i1].copy(), ob.depth[i0:i1].copy(), int(i0)


def _schedule(events: Arr, truth: Arr) -> Arr:
    """Every 15 s: a passive buy at the best bid and a sell at the best ask, cancelled 5 s later;
    at +7.5 s (nothing of ours resting, so no self-cross) an IOC buy or sell two ticks through the
    touch. All 100 shares, prices from the file's book at issue time."""
    t0 = int(events["ts_event"][0])
    cmds = []
    oid = 1

    def touch(ts: int) -> tuple[int, int]:
        i = int(np.searchsorted(events["ts_event"], ts, side="right")) - 1
        return int(truth[i, 0, 0]), int(truth[i, 0, 2])

    for k in range(39):
        ts = t0 + k * 15 * NS + 1
        ask, bid = touch(ts)
        for side, px in ((Side.BUY, bid), (Side.SELL, ask)):
            cmds.append(command(CommandType.SUBMIT_ORDER, oid, side=side, price=px, qty=100, ts=ts))
            cmds.append(command(CommandType.CANCEL_ORDER, oid, ts=ts + 5 * NS))
            oid += 1
        ta = ts + 7 * NS + NS // 2
        ask, bid = touch(ta)
        aside = Side.BUY if k % 2 == 0 else Side.SELL
        apx = ask + 200 if aside == Side.BUY else bid - 200
        cmds.append(
            command(
                CommandType.SUBMIT_ORDER,
                oid,
                side=aside,
                price=apx,
                qty=100,
                ts=ta,
                tif=TimeInForce.IOC,
            )
        )
        oid += 1
    out = np.concatenate(cmds)
    return out[np.argsort(out["ts"], kind="stable")]


def test_real_lobster_window_invariants(goog_window: tuple[Arr, Arr, int]) -> None:
    events, truth, _ = goog_window
    cmds = _schedule(events, truth)
    cfg = BacktestConfig(
        order_latency_ns=200_000,
        order_jitter_ns=100_000,
        cancel_latency_ns=150_000,
        report_latency_ns=50_000,
        maker_fee_e4=-20 * 10_000,
        taker_fee_e4=30 * 10_000,
        seed=11,
    )
    seed = truth[0]
    rep, extra = simulate(events, cmds, cfg, seed_row=seed, truth=truth)
    rep2, extra2 = simulate(events, cmds, cfg, seed_row=seed, truth=truth)
    assert rep.tobytes() == rep2.tobytes() and extra.tobytes() == extra2.tobytes()

    submits = cmds[cmds["type"] == CommandType.SUBMIT_ORDER]
    limit = dict(zip(submits["order_id"].tolist(), submits["price"].tolist(), strict=True))
    side_of = dict(zip(submits["order_id"].tolist(), submits["side"].tolist(), strict=True))
    fills = rep["type"] == ExecType.ORDER_FILLED
    assert fills.sum() > 10, "the schedule should trade"
    passive = fills & (rep["liquidity"] == Liquidity.MAKER)
    taker = fills & (rep["liquidity"] == Liquidity.TAKER)
    assert passive.sum() > 0 and taker.sum() > 0

    # Filled qty <= submitted, per order.
    for oid in limit:
        assert rep["qty"][fills & (rep["order_id"] == oid)].sum() <= 100

    ts = events["ts_event"]
    exec_types = {MdEventType.EXECUTE, MdEventType.EXECUTE_AT_PRICE, MdEventType.HIDDEN_TRADE}
    used: dict[int, int] = {}
    for k in np.flatnonzero(passive):
        oid, px, q = int(rep["order_id"][k]), int(rep["price"][k]), int(rep["qty"][k])
        side = side_of[oid]
        assert px == limit[oid], "a passive fill is at our own price, never better"
        j = int(extra["md_index"][k])
        e = events[j]
        # Each passive fill maps to a historical execution on our side at that venue time, at our
        # price or a worse one for us (traded through), never a better one.
        assert int(e["type"]) in exec_types
        assert int(e["ts_event"]) == int(extra["ts_venue"][k])
        assert int(e["side"]) == side
        assert (int(e["price"]) <= px) if side == Side.BUY else (int(e["price"]) >= px)
        used[j] = used.get(j, 0) + q
        # At that moment the file's book had the touch at or behind our price.
        row = truth[j - 1] if j > 0 else truth[0]
        if side == Side.BUY:
            assert row[0, 2] <= px
        else:
            assert row[0, 0] >= px
    for j, q in used.items():
        assert q <= int(events["qty"][j]), "one execution never fills more than its qty"

    for k in np.flatnonzero(taker):
        oid, px = int(rep["order_id"][k]), int(rep["price"][k])
        side = side_of[oid]
        assert (px <= limit[oid]) if side == Side.BUY else (px >= limit[oid])
        assert extra["md_index"][k] == -1 and extra["cause"][k] == FillCause.SWEEP
        # The price was a displayed level of the file's book just before our arrival.
        i = int(np.searchsorted(ts, int(extra["ts_venue"][k]), side="right")) - 1
        col = 0 if side == Side.BUY else 2
        assert px in set(truth[i, :, col].tolist())

    # Fees: maker fills earn the rebate, taker fills pay.
    assert (extra["fee_e4"][passive] == rep["qty"][passive] * -200_000).all()
    assert (extra["fee_e4"][taker] == rep["qty"][taker] * 300_000).all()
    # Report latency: every report is seen at least 50 us after it happened.
    assert (rep["ts"] - extra["ts_venue"] >= 50_000).all()


def test_stepper_equals_batch_on_real_window(
    goog_window: tuple[Arr, Arr, int],
) -> None:
    events, truth, _ = goog_window
    cmds = _schedule(events, truth)
    cfg = BacktestConfig(order_latency_ns=100_000, order_jitter_ns=50_000, seed=3)
    rep, extra = simulate(events, cmds, cfg, seed_row=truth[0], truth=truth)
    bt = Backtester.from_lobster(events, truth, cfg)
    got, got_x = [], []
    for c in cmds:
        bt.run_until(int(c["ts"]), Wake.BOOK | Wake.TRADE, 5)  # wakes are ignored: same result
        while bt.now < int(c["ts"]):
            bt.run_until(int(c["ts"]), Wake.BOOK | Wake.TRADE, 5)
        bt.send(np.array([c], dtype=ORDER_COMMAND))
    while bt.run_until(wake=Wake.REPORT)[0] != Wake.END:
        r, x = bt.take_reports()
        got.append(r)
        got_x.append(x)
    r, x = bt.take_reports()
    got.append(r)
    got_x.append(x)
    assert np.concatenate(got).tobytes() == rep.tobytes()
    assert np.concatenate(got_x).tobytes() == extra.tobytes()


def test_bench_quote_touch_runs_whole_window(
    goog_window: tuple[Arr, Arr, int],
) -> None:
    events, truth, _ = goog_window
    cfg = BacktestConfig(order_latency_ns=100_000, cancel_latency_ns=100_000, maker_fee_e4=-2000)
    out = bench_quote_touch(events, cfg, seed_row=truth[0], truth=truth, size=100)
    assert out["events"] == len(events) and out["events_per_s"] > 0
    rep = out["reports"]
    fills = rep["type"] == ExecType.ORDER_FILLED
    assert out["fills"] == int(fills.sum()) > 0
    assert (rep["liquidity"][fills] == Liquidity.MAKER).all()  # it only ever joins the touch
    buys = rep["qty"][fills & (rep["side"] == Side.BUY)].sum()
    sells = rep["qty"][fills & (rep["side"] == Side.SELL)].sum()
    assert out["position"] == buys - sells
    assert (
        out["fees_e4"] == int(out["extras"]["fee_e4"].sum()) == -2000 * int(rep["qty"][fills].sum())
    )


def test_venue_book_equals_lobster_file_without_orders(
    goog_window: tuple[Arr, Arr, int],
) -> None:
    """Seeding + unknown-id handling + revealed depth: with no orders of ours, all 10 levels of
    our venue book equal the LOBSTER orderbook file after every batch of same-ts events."""
    events, truth, _ = goog_window
    bt = Backtester.from_lobster(events, truth)
    ts = events["ts_event"]
    checked = 0
    while True:
        why, _ = bt.run_until(wake=Wake.BOOK | Wake.TRADE, depth_levels=10)
        if why & Wake.END:
            break
        c = bt.cursor - 1
        if c + 1 < len(events) and ts[c + 1] == ts[c]:
            continue  # mid-batch: the file only shows the book after the last of them
        assert bt.depth(10).tolist() == lobster_depth(truth[c]).tolist(), f"row {c}"
        checked += 1
    assert checked > 5000
