"""Percentile bootstrap for means and medians, and a paired bootstrap for strategy differences.

Resampling is vectorised: a (chunk, n) index matrix per chunk, reduced along axis 1, with the
chunk size bounded so memory stays near CHUNK_CELLS indices whatever n is. Seeded with numpy's
PCG64 so the same inputs give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Stat = Literal["mean", "median"]
CHUNK_CELLS = 2_000_000

_REDUCE: dict[str, Callable[..., NDArray[np.float64]]] = {
    "mean": np.mean,
    "median": np.median,
}


@dataclass(frozen=True)
class BootstrapCI:
    stat: str
    estimate: float
    lo: float
    hi: float
    n: int  # finite observations used
    n_dropped: int  # NaN observations ignored
    confidence: float
    n_resamples: int

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


@dataclass(frozen=True)
class PairedCI(BootstrapCI):
    """CI of stat(a - b) over pairs; p_value is the two-sided bootstrap tail probability of 0."""

    p_value: float = math.nan

    @property
    def significant(self) -> bool:
        return math.isfinite(self.lo) and (self.lo > 0 or self.hi < 0)


def _check(stat: str, n_resamples: int, confidence: float) -> None:
    if stat not in _REDUCE:
        raise ValueError(f"stat = {stat!r}: must be one of {sorted(_REDUCE)}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples = {n_resamples}: must be >= 1")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence = {confidence}: must be in (0, 1)")


def bootstrap_distribution(
    x: NDArray[np.float64], stat: Stat, n_resamples: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """stat of n_resamples resamples (with replacement) of x, shape (n_resamples,)."""
    n = x.size
    reduce = _REDUCE[stat]
    out = np.empty(n_resamples)
    chunk = max(1, CHUNK_CELLS // max(n, 1))
    for lo in range(0, n_resamples, chunk):
        k = min(chunk, n_resamples - lo)
        idx = rng.integers(0, n, size=(k, n))
        out[lo : lo + k] = reduce(x[idx], axis=1)
    return out


def _finite(name: str, values: ArrayLike) -> NDArray[np.float64]:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {x.shape}")
    return x


def bootstrap_ci(
    values: ArrayLike,
    stat: Stat = "mean",
    *,
    n_resamples: int = 5000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile bootstrap CI of the mean or median; NaNs are dropped and counted."""
    _check(stat, n_resamples, confidence)
    raw = _finite("values", values)
    x = raw[np.isfinite(raw)]
    dropped = int(raw.size - x.size)
    if x.size == 0:
        return BootstrapCI(stat, math.nan, math.nan, math.nan, 0, dropped, confidence, 0)
    est = float(_REDUCE[stat](x))
    dist = bootstrap_distribution(x, stat, n_resamples, np.random.default_rng(seed))
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(dist, [alpha, 1 - alpha])
    return BootstrapCI(
        stat, est, float(lo), float(hi), int(x.size), dropped, confidence, n_resamples
    )


def paired_bootstrap(
    a: ArrayLike,
    b: ArrayLike,
    stat: Stat = "mean",
    *,
    n_resamples: int = 5000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedCI:
    """CI of stat(a_i - b_i) for two strategies measured on the same parent orders i.

    Resampling whole pairs keeps the per-order common component (the market that day) out of
    the difference, which is what makes the paired test far tighter than two separate CIs.
    Pairs where either side is NaN are dropped and counted.
    """
    _check(stat, n_resamples, confidence)
    xa, xb = _finite("a", a), _finite("b", b)
    if xa.size != xb.size:
        raise ValueError(f"paired_bootstrap: a has {xa.size} values, b has {xb.size}")
    ok = np.isfinite(xa) & np.isfinite(xb)
    d = xa[ok] - xb[ok]
    dropped = int(xa.size - d.size)
    if d.size == 0:
        return PairedCI(stat, math.nan, math.nan, math.nan, 0, dropped, confidence, 0)
    est = float(_REDUCE[stat](d))
    dist = bootstrap_distribution(d, stat, n_resamples, np.random.default_rng(seed))
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(dist, [alpha, 1 - alpha])
    # Two-sided: twice the smaller share of resamples on either side of zero.
    tail = min(float(np.mean(dist <= 0)), float(np.mean(dist >= 0)))
    return PairedCI(
        stat,
        est,
        float(lo),
        float(hi),
        int(d.size),
        dropped,
        confidence,
        n_resamples,
        p_value=min(1.0, 2 * tail),
    )
