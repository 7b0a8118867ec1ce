"""P&L: a FIFO round trip with a position flip, drawdown, and a lot-queue reference model."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from minihft.analytics import Fills, Mids, max_drawdown, pnl_curve, time_grid

S = 1_000_000_000


def round_trip() -> tuple[Fills, Mids]:
    # t=1 buy 100@10000, t=2 buy 100@10010, t=3 sell 150@10030, t=4 sell 100@10000 (flips to
    # short 50), t=5 buy 50@9990 (flat). Fee $0.01 per fill.
    fills = Fills(
        ts=[1 * S, 2 * S, 3 * S, 4 * S, 5 * S],
        price=[10000, 10010, 10030, 10000, 9990],
        qty=[100, 100, 150, 100, 50],
        side=[0, 0, 1, 1, 0],
        liquidity=[2, 2, 2, 2, 2],
        fee=[0.01] * 5,
    )
    mids = Mids(ts=[0, 3 * S, 4 * S], mid=[10000.0, 10020.0, 10005.0])
    return fills, mids


def test_fifo_round_trip_hand_checked() -> None:
    fills, mids = round_trip()
    c = pnl_curve(fills, mids, [1 * S, 2 * S, 3 * S, 4 * S, 5 * S])
    assert c.position.tolist() == [100, 200, 50, -50, 0]
    # FIFO at t=3: 100 sold vs the 10000 lot (+30 each) and 50 vs the 10010 lot (+20 each):
    # 3000 + 1000 = 4000 ticks = $0.40 (average cost would give 150 * 25 = $0.375).
    # t=4: 50 sold at 10000 vs the rest of the 10010 lot: -500 ticks -> $0.35.
    # t=5: 50 bought at 9990 covers the short opened at 10000: +500 ticks -> $0.40.
    np.testing.assert_allclose(c.realized, [0, 0, 0.40, 0.35, 0.40], atol=1e-12)
    # Unrealized: t=2 lots 10000 and 10010 at mid 10000 -> -1000 ticks = -$0.10;
    # t=3 50 @10010 at mid 10020 -> +$0.05; t=4 short 50 @10000 at mid 10005 -> -$0.025.
    np.testing.assert_allclose(c.unrealized, [0, -0.10, 0.05, -0.025, 0], atol=1e-12)
    np.testing.assert_allclose(c.fees, [0.01, 0.02, 0.03, 0.04, 0.05], atol=1e-12)
    np.testing.assert_allclose(c.total, [-0.01, -0.12, 0.42, 0.285, 0.35], atol=1e-12)
    # Peak 0.42 at t=3 then 0.285 at t=4: drawdown $0.135
    assert c.drawdown.max_usd == pytest.approx(0.135)
    assert (c.drawdown.peak_index, c.drawdown.trough_index) == (2, 3)
    s = c.summary()
    assert s["realized_usd"] == pytest.approx(0.40) and s["final_position"] == 0


def test_grid_before_first_fill_and_between_fills() -> None:
    fills, mids = round_trip()
    c = pnl_curve(fills, mids, [0, S + S // 2])
    assert c.position.tolist() == [0, 100]
    assert c.total[0] == 0.0 and c.total[1] == pytest.approx(-0.01)


def test_open_position_without_mid_is_nan() -> None:
    fills = Fills([5], [100], [1], [0], [1])
    c = pnl_curve(fills, Mids([10], [100.0]), [6, 10])
    assert math.isnan(c.unrealized[0]) and c.unrealized[1] == 0.0
    assert c.drawdown.max_usd == 0.0  # NaN points are skipped


def test_drawdown_known_curve() -> None:
    # Peaks 8 (index 3) -> trough 2 (index 4): 6; later 10 -> 9 is only 1.
    d = max_drawdown([0, 5, 3, 8, 2, 4, 10, 9])
    assert (d.max_usd, d.peak_index, d.trough_index) == (6.0, 3, 4)
    d = max_drawdown([1, 2, float("nan"), 0.5])
    assert (d.max_usd, d.peak_index, d.trough_index) == (1.5, 1, 3)
    assert max_drawdown([1, 2, 3]).max_usd == 0.0
    assert math.isnan(max_drawdown([]).max_usd)


def test_time_grid() -> None:
    assert time_grid(0, 10, 4).tolist() == [0, 4, 8, 10]
    assert time_grid(0, 8, 4).tolist() == [0, 4, 8]
    with pytest.raises(ValueError, match="step_ns"):
        time_grid(0, 8, 0)
    with pytest.raises(ValueError, match=r"grid_ns\[1\]"):
        pnl_curve(Fills.empty(), Mids([0], [1.0]), [5, 3])


def fifo_reference(ts: list[int], px: list[int], qty: list[int], side: list[int]) -> float:
    """Realized ticks with an explicit lot queue, one fill at a time."""
    lots: deque[list[int]] = deque()  # [signed qty, price]
    realized = 0.0
    for p, q, sd in zip(px, qty, side, strict=True):
        sq = q if sd == 0 else -q
        while sq and lots and (lots[0][0] > 0) != (sq > 0):
            take = min(abs(sq), abs(lots[0][0]))
            sign = 1 if lots[0][0] > 0 else -1
            realized += sign * take * (p - lots[0][1])
            lots[0][0] -= sign * take
            sq += sign * take
            if lots[0][0] == 0:
                lots.popleft()
        if sq:
            lots.append([sq, p])
    return realized


def test_matches_lot_queue_reference_on_random_fills() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(1, 60))
        ts = np.sort(rng.integers(0, 1000, n))
        px = rng.integers(9900, 10100, n)
        qty = rng.integers(1, 300, n)
        side = rng.integers(0, 2, n)
        fills = Fills(ts, px, qty, side, np.full(n, 2))
        mids = Mids([0], [10000.0])
        c = pnl_curve(fills, mids, ts)
        for k in (n // 2, n - 1):
            # grid point k includes every fill with ts <= ts[k] (ties included)
            upto = int(np.searchsorted(ts, ts[k], side="right"))
            ref = fifo_reference(
                ts[:upto].tolist(), px[:upto].tolist(), qty[:upto].tolist(), side[:upto].tolist()
            )
            assert c.realized[k] == pytest.approx(ref * 1e-4, abs=1e-9)
        # realized + unrealized equals cash + position * mid
        signed = np.where(side == 0, -1, 1) * qty * px
        pos = int(np.sum(np.where(side == 0, qty, -qty)))
        assert c.realized[-1] + c.unrealized[-1] == pytest.approx(
            (signed.sum() + pos * 10000.0) * 1e-4, abs=1e-9
        )
