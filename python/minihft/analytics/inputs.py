"""Plain-array inputs to the analytics: fills, market tape, mid series, parent order.

Everything is numpy arrays so the backtest core, the live runner and tests can feed the analytics
without sharing classes. Prices are integer ticks (1 tick = TICK_USD dollars); mids are float
ticks because a mid can sit on a half tick. Times are int64 nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minihft.records import ExecType, Liquidity, Side

TICK_USD = 1e-4
BPS = 1e4

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
U8 = NDArray[np.uint8]


def _arr(name: str, values: ArrayLike, dtype: Any) -> NDArray[Any]:
    a = np.asarray(values)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {a.shape}")
    if a.size and not np.all(np.isfinite(a.astype(np.float64))):
        row = int(np.flatnonzero(~np.isfinite(a.astype(np.float64)))[0])
        raise ValueError(f"{name}[{row}] = {a[row].item()!r}: not finite")
    return np.ascontiguousarray(a, dtype=dtype)


def _first_bad(name: str, bad: NDArray[np.bool_], values: NDArray[Any], rule: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{row}] = {values[row].item()!r}: {rule}")


def _check_sorted(name: str, ts: I64) -> None:
    if ts.size > 1:
        bad = np.zeros(ts.size, dtype=np.bool_)
        bad[1:] = ts[1:] < ts[:-1]
        _first_bad(name, bad, ts, "timestamps must be non-decreasing")


def _check_lengths(owner: str, **arrays: NDArray[Any]) -> None:
    sizes = {k: v.size for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{owner}: field lengths differ: {sizes}")


@dataclass(frozen=True)
class Fills:
    """Our executions. side: 0 buy / 1 sell; liquidity: 1 maker / 2 taker; fee in dollars
    (negative = rebate)."""

    ts: I64
    price: I64
    qty: I64
    side: U8
    liquidity: U8
    fee: F64

    def __init__(
        self,
        ts: ArrayLike,
        price: ArrayLike,
        qty: ArrayLike,
        side: ArrayLike,
        liquidity: ArrayLike,
        fee: ArrayLike | None = None,
    ) -> None:
        t = _arr("fills.ts", ts, np.int64)
        f = np.zeros(t.size) if fee is None else _arr("fills.fee", fee, np.float64)
        object.__setattr__(self, "ts", t)
        object.__setattr__(self, "price", _arr("fills.price", price, np.int64))
        object.__setattr__(self, "qty", _arr("fills.qty", qty, np.int64))
        # Checked as int64 first so -1 cannot wrap to 255 unnoticed.
        sd = _arr("fills.side", side, np.int64)
        lq = _arr("fills.liquidity", liquidity, np.int64)
        _first_bad("fills.side", (sd < 0) | (sd > 1), sd, "must be 0 (buy) or 1 (sell)")
        _first_bad("fills.liquidity", (lq < 0) | (lq > 2), lq, "must be 0, 1 maker or 2 taker")
        object.__setattr__(self, "side", sd.astype(np.uint8))
        object.__setattr__(self, "liquidity", lq.astype(np.uint8))
        object.__setattr__(self, "fee", f)
        _check_lengths(
            "fills",
            ts=self.ts,
            price=self.price,
            qty=self.qty,
            side=self.side,
            liquidity=self.liquidity,
            fee=self.fee,
        )
        _first_bad("fills.qty", self.qty <= 0, self.qty, "must be > 0")
        _first_bad("fills.price", self.price <= 0, self.price, "must be > 0 ticks")
        _check_sorted("fills.ts", self.ts)

    def __len__(self) -> int:
        return int(self.ts.size)

    @classmethod
    def empty(cls) -> Fills:
        return cls([], [], [], [], [], [])

    @classmethod
    def from_exec_reports(cls, reports: NDArray[Any], fee: ArrayLike | None = None) -> Fills:
        """Keep the ORDER_FILLED rows of an EXEC_REPORT array. `fee` is per report row or per
        fill row (the two agree when every row is a fill)."""
        mask = reports["type"] == ExecType.ORDER_FILLED
        fills = reports[mask]
        f: NDArray[np.float64] | None = None
        if fee is not None:
            fa = np.asarray(fee, dtype=np.float64)
            if fa.size == reports.size:
                f = fa[mask]
            elif fa.size == fills.size:
                f = fa
            else:
                raise ValueError(
                    f"fee: length {fa.size} matches neither the {reports.size} exec reports"
                    f" nor their {fills.size} fills"
                )
        order = np.argsort(fills["ts"], kind="stable")
        return cls(
            fills["ts"][order],
            fills["price"][order],
            fills["qty"][order],
            fills["side"][order],
            fills["liquidity"][order],
            None if f is None else f[order],
        )

    def select(self, mask: NDArray[np.bool_]) -> Fills:
        return Fills(
            self.ts[mask],
            self.price[mask],
            self.qty[mask],
            self.side[mask],
            self.liquidity[mask],
            self.fee[mask],
        )


@dataclass(frozen=True)
class Tape:
    """Market trade prints (not necessarily including ours; see own_in_tape in execution)."""

    ts: I64
    price: I64
    qty: I64

    def __init__(self, ts: ArrayLike, price: ArrayLike, qty: ArrayLike) -> None:
        object.__setattr__(self, "ts", _arr("tape.ts", ts, np.int64))
        object.__setattr__(self, "price", _arr("tape.price", price, np.int64))
        object.__setattr__(self, "qty", _arr("tape.qty", qty, np.int64))
        _check_lengths("tape", ts=self.ts, price=self.price, qty=self.qty)
        _first_bad("tape.qty", self.qty < 0, self.qty, "must be >= 0")
        _check_sorted("tape.ts", self.ts)

    @classmethod
    def empty(cls) -> Tape:
        return cls([], [], [])


@dataclass(frozen=True)
class Mids:
    """Mid price in (float) ticks, valid from its ts until the next row."""

    ts: I64
    mid: F64

    def __init__(self, ts: ArrayLike, mid: ArrayLike) -> None:
        object.__setattr__(self, "ts", _arr("mids.ts", ts, np.int64))
        object.__setattr__(self, "mid", _arr("mids.mid", mid, np.float64))
        _check_lengths("mids", ts=self.ts, mid=self.mid)
        _first_bad("mids.mid", self.mid <= 0, self.mid, "must be > 0 ticks")
        _check_sorted("mids.ts", self.ts)

    def at(self, t: ArrayLike, strict: bool = False) -> F64:
        """Mid prevailing at t (last row with ts <= t), or strictly before t; NaN before data."""
        tq = np.asarray(t, dtype=np.int64)
        idx = np.searchsorted(self.ts, tq, side="left" if strict else "right") - 1
        out = np.full(tq.shape, np.nan)
        ok = idx >= 0
        out[ok] = self.mid[idx[ok]]
        return out

    @property
    def end_ns(self) -> int:
        return int(self.ts[-1]) if self.ts.size else -(2**63)


@dataclass(frozen=True)
class ParentOrder:
    """What the strategy was asked to do. arrival_mid in ticks (mid at start_ns)."""

    symbol: str
    side: Side
    qty: int
    start_ns: int
    end_ns: int
    arrival_mid: float
    limit_price: int | None = None
    parent_id: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        p = f"parent {self.parent_id or self.symbol!r}"
        if int(self.side) not in (0, 1):
            raise ValueError(f"{p}.side = {self.side!r}: must be 0 (buy) or 1 (sell)")
        if self.qty <= 0:
            raise ValueError(f"{p}.qty = {self.qty}: must be > 0")
        if self.end_ns < self.start_ns:
            raise ValueError(f"{p}.end_ns = {self.end_ns} < start_ns = {self.start_ns}")
        if not np.isfinite(self.arrival_mid) or self.arrival_mid <= 0:
            raise ValueError(f"{p}.arrival_mid = {self.arrival_mid}: must be > 0 ticks")

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: multiplying a price move by it gives cost to us."""
        return 1 if int(self.side) == Side.BUY else -1


__all__ = ["BPS", "TICK_USD", "Fills", "Liquidity", "Mids", "ParentOrder", "Side", "Tape"]
