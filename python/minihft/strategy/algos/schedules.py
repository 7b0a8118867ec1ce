"""Target schedules: slice boundaries and cumulative quantities, plain numpy, no market data.

VWAP volume profile without lookahead: the profile of the window [start, end) is estimated only
from prints strictly before `start` — by default the window of equal length just before start,
cut into the same slices (volume shape persists over short horizons), shrunk half-way towards
uniform so that one noisy interval cannot make a slice empty. With less than `min_volume`
shares before start, or when the data begins less than one window before start, the profile is
uniform (VWAP = TWAP) and says so in the run's status notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def slice_edges(start_ns: int, end_ns: int, n: int) -> I64:
    """n + 1 boundaries from start to end, integer ns (last = end exactly)."""
    if n <= 0:
        raise ValueError(f"slices must be > 0, got {n}")
    return start_ns + (np.arange(n + 1, dtype=np.int64) * (end_ns - start_ns)) // n


def cumulative_targets(qty: int, weights: npt.ArrayLike) -> I64:
    """Cumulative integer targets after each slice: round(qty * cumsum(w) / sum(w)), last = qty,
    non-decreasing."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be a non-empty 1-d array of >= 0 with a positive sum: {w}")
    cum = np.floor(qty * np.cumsum(w) / w.sum() + 0.5).astype(np.int64)
    cum[-1] = qty
    return np.maximum.accumulate(cum)


def volume_profile(
    tape_ts: npt.ArrayLike,
    tape_qty: npt.ArrayLike,
    start_ns: int,
    end_ns: int,
    n: int,
    *,
    shrink: float = 0.5,
    min_volume: int = 1000,
    data_start_ns: int | None = None,
) -> tuple[F64, dict[str, Any]]:
    """Slice weights for [start, end) from the prints in [2 start - end, start) only.
    data_start_ns: where the data begins; a lookback reaching before it gives uniform weights
    (empty slices before the open would otherwise read as a volume profile)."""
    ts = np.asarray(tape_ts, dtype=np.int64)
    q = np.asarray(tape_qty, dtype=np.int64)
    length = end_ns - start_ns
    lo = start_ns - length
    sel = (ts >= lo) & (ts < start_ns)
    uniform = np.full(n, 1.0 / n)
    vol = int(q[sel].sum())
    info: dict[str, Any] = {"source": "previous window", "from_ns": lo, "to_ns": start_ns}
    if data_start_ns is not None and lo < data_start_ns:
        info.update(source="uniform", reason="less than one window of data before start")
        return uniform, info
    if vol < min_volume:
        info.update(source="uniform", reason=f"only {vol} shares traded before start")
        return uniform, info
    edges = slice_edges(lo, start_ns, n)
    idx = np.clip(np.searchsorted(edges, ts[sel], side="right") - 1, 0, n - 1)
    per = np.bincount(idx, weights=q[sel].astype(np.float64), minlength=n)
    shares = per / per.sum()
    info["volume"] = vol
    return (1.0 - shrink) * shares + shrink * uniform, info


def time_of_day_profile(
    tape_ts: npt.ArrayLike,
    tape_qty: npt.ArrayLike,
    start_ns: int,
    end_ns: int,
    n: int,
    *,
    shrink: float = 0.5,
    min_volume: int = 1000,
) -> tuple[F64, dict[str, Any]]:
    """Slice weights for [start, end) from ANOTHER day or symbol's prints at the same time of
    day (ts in ns after midnight). Clean when it is another day; the same day's other symbol
    shares the market-wide volume timing of the evaluated window (a mild lookahead), so that
    choice is for comparison, not for claims."""
    ts = np.asarray(tape_ts, dtype=np.int64)
    q = np.asarray(tape_qty, dtype=np.int64)
    sel = (ts >= start_ns) & (ts < end_ns)
    uniform = np.full(n, 1.0 / n)
    vol = int(q[sel].sum())
    info: dict[str, Any] = {"source": "time of day from profile data", "volume": vol}
    if vol < min_volume:
        info.update(source="uniform", reason=f"only {vol} shares in the profile data window")
        return uniform, info
    edges = slice_edges(start_ns, end_ns, n)
    idx = np.clip(np.searchsorted(edges, ts[sel], side="right") - 1, 0, n - 1)
    per = np.bincount(idx, weights=q[sel].astype(np.float64), minlength=n)
    return (1.0 - shrink) * per / per.sum() + shrink * uniform, info
