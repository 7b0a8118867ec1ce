"""P&L of a strategy that trades both ways: FIFO realized, unrealized at mid, drawdown.

FIFO has a closed form that vectorises exactly: matching lots first-in-first-out always pairs
the n-th share bought with the n-th share sold, whichever side opened the position and however
often it flips. With CB(t), CS(t) the cumulative shares bought and sold and CostB(u), CostS(u)
the cost of the first u shares bought or sold (piecewise linear in u, so np.interp is exact),
realized(t) = CostS(M) - CostB(M) with M = min(CB, CS). The open lots are the rest, marked to
the mid: unrealized = cash + position * mid - realized.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minihft.analytics.inputs import TICK_USD, Fills, Mids
from minihft.records import Side


@dataclass(frozen=True)
class Drawdown:
    max_usd: float  # >= 0; NaN when the curve has no finite point
    peak_index: int  # grid index of the peak before the worst trough (-1 if undefined)
    trough_index: int


@dataclass(frozen=True)
class PnlCurve:
    """Everything in dollars except position (shares), on `ts` (int64 ns)."""

    ts: NDArray[np.int64]
    position: NDArray[np.int64]
    realized: NDArray[np.float64]  # gross of fees
    unrealized: NDArray[np.float64]
    fees: NDArray[np.float64]  # cumulative fees paid (negative = rebates)
    total: NDArray[np.float64]  # realized + unrealized - fees
    drawdown: Drawdown

    def summary(self) -> dict[str, Any]:
        def last(a: NDArray[np.float64]) -> float | None:
            v = float(a[-1]) if a.size else math.nan
            return v if math.isfinite(v) else None

        dd = self.drawdown.max_usd
        return {
            "realized_usd": last(self.realized),
            "unrealized_usd": last(self.unrealized),
            "fees_usd": last(self.fees),
            "total_usd": last(self.total),
            "final_position": int(self.position[-1]) if self.position.size else 0,
            "max_drawdown_usd": dd if math.isfinite(dd) else None,
        }


def time_grid(start_ns: int, end_ns: int, step_ns: int) -> NDArray[np.int64]:
    """start, start+step, ..., always ending exactly at end_ns."""
    if step_ns <= 0:
        raise ValueError(f"step_ns = {step_ns}: must be > 0")
    if end_ns < start_ns:
        raise ValueError(f"end_ns = {end_ns} < start_ns = {start_ns}")
    g = np.arange(start_ns, end_ns, step_ns, dtype=np.int64)
    return np.append(g, np.int64(end_ns))


def max_drawdown(equity: ArrayLike) -> Drawdown:
    """Largest fall from a running peak. NaN points are skipped (they neither set a peak nor a
    trough)."""
    e = np.asarray(equity, dtype=np.float64)
    if e.size == 0 or not np.isfinite(e).any():
        return Drawdown(math.nan, -1, -1)
    peak = np.fmax.accumulate(np.where(np.isfinite(e), e, -np.inf))
    dd = np.where(np.isfinite(e), peak - e, -np.inf)
    trough = int(np.argmax(dd))
    head = np.where(np.isfinite(e[: trough + 1]), e[: trough + 1], -np.inf)
    return Drawdown(float(dd[trough]), int(np.argmax(head)), trough)


def _cum(fills: Fills, mask: NDArray[np.bool_]) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    ts = fills.ts[mask]
    q = fills.qty[mask].astype(np.float64)
    notional = q * fills.price[mask].astype(np.float64)
    cq = np.concatenate(([0.0], np.cumsum(q)))
    cn = np.concatenate(([0.0], np.cumsum(notional)))
    return ts, cq, cn


def pnl_curve(fills: Fills, mids: Mids, grid_ns: ArrayLike) -> PnlCurve:
    """P&L at each grid time, counting fills with ts <= grid time and the mid prevailing then.

    Unrealized is NaN while a position is open and no mid exists yet.
    """
    g = np.asarray(grid_ns, dtype=np.int64)
    if g.ndim != 1:
        raise ValueError(f"grid_ns: expected a 1-d array, got shape {g.shape}")
    if g.size > 1 and np.any(g[1:] < g[:-1]):
        row = int(np.flatnonzero(g[1:] < g[:-1])[0]) + 1
        raise ValueError(f"grid_ns[{row}] = {g[row]}: grid must be non-decreasing")

    buy = fills.side == Side.BUY
    tb, cbq, cbn = _cum(fills, buy)
    ts_, csq, csn = _cum(fills, ~buy)
    nb = np.searchsorted(tb, g, side="right")
    ns = np.searchsorted(ts_, g, side="right")
    cb, cs = cbq[nb], csq[ns]
    matched = np.minimum(cb, cs)
    realized_t = np.interp(matched, csq, csn) - np.interp(matched, cbq, cbn)
    cash_t = csn[ns] - cbn[nb]
    pos = cb - cs
    mid = mids.at(g)
    with np.errstate(invalid="ignore"):
        unreal_t = np.where(pos == 0, 0.0, cash_t + pos * mid - realized_t)
    fee_cum = np.concatenate(([0.0], np.cumsum(fills.fee)))
    fees = fee_cum[np.searchsorted(fills.ts, g, side="right")]
    realized = realized_t * TICK_USD
    unrealized = unreal_t * TICK_USD
    total = realized + unrealized - fees
    return PnlCurve(
        ts=g,
        position=pos.astype(np.int64),
        realized=realized,
        unrealized=unrealized,
        fees=fees,
        total=total,
        drawdown=max_drawdown(total),
    )
