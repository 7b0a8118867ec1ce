"""TWAP (passive, re-pegged, crossed at slice end), aggressive TWAP, VWAP, POV, naive."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.strategy.algos.base import ExecAlgo, ParentSpec
from minihft.strategy.algos.schedules import cumulative_targets, slice_edges
from minihft.strategy.base import Records, StrategyContext, Subscription


class SlicedAlgo(ExecAlgo):
    """Slices with cumulative targets: passive at the touch during a slice, crossed at its end."""

    def __init__(self, parent: ParentSpec, weights: npt.ArrayLike, **kw: Any) -> None:
        super().__init__(parent, **kw)
        w = np.asarray(weights, dtype=np.float64)
        self.edges = slice_edges(parent.start_ns, parent.end_ns, int(w.size))
        self.targets = cumulative_targets(parent.qty, w)
        ends = zip(self.edges[1:], self.targets, strict=True)
        self.cross_points = [(int(t), int(q)) for t, q in ends]

    def passive_target(self, now: int) -> int:
        k = int(np.searchsorted(self.edges, now, side="right")) - 1
        return int(self.targets[min(max(k, 0), len(self.targets) - 1)])


class Twap(SlicedAlgo):
    name = "twap"

    def __init__(self, parent: ParentSpec, *, slices: int = 10, **kw: Any) -> None:
        super().__init__(parent, np.ones(slices), **kw)


class Vwap(SlicedAlgo):
    """weights: the volume profile per slice, estimated without lookahead (schedules.py)."""

    name = "vwap"

    def __init__(self, parent: ParentSpec, *, weights: npt.ArrayLike, **kw: Any) -> None:
        super().__init__(parent, weights, **kw)


class AggressiveTwap(ExecAlgo):
    """Crosses each slice's quantity at the slice start."""

    name = "twap_aggr"
    passive = False

    def __init__(self, parent: ParentSpec, *, slices: int = 10, **kw: Any) -> None:
        super().__init__(parent, **kw)
        edges = slice_edges(parent.start_ns, parent.end_ns, slices)
        targets = cumulative_targets(parent.qty, np.ones(slices))
        self.cross_points = [(int(t), int(q)) for t, q in zip(edges[:-1], targets, strict=True)]


class Naive(ExecAlgo):
    """One marketable order for everything at start (retried on the book until filled)."""

    name = "naive"
    passive = False

    def __init__(self, parent: ParentSpec, **kw: Any) -> None:
        super().__init__(parent, **kw)
        self.cross_points = [(parent.start_ns, parent.qty)]


class Pov(ExecAlgo):
    """Percentage of volume: target = rate x market volume printed since start (the tape).
    Posts passively up to `clip` ahead of the target; crosses when `tolerance` behind."""

    name = "pov"

    def __init__(
        self,
        parent: ParentSpec,
        *,
        rate: float = 0.1,
        clip: int = 100,
        tolerance: int | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(parent, **kw)
        if not 0 < rate <= 1:
            raise ValueError(f"pov rate must be in (0, 1], got {rate}")
        self.rate = rate
        self.clip = clip
        self.tolerance = tolerance if tolerance is not None else max(2 * clip, parent.qty // 50)
        self.subscriptions = {parent.symbol_id: Subscription(depth=1, trades=True)}
        self.market_volume = 0
        self.curve: list[tuple[int, int]] = [(parent.start_ns, 0)]

    def _target(self) -> int:
        return min(self.p.qty, math.ceil(self.rate * self.market_volume))

    def passive_target(self, now: int) -> int:
        return min(self.p.qty, self._target() + self.clip)

    def on_trade(self, ctx: StrategyContext, symbol_id: int, trades: Records) -> None:
        if symbol_id != self.p.symbol_id:
            return
        now = ctx.now_ns()
        sel = (trades["ts"] >= self.p.start_ns) & (trades["ts"] <= self.p.end_ns)
        self.market_volume += int(trades["qty"][sel].sum())
        t = self._target()
        self.curve.append((now, t))
        if t - self.filled >= self.tolerance:
            self.cross_target = max(self.cross_target, t)
        self._reconcile(ctx)

    def schedule(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        pts = [*self.curve, (self.p.end_ns, self.p.qty)]
        return (
            np.array([t for t, _ in pts], dtype=np.int64),
            np.array([q for _, q in pts], dtype=np.float64),
        )
