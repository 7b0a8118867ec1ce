"""Execution algorithm skeleton: one parent order worked through at most one live child.

Every algorithm is a schedule of two kinds of target, both cumulative filled quantity:
- a passive target: the child posted at the near touch (bid for a buy) for `target - filled`,
  re-pegged when the touch moves away from it;
- a crossing target, set by timers: at that moment whatever is below it is bought/sold with
  a marketable IOC limit `cross_bps` through the far touch (capped by the limit price).

One child at a time, and a change (re-peg, resize, cross) first cancels the live child and
waits for the venue's answer: a fill that happens while the cancel travels is then known
before the next child is sized, so the algorithm never overfills. Each order costs a round
trip, which at our latencies (~0.2 ms) is below the touch's typical lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minihft.records import ExecType, OrderType, Side, TimeInForce
from minihft.strategy.base import Records, Strategy, StrategyContext, Subscription

TOKEN_CROSS = 1  # timer token: a crossing target becomes due
TOKEN_END = 2
TOKEN_CHECK = 3  # re-examine a child that was behind the touch but too young to re-peg
TICK = 100  # one cent in LOBSTER price units (x 10000)


@dataclass(frozen=True)
class ParentSpec:
    symbol_id: int
    side: Side
    qty: int
    start_ns: int
    end_ns: int
    limit_price: int | None = None

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError(f"parent qty must be > 0, got {self.qty}")
        if self.end_ns <= self.start_ns:
            raise ValueError(f"parent end {self.end_ns} must be after start {self.start_ns}")


@dataclass
class _Child:
    order_id: int
    price: int
    qty: int
    crossing: bool
    sent_ns: int
    cancelling: bool = False


@dataclass
class AlgoStats:
    children: int = 0
    crosses: int = 0
    repegs: int = 0
    limit_blocked: int = 0
    risk_rejects: int = 0
    venue_rejects: int = 0
    notes: list[str] = field(default_factory=list)


class ExecAlgo(Strategy):
    """Subclasses set `cross_points` (ts, cumulative target) and override passive_target."""

    name = "algo"
    passive = True

    def __init__(
        self, parent: ParentSpec, *, cross_bps: float = 20.0, repeg_delay_ns: int = 500_000_000
    ) -> None:
        self.p = parent
        self.cross_bps = cross_bps
        self.repeg_delay_ns = repeg_delay_ns
        self.subscriptions = {parent.symbol_id: Subscription(depth=1, trades=False)}
        self.filled = 0
        self.cross_target = 0
        self.child: _Child | None = None
        self.stats = AlgoStats()
        self.bid = 0
        self.ask = 0
        self.stopped = False
        self.cross_points: list[tuple[int, int]] = []
        self._next_point = 0
        self._check_at = 0

    # ---- schedule, overridden ----
    def passive_target(self, now: int) -> int:
        """Cumulative quantity the passive child should bring us to now (0: none)."""
        return 0

    def schedule(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Target cumulative quantity over time, for plots: the crossing targets as steps."""
        pts = [(self.p.start_ns, 0), *self.cross_points]
        ts = np.array([t for t, _ in pts], dtype=np.int64)
        return ts, np.array([q for _, q in pts], dtype=np.float64)

    # ---- helpers ----
    @property
    def buy(self) -> bool:
        return self.p.side == Side.BUY

    @property
    def remaining(self) -> int:
        return self.p.qty - self.filled

    def _limit_ok(self, px: int) -> bool:
        lim = self.p.limit_price
        return lim is None or (px <= lim if self.buy else px >= lim)

    def _cap(self, px: int) -> int:
        lim = self.p.limit_price
        if lim is None:
            return px
        return min(px, lim) if self.buy else max(px, lim)

    def status(self) -> dict[str, Any]:
        if self.filled >= self.p.qty:
            state, why = "complete", ""
        elif self.stats.limit_blocked:
            state, why = "incomplete", f"limit price {self.p.limit_price} prevented crossing"
        elif self.stats.risk_rejects:
            state, why = "incomplete", "pre-trade risk checks rejected orders"
        else:
            state, why = "incomplete", "not enough liquidity by end"
        return {
            "state": state,
            "reason": why,
            "filled": self.filled,
            "qty": self.p.qty,
            "children": self.stats.children,
            "crosses": self.stats.crosses,
            "repegs": self.stats.repegs,
            "limit_blocked": self.stats.limit_blocked,
            "risk_rejects": self.stats.risk_rejects,
            "venue_rejects": self.stats.venue_rejects,
            "notes": list(self.stats.notes),
        }

    # ---- callbacks ----
    def on_start(self, ctx: StrategyContext) -> None:
        self.cross_points.sort()
        if self.cross_points:
            ctx.set_timer(self.cross_points[0][0], TOKEN_CROSS)
        ctx.set_timer(self.p.end_ns, TOKEN_END)
        self._reconcile(ctx)

    def on_book(self, ctx: StrategyContext, symbol_id: int, updates: Records) -> None:
        if symbol_id != self.p.symbol_id or not len(updates):
            return
        u = updates[-1]
        self.bid = int(u["bids"][0]["price"]) if int(u["bids"][0]["qty"]) > 0 else 0
        self.ask = int(u["asks"][0]["price"]) if int(u["asks"][0]["qty"]) > 0 else 0
        self._reconcile(ctx)

    def on_fill(self, ctx: StrategyContext, symbol_id: int, reports: Records) -> None:
        c = self.child
        for r in reports:
            oid, typ = int(r["order_id"]), int(r["type"])
            if typ == ExecType.ORDER_FILLED:
                self.filled += int(r["qty"])
            if c is None or oid != c.order_id:
                continue
            if typ == ExecType.ORDER_FILLED and int(r["leaves_qty"]) > 0:
                c.qty = int(r["leaves_qty"])
            elif typ in (ExecType.ORDER_FILLED, ExecType.ORDER_CANCELLED):
                self.child = c = None
            elif typ == ExecType.ORDER_REJECTED and not c.cancelling:
                self.stats.venue_rejects += 1
                self.child = c = None
            elif typ == ExecType.ORDER_REJECTED:
                self.child = c = None  # cancel of an order that had already gone
        self._reconcile(ctx)

    def on_timer(self, ctx: StrategyContext, token: int) -> None:
        now = ctx.now_ns()
        if token == TOKEN_CROSS:
            while self._next_point < len(self.cross_points):
                ts, target = self.cross_points[self._next_point]
                if ts > now:
                    ctx.set_timer(ts, TOKEN_CROSS)
                    break
                self.cross_target = max(self.cross_target, min(target, self.p.qty))
                self._next_point += 1
        elif token == TOKEN_END:
            self.cross_target = self.p.qty
        self._reconcile(ctx)

    def on_stop(self, ctx: StrategyContext) -> None:
        self.stopped = True
        if self.child is not None and not self.child.cancelling:
            ctx.cancel(self.p.symbol_id, self.child.order_id)
            self.child.cancelling = True

    # ---- the one place orders are decided ----
    def _cancel_child(self, ctx: StrategyContext) -> None:
        assert self.child is not None
        ctx.cancel(self.p.symbol_id, self.child.order_id)
        self.child.cancelling = True

    def _send(self, ctx: StrategyContext, price: int, qty: int, crossing: bool) -> None:
        if crossing:
            oid = ctx.submit(self.p.symbol_id, self.p.side, price, qty, tif=TimeInForce.IOC)
        else:
            oid = ctx.submit(
                self.p.symbol_id, self.p.side, price, qty, order_type=OrderType.LIMIT,
                post_only=True,
            )  # fmt: skip
        if oid == 0:
            self.stats.risk_rejects += 1
            note = f"risk reject: {ctx.last_reject.value if ctx.last_reject else '?'}"
            if note not in self.stats.notes:
                self.stats.notes.append(note)
            return
        self.stats.children += 1
        self.stats.crosses += int(crossing)
        self.child = _Child(oid, price, qty, crossing, ctx.now_ns())

    def _reconcile(self, ctx: StrategyContext) -> None:
        if self.stopped or (self.child is not None and self.child.cancelling):
            return
        if self.remaining <= 0:
            if self.child is not None:
                self._cancel_child(ctx)
            self.subscriptions = {}  # done: no more book wake-ups needed
            return
        need = min(self.cross_target - self.filled, self.remaining)
        if need > 0:
            if self.child is not None:
                if not self.child.crossing:
                    self._cancel_child(ctx)
                return
            far = self.ask if self.buy else self.bid
            if far <= 0:
                return  # empty far side: retry on the next book change
            if not self._limit_ok(far):
                self.stats.limit_blocked += 1
                return
            step = (int(far * self.cross_bps / 1e4) // TICK + 1) * TICK
            px = far + step if self.buy else far - step
            self._send(ctx, self._cap(px), need, crossing=True)
            return
        if self.child is not None and self.child.crossing:
            return
        want = min(self.passive_target(ctx.now_ns()), self.p.qty) - self.filled
        near = self.bid if self.buy else self.ask
        if want <= 0 or near <= 0:
            if self.child is not None:
                self._cancel_child(ctx)
            return
        px = self._cap(near)
        c = self.child
        if c is not None:
            # Re-peg only when the touch has moved through us (we are no longer at or ahead
            # of it) and the child has rested repeg_delay_ns: chasing every flicker of the
            # touch would only burn queue position and message rate.
            behind = px > c.price if self.buy else px < c.price
            rested = ctx.now_ns() - c.sent_ns >= self.repeg_delay_ns
            if c.qty != want or (behind and rested):
                self.stats.repegs += 1
                self._cancel_child(ctx)
            elif behind and self._check_at < c.sent_ns + self.repeg_delay_ns:
                self._check_at = c.sent_ns + self.repeg_delay_ns
                ctx.set_timer(self._check_at, TOKEN_CHECK)
            return
        self._send(ctx, px, want, crossing=False)
