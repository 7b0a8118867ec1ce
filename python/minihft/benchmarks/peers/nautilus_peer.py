# mypy: disable-error-code="import-not-found,import-untyped,unused-ignore"
"""The join-the-touch quoting scenario in nautilus_trader: BacktestEngine, L3_MBO venue book fed
with OrderBookDelta objects built from the same converted LOBSTER stream, a Python Strategy
subclass quoting at the touch. Objects are built before the timed run.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import numpy as np

from minihft.benchmarks.peers.lobster_l3 import OP_ADD, OP_DELETE, OP_EXEC, L3Stream
from minihft.records import Side

PRICE_SCALE = 10_000
SUBMIT_RATE = "1000000/00:00:01"


def _instrument(symbol: str, fee_rate_maker: float, fee_rate_taker: float) -> Any:
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import Equity
    from nautilus_trader.model.objects import Price, Quantity

    return Equity(
        instrument_id=InstrumentId(symbol=Symbol(symbol), venue=Venue("XNAS")),
        raw_symbol=Symbol(symbol),
        currency=USD,
        price_precision=2,
        price_increment=Price.from_str("0.01"),
        lot_size=Quantity.from_int(1),
        ts_event=0,
        ts_init=0,
        maker_fee=Decimal(repr(fee_rate_maker)),
        taker_fee=Decimal(repr(fee_rate_taker)),
    )


def to_deltas(stream: L3Stream, instrument_id: Any) -> list[Any]:
    """Exec rows are dropped: the reduce/delete row that follows carries the book change."""
    from nautilus_trader.model.data import BookOrder, OrderBookDelta
    from nautilus_trader.model.enums import BookAction, OrderSide
    from nautilus_trader.model.objects import Price, Quantity

    r = stream.rows[stream.rows["op"] != OP_EXEC]
    out: list[Any] = []
    if len(r):
        out.append(OrderBookDelta.clear(instrument_id, 0, int(r["ts"][0]), int(r["ts"][0])))
    last = 128  # RecordFlag.F_LAST: every delta is its own update
    for ts, oid, px, qty, op, side in zip(
        r["ts"].tolist(),
        r["id"].tolist(),
        r["price"].tolist(),
        r["qty"].tolist(),
        r["op"].tolist(),
        r["side"].tolist(),
        strict=True,
    ):
        action = (
            BookAction.ADD
            if op == OP_ADD
            else BookAction.DELETE
            if op == OP_DELETE
            else BookAction.UPDATE
        )
        order = BookOrder(
            OrderSide.BUY if side == int(Side.BUY) else OrderSide.SELL,
            Price(px / PRICE_SCALE, 2),
            Quantity(qty, 0),
            oid,
        )
        out.append(OrderBookDelta(instrument_id, action, order, last, 0, ts, ts))
    return out


def _strategy_class() -> Any:
    from nautilus_trader.model.enums import BookType, OrderSide
    from nautilus_trader.model.objects import Quantity
    from nautilus_trader.trading.strategy import Strategy

    class QuoteTouch(Strategy):  # type: ignore[misc]
        def __init__(self, instrument_id: Any, size: int) -> None:
            super().__init__()
            self.iid = instrument_id
            self.qty = Quantity.from_int(size)
            self.quote: list[Any] = [None, None]  # bid, ask orders
            self.px: list[Any] = [None, None]
            self.fills: list[tuple[int, int, int, int]] = []
            self.wakes = 0
            self.orders_sent = 0
            self.cancels = 0
            self.last_order_ns = 0

        def on_start(self) -> None:
            self.subscribe_order_book_deltas(self.iid, BookType.L3_MBO)

        def on_order_book_deltas(self, deltas: Any) -> None:
            self.wakes += 1
            book = self.cache.order_book(self.iid)
            bb, ba = book.best_bid_price(), book.best_ask_price()
            if bb is None or ba is None or bb >= ba:
                return
            for k, best in ((0, bb), (1, ba)):
                o = self.quote[k]
                if o is not None and o.is_closed:
                    o = self.quote[k] = None
                if o is not None and self.px[k] == best:
                    continue
                if o is not None:
                    if o.is_inflight or o.is_pending_cancel:
                        continue
                    self.cancel_order(o)
                    self.cancels += 1
                side = OrderSide.BUY if k == 0 else OrderSide.SELL
                new = self.order_factory.limit(self.iid, side, self.qty, best)
                self.submit_order(new)
                self.orders_sent += 1
                self.last_order_ns = self.clock.timestamp_ns()
                self.quote[k], self.px[k] = new, best

        def on_order_filled(self, event: Any) -> None:
            side = int(Side.BUY) if event.order_side == OrderSide.BUY else int(Side.SELL)
            px = round(float(event.last_px) * PRICE_SCALE)
            self.fills.append((event.ts_event, side, px, int(event.last_qty)))

    return QuoteTouch


def run(
    stream: L3Stream,
    *,
    latency_ns: int,
    maker_fee_rate: float,
    taker_fee_rate: float,
    size: int = 100,
    symbol: str = "GOOG",
) -> dict[str, Any]:
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.backtest.models import LatencyModel
    from nautilus_trader.config import LoggingConfig, RiskEngineConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.enums import AccountType, BookType, OmsType
    from nautilus_trader.model.identifiers import TraderId, Venue
    from nautilus_trader.model.objects import Money

    inst = _instrument(symbol, maker_fee_rate, taker_fee_rate)
    deltas = to_deltas(stream, inst.id)
    engine = BacktestEngine(
        config=BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"),
            logging=LoggingConfig(log_level="ERROR"),
            # The risk engine stays on, but its default throttle (100 submits per simulated
            # second) denied ~100 orders at the open, which then never reached the venue:
            # minihft's side has no such limit, so neither does this one.
            risk_engine=RiskEngineConfig(
                max_order_submit_rate=SUBMIT_RATE, max_order_modify_rate=SUBMIT_RATE
            ),
        )
    )
    engine.add_venue(
        venue=Venue("XNAS"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(100_000_000, USD)],
        book_type=BookType.L3_MBO,
        latency_model=LatencyModel(base_latency_nanos=latency_ns),
    )
    engine.add_instrument(inst)
    engine.add_data(deltas)
    strat = _strategy_class()(inst.id, size)
    engine.add_strategy(strat)
    t0 = time.perf_counter()
    engine.run()
    seconds = time.perf_counter() - t0
    engine.dispose()
    fills = np.array(strat.fills, dtype=np.int64).reshape(-1, 4)
    return {
        "seconds": seconds,
        "deltas": len(deltas),
        "fills": fills,
        "wakes": strat.wakes,
        "orders": strat.orders_sent,
        "cancels": strat.cancels,
        # Its book, built from the converted stream without the orderbook rows, can cross and
        # stay crossed (an order the file never removes); the strategy then stops quoting.
        "last_order_ns": strat.last_order_ns,
    }
