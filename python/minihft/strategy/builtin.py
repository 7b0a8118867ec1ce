"""Built-in strategies of the runner; the execution algorithms come with the backtester."""

from __future__ import annotations

from collections.abc import Callable

from minihft.records import OrderType, Side, TimeInForce
from minihft.strategy.base import Records, Strategy, StrategyContext

LOG_EVERY_NS = 5_000_000_000


class LoggingStrategy(Strategy):
    """Trades nothing: logs the top of book and the report counts every few seconds."""

    name = "logging"

    def __init__(self) -> None:
        self.books = 0
        self.reports = 0
        self._last: dict[int, tuple[int, int, int, int]] = {}

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.set_timer(ctx.now_ns() + LOG_EVERY_NS, 0)

    def on_book(self, ctx: StrategyContext, symbol_id: int, updates: Records) -> None:
        self.books += len(updates)
        u = updates[-1]
        self._last[symbol_id] = (
            int(u["bids"][0]["price"]), int(u["bids"][0]["qty"]),
            int(u["asks"][0]["price"]), int(u["asks"][0]["qty"]),
        )  # fmt: skip

    def on_fill(self, ctx: StrategyContext, symbol_id: int, reports: Records) -> None:
        self.reports += len(reports)

    def on_timer(self, ctx: StrategyContext, token: int) -> None:
        for sid, (bp, bq, ap, aq) in sorted(self._last.items()):
            ctx.log.info(
                "top of book",
                extra={"fields": {"symbol_id": sid, "bid": [bp, bq], "ask": [ap, aq]}},
            )
        ctx.log.info("counts", extra={"fields": {"books": self.books, "reports": self.reports}})
        ctx.set_timer(ctx.now_ns() + LOG_EVERY_NS, 0)


class ProbeStrategy(Strategy):
    """Latency probe: one 1-lot IOC buy per book batch, one tick above zero so it never trades.
    The engine acknowledges it and expires it in the same batch (OrderAccepted, then
    OrderCancelled NoLiquidity), so nothing rests and nothing needs cancelling: a Day order
    pulled on its ack put a second order and a second report batch through the stack per tick,
    which on a 2-core host cost the measured path CPU."""

    name = "probe"

    def __init__(self) -> None:
        self.sent = 0

    def on_book(self, ctx: StrategyContext, symbol_id: int, updates: Records) -> None:
        ctx.submit(symbol_id, Side.BUY, 100, 1, order_type=OrderType.LIMIT, tif=TimeInForce.IOC)
        self.sent += 1


STRATEGIES: dict[str, Callable[[], Strategy]] = {
    LoggingStrategy.name: LoggingStrategy,
    ProbeStrategy.name: ProbeStrategy,
}
