# mypy: disable-error-code="import-not-found,import-untyped,unused-ignore"
"""The join-the-touch quoting scenario in hftbacktest (L3 market-by-order, L3FIFOQueueModel).

hftbacktest's own recommendation is a numba-jitted strategy loop over `wait_next_feed`; the loop
below mirrors minihft's C++ run_quote_touch: quote `size` at the best bid and the best ask,
cancel and re-quote when the touch moves away, skip a crossed or one-sided touch. Prices are in
dollars (LOBSTER price / 10000, tick 0.01) and fees per share in dollars
(trading_qty_fee_model), so one minihft tick = 0.01 and a fee of f e4-ticks = f * 1e-6 dollars.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.benchmarks.peers.lobster_l3 import (
    OP_ADD,
    OP_DELETE,
    OP_EXEC,
    OP_REDUCE,
    SYNTH_BASE,
    L3Stream,
)
from minihft.records import Side

PRICE_SCALE = 10_000.0  # LOBSTER price units per dollar
TICK_UNITS = 100  # LOBSTER price units per tick
_NO_ASK = 1 << 40  # ticks: anything above is hftbacktest's empty-ask sentinel
FILL_DTYPE = np.dtype(
    [
        ("exch_ts", "<i8"),
        ("local_ts", "<i8"),
        ("price", "<i8"),  # LOBSTER units
        ("qty", "<i8"),
        ("side", "u1"),  # minihft Side
        ("maker", "u1"),
    ]
)


def to_events(stream: L3Stream) -> npt.NDArray[np.void]:
    import hftbacktest as hb

    r = stream.rows
    ev = np.zeros(len(r), dtype=hb.binding.event_dtype)
    kind = np.select(
        [r["op"] == OP_ADD, r["op"] == OP_REDUCE, r["op"] == OP_DELETE, r["op"] == OP_EXEC],
        [hb.ADD_ORDER_EVENT, hb.MODIFY_ORDER_EVENT, hb.CANCEL_ORDER_EVENT, hb.FILL_EVENT],
    ).astype(np.uint64)
    side = np.where(r["side"] == int(Side.BUY), hb.BUY_EVENT, hb.SELL_EVENT).astype(np.uint64)
    ev["ev"] = kind | side | np.uint64(hb.EXCH_EVENT) | np.uint64(hb.LOCAL_EVENT)
    # No feed latency: minihft shows market data to the strategy at venue time.
    ev["exch_ts"] = r["ts"]
    ev["local_ts"] = r["ts"]
    ev["px"] = r["price"] / PRICE_SCALE
    ev["qty"] = r["qty"].astype(np.float64)
    ev["order_id"] = r["id"]
    return ev


_STRATEGY: list[Any] = []


def _strategy() -> Any:
    """One jitted dispatcher per process: numba compiles it once per argument types."""
    if _STRATEGY:
        return _STRATEGY[0]
    from hftbacktest import BUY, FILLED, GTC, LIMIT, SELL
    from numba import njit

    @njit  # type: ignore[misc]
    def quote_touch(hbt: Any, size: float, start_ts: int, fills: Any, stats: Any) -> int:
        next_id = 1
        q_id = np.zeros(2, np.int64)  # 0 bid, 1 ask; 0 = no quote
        q_tick = np.zeros(2, np.int64)
        n_fill = 0
        wakes = 0
        orders_sent = 0
        cancels = 0
        while True:
            r = hbt.wait_next_feed(True, 1_000_000_000_000_000)
            if r == 1:
                break
            wakes += 1
            # Every fill, including one of an order whose cancel is still travelling.
            values = hbt.orders(0).values()
            while values.has_next():
                o = values.get()
                if o.status != FILLED:
                    continue
                k = 0 if o.side == BUY else 1
                if n_fill < fills.shape[0]:
                    fills[n_fill, 0] = o.exch_timestamp
                    fills[n_fill, 1] = o.local_timestamp
                    fills[n_fill, 2] = o.exec_price_tick
                    fills[n_fill, 3] = int(o.exec_qty)
                    fills[n_fill, 4] = k
                    fills[n_fill, 5] = 1 if o.arr[0].maker else 0
                n_fill += 1
                if q_id[k] == o.order_id:
                    q_id[k] = 0
            orders = hbt.orders(0)
            for k in range(2):
                if q_id[k] == 0:
                    continue
                o = orders.get(q_id[k])
                if o is None or (o.status != 1 and o.req == 0):  # gone, nothing in flight
                    q_id[k] = 0
            hbt.clear_inactive_orders(0)
            depth = hbt.depth(0)
            bb = depth.best_bid_tick
            ba = depth.best_ask_tick
            # Seed rows (stamped before start_ts) build the pre-file book: no quoting mid-seed.
            if hbt.current_timestamp < start_ts:
                continue
            # An empty side reads as an INVALID sentinel tick; a crossed touch cannot be joined.
            if bb <= 0 or ba >= _NO_ASK or bb >= ba:
                continue
            for k in range(2):
                best = bb if k == 0 else ba
                if q_id[k] != 0 and q_tick[k] == best:
                    continue
                if q_id[k] != 0:
                    # A request still travelling cannot be cancelled in hftbacktest: retry later.
                    if hbt.cancel(0, q_id[k], False) != 0:
                        continue
                    cancels += 1
                px = best * depth.tick_size
                if k == 0:
                    hbt.submit_buy_order(0, next_id, px, size, GTC, LIMIT, False)
                else:
                    hbt.submit_sell_order(0, next_id, px, size, GTC, LIMIT, False)
                orders_sent += 1
                q_id[k] = next_id
                q_tick[k] = best
                next_id += 1
        stats[0] = wakes
        stats[1] = orders_sent
        stats[2] = cancels
        return n_fill

    _ = SELL
    _STRATEGY.append(quote_touch)
    return quote_touch


def run(
    events: npt.NDArray[np.void],
    *,
    order_latency_ns: int,
    report_latency_ns: int,
    maker_fee_e4: int,
    taker_fee_e4: int,
    size: int = 100,
    max_fills: int = 1_000_000,
) -> dict[str, Any]:
    """Builds the backtester on `events` (hftbacktest event_dtype) and times the strategy run."""
    from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest

    tick = TICK_UNITS / PRICE_SCALE
    strategy = _strategy()
    t0 = time.perf_counter()  # data load into the Rust reader + the strategy run
    asset = (
        BacktestAsset()
        .data([events])
        .linear_asset(1.0)
        .constant_latency(order_latency_ns, report_latency_ns)
        .l3_fifo_queue_model()
        .no_partial_fill_exchange()
        .trading_qty_fee_model(maker_fee_e4 * tick * 1e-4, taker_fee_e4 * tick * 1e-4)
        .tick_size(tick)
        .lot_size(1.0)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    fills = np.zeros((max_fills, 6), np.int64)
    stats = np.zeros(3, np.int64)
    start = int(events["exch_ts"][events["order_id"] < SYNTH_BASE][0]) if len(events) else 0
    n = strategy(hbt, float(size), start, fills, stats)
    seconds = time.perf_counter() - t0
    sv = hbt.state_values(0)
    fee = float(sv.fee)
    position = float(sv.position)
    num_trades = int(sv.num_trades)
    hbt.close()
    out = np.zeros(min(n, max_fills), dtype=FILL_DTYPE)
    f = fills[: len(out)]
    out["exch_ts"], out["local_ts"], out["qty"], out["maker"] = f[:, 0], f[:, 1], f[:, 3], f[:, 5]
    out["price"] = f[:, 2] * TICK_UNITS
    out["side"] = np.where(f[:, 4] == 0, int(Side.BUY), int(Side.SELL))
    return {
        "seconds": seconds,
        "fills": out,
        "wakes": int(stats[0]),
        "orders": int(stats[1]),
        "cancels": int(stats[2]),
        "position": position,
        "fees_dollars": fee,
        "num_trades": num_trades,
    }


def warm_up(events: npt.NDArray[np.void], **kw: Any) -> None:
    """Compiles the numba loop (cached on disk) so the timed run measures the backtest only."""
    run(events[: min(len(events), 2000)], **kw)
