"""The join-the-touch strategy of `bench backtest-python`, written against minihft's Strategy
interface (on_book / on_fill callbacks, StrategyContext.submit/cancel, pre-trade risk checks)
and run by the backtest's own `drive` loop: the path a user's strategy takes, to compare with
nautilus_trader's Strategy subclass doing the same."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.backtest.inprocess import drive
from minihft.backtest_core import BacktestConfig, Backtester
from minihft.codec import book_touch
from minihft.records import ExecType, Side
from minihft.strategy.base import Strategy, StrategyContext, Subscription
from minihft.strategy.risk import RiskChecker, RiskLimits

_FILLED, _CANCELLED, _REJECTED = (
    int(ExecType.ORDER_FILLED),
    int(ExecType.ORDER_CANCELLED),
    int(ExecType.ORDER_REJECTED),
)
_SIDES = (Side.BUY, Side.SELL)
# Wide enough never to bind on this data, so both sides pay for checks and nothing is denied
# (nautilus's risk engine is on too, its throttle raised the same way).
LIMITS = RiskLimits(max_order_qty=1_000_000, max_position=10_000_000, collar_bps=10_000.0,
                    max_msgs_per_s=1_000_000)  # fmt: skip


class QuoteTouch(Strategy):
    """Quote `size` at the best bid and best ask; re-quote (cancel + new) when the touch moves;
    do not retry a price the venue rejected until the touch moves."""

    name = "quote_touch"

    def __init__(self, size: int, symbol_id: int = 0) -> None:
        self.size = size
        self.subscriptions = {symbol_id: Subscription(depth=1)}
        self.quote_id = [0, 0]
        self.quote_px = [0, 0]
        self.rejected_px = [0, 0]
        self.orders = self.cancels = self.fills = self.last_order = 0

    def on_fill(self, ctx: StrategyContext, symbol_id: int, reports: Any) -> None:
        for typ, oid, leaves in zip(
            reports["type"].tolist(), reports["order_id"].tolist(),
            reports["leaves_qty"].tolist(), strict=True,
        ):  # fmt: skip
            if typ == _FILLED:
                self.fills += 1
            if (typ == _FILLED and leaves == 0) or typ in (_CANCELLED, _REJECTED):
                for k in (0, 1):
                    if self.quote_id[k] == oid:
                        if typ == _REJECTED:
                            self.rejected_px[k] = self.quote_px[k]
                        self.quote_id[k] = 0

    def on_book(self, ctx: StrategyContext, symbol_id: int, updates: Any) -> None:
        bid_px, bid_q, ask_px, ask_q = book_touch(updates)
        if ask_q > 0 and bid_q > 0 and bid_px >= ask_px:
            return
        for k, best, live in ((0, bid_px, bid_q > 0), (1, ask_px, ask_q > 0)):
            qid = self.quote_id[k]
            if not live or (qid and self.quote_px[k] == best):
                continue
            if not qid and self.rejected_px[k] == best:
                continue
            if qid:
                ctx.cancel(symbol_id, qid)
                self.cancels += 1
            oid = ctx.submit(symbol_id, _SIDES[k], best, self.size)
            self.orders += 1
            self.last_order = ctx.now_ns()
            self.quote_id[k], self.quote_px[k], self.rejected_px[k] = oid, best, 0


def run(
    events: npt.NDArray[np.void], depth: npt.NDArray[np.int64], cfg: BacktestConfig, size: int
) -> dict[str, Any]:
    t0 = time.perf_counter()
    bt = Backtester.from_lobster(events, depth, cfg)
    strat = QuoteTouch(size)
    ts = events["ts_event"]
    reps, _, cmds, wakes = drive(bt, strat, int(ts[0]), int(ts[-1]), risk=RiskChecker(LIMITS))
    return {
        "seconds": time.perf_counter() - t0,
        "wakes": wakes,
        "orders": strat.orders,
        "cancels": strat.cancels,
        "fills": strat.fills,
        "commands": len(cmds),
        "reports": len(reps),
        "last_order_ns": strat.last_order,
    }
