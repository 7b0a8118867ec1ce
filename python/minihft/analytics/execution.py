"""Per parent order execution metrics (docs/metrics.md has the formulas).

Sign convention: with s = +1 for a buy and -1 for a sell, every *cost* is s * (price paid -
benchmark), so a positive cost is worse for us on both sides. Markouts are the exception: they
are P&L of the fill after h seconds, so a positive markout is good for us.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from minihft.analytics.inputs import BPS, TICK_USD, Fills, Mids, ParentOrder, Tape
from minihft.records import Liquidity

DEFAULT_HORIZONS_S: tuple[int, ...] = (1, 10, 60)
NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class ExecutionMetrics:
    parent_id: str
    symbol: str
    side: int
    parent_qty: int
    filled_qty: int
    n_fills: int
    avg_price: float  # ticks, qty-weighted; NaN without fills
    arrival_mid: float  # ticks
    end_mid: float  # ticks, mid at end_ns (opportunity-cost benchmark)
    interval_vwap: float  # ticks, market VWAP over [start_ns, end_ns]
    market_volume: int
    fill_rate: float
    passive_share: float
    participation: float
    is_exec_bps: float
    is_total_bps: float
    is_exec_usd: float
    is_total_usd: float
    # Components of is_total_bps (all in bps of the paper notional parent_qty * arrival_mid):
    spread_bps: float
    drift_bps: float
    opportunity_bps: float
    fees_bps: float
    opportunity_usd: float
    fees_usd: float
    fees_bps_notional: float  # fees in bps of executed notional
    vwap_slippage_bps: float
    markout_bps: dict[int, float] = field(default_factory=dict)
    markout_missing: dict[int, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None, markouts flatten to markout_<h>s_bps."""
        d = asdict(self)
        mk = d.pop("markout_bps")
        miss = d.pop("markout_missing")
        for h, v in mk.items():
            d[f"markout_{h}s_bps"] = v
            d[f"markout_{h}s_missing"] = miss.get(h, 0)
        d["notes"] = list(self.notes)
        return {k: _json_num(v) for k, v in d.items()}

    def value(self, name: str) -> float:
        """A metric by table column name (markout_<h>s_bps included)."""
        if name.startswith("markout_") and name.endswith("s_bps"):
            return self.markout_bps.get(int(name[len("markout_") : -len("s_bps")]), math.nan)
        return float(getattr(self, name))


def _json_num(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _div(num: float, den: float) -> float:
    return num / den if den != 0 and math.isfinite(den) else math.nan


def execution_metrics(
    parent: ParentOrder,
    fills: Fills,
    tape: Tape,
    mids: Mids,
    *,
    horizons_s: Sequence[int] = DEFAULT_HORIZONS_S,
    own_in_tape: bool = False,
    data_end_ns: int | None = None,
) -> ExecutionMetrics:
    """Metrics of one parent order.

    own_in_tape: whether `tape` already contains our fills. Market volume and interval VWAP
    cover all trades in the window, so our fills are added when the tape does not hold them.
    data_end_ns: last time the mid series is valid (default: its last timestamp); markout
    horizons beyond it are NaN and counted in markout_missing.
    """
    pid = parent.parent_id or parent.symbol
    if len(fills) and np.any(fills.side != int(parent.side)):
        row = int(np.flatnonzero(fills.side != int(parent.side))[0])
        raise ValueError(
            f"fills.side[{row}] = {int(fills.side[row])}: parent {pid!r} has side "
            f"{int(parent.side)}; pass only this parent's fills"
        )
    s = parent.sign
    a = float(parent.arrival_mid)
    q = fills.qty.astype(np.float64)
    p = fills.price.astype(np.float64)
    filled = int(fills.qty.sum())
    unfilled = parent.qty - filled
    notes: list[str] = []
    if unfilled < 0:
        notes.append(f"overfilled by {-unfilled}")

    exec_notional = float(q @ p)  # ticks * shares
    avg_px = _div(exec_notional, filled)
    # Price at which each fill traded relative to arrival; cost in tick*shares.
    exec_cost_ticks = s * (exec_notional - filled * a)
    fees_usd = float(fills.fee.sum())

    end_mid = float(mids.at(parent.end_ns)[()])
    if unfilled > 0:
        if math.isnan(end_mid):
            notes.append("no mid at end_ns: opportunity cost unknown")
        opp_ticks = s * unfilled * (end_mid - a)
    else:
        opp_ticks = 0.0

    paper_ticks = parent.qty * a
    # The mid just before each fill splits its cost into what it paid over the touch (spread,
    # negative when passive) and how far the market had moved since arrival (impact + timing).
    mid_pre = mids.at(fills.ts, strict=True)
    if np.isnan(mid_pre).any():
        notes.append("fills before the first mid: arrival mid used as their pre-fill mid")
        mid_pre = np.where(np.isnan(mid_pre), a, mid_pre)
    spread_ticks = s * float(q @ (p - mid_pre))
    drift_ticks = s * float(q @ (mid_pre - a))

    fees_bps = fees_usd / (paper_ticks * TICK_USD) * BPS
    total_ticks = exec_cost_ticks + opp_ticks
    is_total_usd = total_ticks * TICK_USD + fees_usd

    # Market activity in the window (inclusive both ends).
    lo = int(np.searchsorted(tape.ts, parent.start_ns, side="left"))
    hi = int(np.searchsorted(tape.ts, parent.end_ns, side="right"))
    mv = int(tape.qty[lo:hi].sum())
    mn = float(tape.qty[lo:hi].astype(np.float64) @ tape.price[lo:hi].astype(np.float64))
    if not own_in_tape:
        mv += filled
        mn += exec_notional
    vwap = _div(mn, mv)
    if mv == 0:
        notes.append("zero market volume in window: VWAP and participation undefined")

    maker = int(fills.qty[fills.liquidity == Liquidity.MAKER].sum())

    end = mids.end_ns if data_end_ns is None else int(data_end_ns)
    markout: dict[int, float] = {}
    missing: dict[int, int] = {}
    for h in horizons_s:
        th = fills.ts + np.int64(h) * NS_PER_S
        m_h = mids.at(th)
        valid = (th <= end) & ~np.isnan(m_h)
        missing[int(h)] = int((~valid).sum())
        if valid.any():
            per_fill = s * (m_h[valid] - p[valid]) / p[valid] * BPS
            markout[int(h)] = float(q[valid] @ per_fill / q[valid].sum())
        else:
            markout[int(h)] = math.nan
        if missing[int(h)] and len(fills):
            notes.append(
                f"markout {h}s: {missing[int(h)]} of {len(fills)} fills beyond data end (NaN)"
            )

    return ExecutionMetrics(
        parent_id=pid,
        symbol=parent.symbol,
        side=int(parent.side),
        parent_qty=int(parent.qty),
        filled_qty=filled,
        n_fills=len(fills),
        avg_price=avg_px,
        arrival_mid=a,
        end_mid=end_mid,
        interval_vwap=vwap,
        market_volume=mv,
        fill_rate=filled / parent.qty,
        passive_share=_div(maker, filled),
        participation=_div(filled, mv),
        is_exec_bps=s * _div(avg_px - a, a) * BPS if filled else math.nan,
        is_total_bps=is_total_usd / (paper_ticks * TICK_USD) * BPS,
        is_exec_usd=exec_cost_ticks * TICK_USD,
        is_total_usd=is_total_usd,
        spread_bps=spread_ticks / paper_ticks * BPS,
        drift_bps=drift_ticks / paper_ticks * BPS,
        opportunity_bps=opp_ticks / paper_ticks * BPS,
        fees_bps=fees_bps,
        opportunity_usd=opp_ticks * TICK_USD,
        fees_usd=fees_usd,
        fees_bps_notional=_div(fees_usd, exec_notional * TICK_USD) * BPS,
        vwap_slippage_bps=s * _div(avg_px - vwap, vwap) * BPS if filled else math.nan,
        markout_bps=markout,
        markout_missing=missing,
        notes=tuple(notes),
    )


def metric_column(metrics: Sequence[ExecutionMetrics], name: str) -> np.ndarray[Any, Any]:
    """One metric across parent orders as a float array (NaN where undefined)."""
    return np.array([m.value(name) for m in metrics], dtype=np.float64)


def default_schedule(parent: ParentOrder, n: int = 50) -> tuple[np.ndarray[Any, Any], Any]:
    """Linear (TWAP) target cumulative quantity, for plots when the strategy gives none."""
    ts = np.linspace(parent.start_ns, parent.end_ns, n).astype(np.int64)
    return ts, np.linspace(0.0, float(parent.qty), n)
