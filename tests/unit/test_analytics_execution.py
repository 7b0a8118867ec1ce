"""Execution metrics on tiny hand-checked scenarios (arithmetic in the comments)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from minihft.analytics import Fills, Mids, ParentOrder, Tape, execution_metrics
from minihft.records import EXEC_REPORT, ExecType, Liquidity, Side

S = 1_000_000_000
M, T = Liquidity.MAKER, Liquidity.TAKER


def buy_case() -> tuple[ParentOrder, Fills, Tape, Mids]:
    # Buy 100 over [0, 10 s], arrival mid 10000 ticks ($1.0000). Mid rises 10000 -> 10010 (5 s)
    # -> 10020 (10 s) and stays there until 20 s (data end).
    parent = ParentOrder("XYZ", Side.BUY, 100, 0, 10 * S, 10000.0, parent_id="p1")
    fills = Fills(
        ts=[1 * S, 6 * S],
        price=[10005, 10010],
        qty=[30, 30],
        side=[0, 0],
        liquidity=[T, M],
        fee=[0.03, -0.006],
    )
    tape = Tape(ts=[2 * S, 7 * S, 11 * S], price=[10004, 10012, 10030], qty=[100, 100, 500])
    mids = Mids(ts=[0, 5 * S, 10 * S, 20 * S], mid=[10000, 10010, 10020, 10020])
    return parent, fills, tape, mids


def mirror(parent: ParentOrder, fills: Fills, mids: Mids) -> tuple[ParentOrder, Fills, Mids]:
    """The same execution reflected around the arrival mid, as a sell."""
    a = parent.arrival_mid
    p = ParentOrder(
        parent.symbol,
        Side.SELL,
        parent.qty,
        parent.start_ns,
        parent.end_ns,
        a,
        parent_id=parent.parent_id,
    )
    f = Fills(
        fills.ts,
        (2 * a - fills.price).astype(np.int64),
        fills.qty,
        np.ones(len(fills), np.uint8),
        fills.liquidity,
        fills.fee,
    )
    return p, f, Mids(mids.ts, 2 * a - mids.mid)


def test_buy_partial_fill_hand_checked() -> None:
    parent, fills, tape, mids = buy_case()
    m = execution_metrics(parent, fills, tape, mids)
    assert m.filled_qty == 60 and m.fill_rate == pytest.approx(0.6)
    # avg = (30*10005 + 30*10010)/60 = 10007.5; IS_exec = (10007.5-10000)/10000*1e4 = 7.5 bps
    assert m.avg_price == pytest.approx(10007.5)
    assert m.is_exec_bps == pytest.approx(7.5)
    # 60 * 7.5 ticks * 1e-4 $/tick = $0.045
    assert m.is_exec_usd == pytest.approx(0.045)
    # 40 unfilled, end mid 10020: 40 * 20 ticks = 800 ticks = $0.08
    assert m.end_mid == 10020 and m.opportunity_usd == pytest.approx(0.08)
    # fees 0.03 - 0.006 = $0.024; total 0.045 + 0.08 + 0.024 = $0.149 on $100 paper = 14.9 bps
    assert m.fees_usd == pytest.approx(0.024)
    assert m.is_total_usd == pytest.approx(0.149)
    assert m.is_total_bps == pytest.approx(14.9)
    # components over paper notional 100*10000 ticks: spread 30*5 + 30*0 = 150 -> 1.5 bps,
    # drift (mid before fill - arrival) 30*0 + 30*10 = 300 -> 3 bps, opportunity 8, fees 2.4
    assert m.spread_bps == pytest.approx(1.5)
    assert m.drift_bps == pytest.approx(3.0)
    assert m.opportunity_bps == pytest.approx(8.0)
    assert m.fees_bps == pytest.approx(2.4)
    parts = m.spread_bps + m.drift_bps + m.opportunity_bps + m.fees_bps
    assert parts == pytest.approx(m.is_total_bps)
    assert m.passive_share == pytest.approx(0.5)
    # Tape in window: 100@10004 + 100@10012 (the 11 s print is outside); ours added (not in
    # tape): volume 260, notional 1000400 + 1001200 + 600450 = 2602050
    vwap = 2602050 / 260
    assert m.market_volume == 260 and m.interval_vwap == pytest.approx(vwap)
    assert m.participation == pytest.approx(60 / 260)
    assert m.vwap_slippage_bps == pytest.approx((10007.5 - vwap) / vwap * 1e4)
    # fees over executed notional $60.045
    assert m.fees_bps_notional == pytest.approx(0.024 / 60.045 * 1e4)


def test_markouts_hand_checked_and_beyond_data() -> None:
    parent, fills, tape, mids = buy_case()
    m = execution_metrics(parent, fills, tape, mids)
    # 1 s: fill@1s sees mid(2s)=10000 -> (10000-10005)/10005; fill@6s sees mid(7s)=10010 -> 0
    assert m.markout_bps[1] == pytest.approx(0.5 * (-5 / 10005 * 1e4))
    # 10 s: both see 10020: (15/10005 + 10/10010)/2 * 1e4
    assert m.markout_bps[10] == pytest.approx(0.5 * (15 / 10005 + 10 / 10010) * 1e4)
    # 60 s: 61 s and 66 s are past the data end (20 s)
    assert math.isnan(m.markout_bps[60]) and m.markout_missing[60] == 2
    assert any("markout 60s" in n and "beyond data end" in n for n in m.notes)
    # A shorter data end cuts the 10 s horizon for the first fill only (11 s <= 12 s < 16 s)
    m2 = execution_metrics(parent, fills, tape, mids, data_end_ns=12 * S)
    assert m2.markout_missing[10] == 1
    assert m2.markout_bps[10] == pytest.approx(15 / 10005 * 1e4)


def test_sell_mirror_has_identical_costs() -> None:
    parent, fills, tape, mids = buy_case()
    b = execution_metrics(parent, fills, tape, mids)
    sp, sf, sm = mirror(parent, fills, mids)
    stape = Tape(tape.ts, (20000 - tape.price), tape.qty)
    s = execution_metrics(sp, sf, stape, sm)
    for name in (
        "is_exec_bps",
        "is_total_bps",
        "spread_bps",
        "drift_bps",
        "opportunity_bps",
        "fees_bps",
        "is_total_usd",
    ):
        # bps denominators are the same arrival mid, so mirrored costs are equal and positive
        assert getattr(s, name) == pytest.approx(getattr(b, name)), name
        assert getattr(s, name) > 0
    assert s.is_exec_bps == pytest.approx(7.5)


def test_sell_into_rising_market_is_negative_cost() -> None:
    # Sell 10 at 10020 when arrival mid was 10000: we got 20 ticks better -> cost -20 bps
    parent = ParentOrder("XYZ", Side.SELL, 10, 0, S, 10000.0)
    fills = Fills([S // 2], [10020], [10], [1], [M])
    mids = Mids([0, S // 2 + 1, 3 * S], [10000, 10030, 10030])
    m = execution_metrics(parent, fills, Tape.empty(), mids)
    assert m.is_exec_bps == pytest.approx(-20.0)
    assert m.is_total_bps == pytest.approx(-20.0)  # fully filled, no fees
    # Markout 1 s: mid 10030 > sale price 10020 -> adverse for a seller: -(10)/10020*1e4
    assert m.markout_bps[1] == pytest.approx(-10 / 10020 * 1e4)


def test_no_fills() -> None:
    parent, _, tape, mids = buy_case()
    m = execution_metrics(parent, Fills.empty(), tape, mids)
    assert m.filled_qty == 0 and m.fill_rate == 0 and m.n_fills == 0
    assert math.isnan(m.is_exec_bps) and math.isnan(m.avg_price)
    assert math.isnan(m.passive_share) and math.isnan(m.vwap_slippage_bps)
    # everything is opportunity cost: 100 * (10020 - 10000) / (100 * 10000) * 1e4 = 20 bps
    assert m.is_total_bps == pytest.approx(20.0)
    assert m.participation == 0.0 and m.market_volume == 200
    assert all(math.isnan(v) for v in m.markout_bps.values())


def test_zero_market_volume() -> None:
    parent, _, _, mids = buy_case()
    m = execution_metrics(parent, Fills.empty(), Tape.empty(), mids)
    assert m.market_volume == 0
    assert math.isnan(m.participation) and math.isnan(m.interval_vwap)
    assert any("zero market volume" in n for n in m.notes)


def test_own_in_tape_does_not_double_count() -> None:
    parent, fills, tape, mids = buy_case()
    m = execution_metrics(parent, fills, tape, mids, own_in_tape=True)
    assert m.market_volume == 200
    assert m.participation == pytest.approx(60 / 200)
    assert m.interval_vwap == pytest.approx((100 * 10004 + 100 * 10012) / 200)


def test_from_exec_reports_keeps_fills_only() -> None:
    r = np.zeros(3, dtype=EXEC_REPORT)
    r["type"] = [ExecType.ORDER_ACCEPTED, ExecType.ORDER_FILLED, ExecType.ORDER_FILLED]
    r["ts"] = [1, 5, 3]
    r["price"] = [0, 101, 102]
    r["qty"] = [0, 7, 8]
    r["liquidity"] = [0, M, T]
    f = Fills.from_exec_reports(r, fee=[0.0, 0.5, 0.25])
    assert f.ts.tolist() == [3, 5] and f.qty.tolist() == [8, 7]
    assert f.fee.tolist() == [0.25, 0.5] and f.liquidity.tolist() == [T, M]
    with pytest.raises(ValueError, match="fee: length 4"):
        Fills.from_exec_reports(r, fee=[0.0] * 4)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"qty": [5, -1]}, r"fills\.qty\[1\] = -1"),
        ({"ts": [5, 3]}, r"fills\.ts\[1\] = 3.*non-decreasing"),
        ({"side": [0, 2]}, r"fills\.side\[1\] = 2"),
        ({"side": [0, -1]}, r"fills\.side\[1\] = -1"),
        ({"price": [1, 2, 3]}, r"fills: field lengths differ"),
        ({"fee": [0.0, float("nan")]}, r"fills\.fee\[1\].*not finite"),
    ],
)
def test_bad_fills_name_field_and_row(kwargs: dict[str, list[float]], msg: str) -> None:
    base: dict[str, list[float]] = {
        "ts": [1, 2],
        "price": [10, 10],
        "qty": [1, 1],
        "side": [0, 0],
        "liquidity": [1, 1],
        "fee": [0.0, 0.0],
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        Fills(**base)


def test_wrong_side_fill_and_bad_parent() -> None:
    parent, _, tape, mids = buy_case()
    with pytest.raises(ValueError, match=r"fills\.side\[0\] = 1: parent 'p1'"):
        execution_metrics(parent, Fills([1], [10], [1], [1], [M]), tape, mids)
    with pytest.raises(ValueError, match="qty = 0"):
        ParentOrder("XYZ", Side.BUY, 0, 0, 1, 100.0)
    with pytest.raises(ValueError, match="end_ns"):
        ParentOrder("XYZ", Side.BUY, 1, 5, 1, 100.0)
    with pytest.raises(ValueError, match=r"mids\.ts\[2\]"):
        Mids([0, 5, 4], [1.0, 1.0, 1.0])


def test_to_dict_is_strict_json_with_flat_markouts() -> None:
    parent, fills, tape, mids = buy_case()
    d = json.loads(
        json.dumps(execution_metrics(parent, fills, tape, mids).to_dict(), allow_nan=False)
    )
    assert d["markout_60s_bps"] is None and d["markout_60s_missing"] == 2
    assert d["markout_1s_bps"] == pytest.approx(0.5 * (-5 / 10005 * 1e4))
    assert d["is_total_bps"] == pytest.approx(14.9) and d["side"] == 0
    m = execution_metrics(parent, Fills.empty(), tape, mids)
    assert json.loads(json.dumps(m.to_dict(), allow_nan=False))["is_exec_bps"] is None
    assert math.isnan(m.value("markout_10s_bps")) and m.value("fill_rate") == 0.0
