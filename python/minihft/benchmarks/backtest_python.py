"""`minihft bench backtest-python`: the join-the-touch strategy written in Python on both sides.

minihft, two ways: a Python loop over Backtester.run_until(Wake.BOOK | Wake.REPORT,
depth_levels=1) -- the C++ stepper returns only when the touch changed or a report became
visible, and the strategy callback runs once per wake (`ratio`); and the same rules as a
Strategy subclass under the backtest's drive loop with pre-trade risk checks
(quote_touch_strategy.py, `ratio_strategy_interface`). nautilus_trader: BacktestEngine with an
L3_MBO venue book fed with OrderBookDelta objects from the same converted LOBSTER stream and a
Strategy subclass quoting at the touch on every delta. Same latency; fees as a notional rate in
nautilus (it has no per-share maker rebate), so P&L is not compared, fills are.

Default window: the first 20,000 events, where both sides run the strategy. Over the whole file
nautilus's book, built from the message stream alone, is crossed from 10:07 on and its strategy
stops quoting (last order 10:04, 2,829 orders against our 24,204): events/s there compare
different work. `--events 0` runs the whole file anyway; `last_order_ns` and `orders` show it.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.backtest_core import BacktestConfig, Backtester, Wake
from minihft.benchmarks import quote_touch_strategy
from minihft.benchmarks.backtest import add_common, config, load
from minihft.records import EXEC_REPORT, ExecType, Side

WINDOW = 20_000  # events; see the module docstring


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "backtest-python", help="Python strategy on minihft's stepper vs nautilus_trader"
    )
    add_common(p)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--nautilus-events", type=int, default=0, help="nautilus on the first N only (0 = same)"
    )
    p.set_defaults(events=WINDOW)
    p.set_defaults(handler=run)


# Positions of the EXEC_REPORT fields in a row from .tolist(), looked up once by name.
_FIELDS = list(EXEC_REPORT.names or ())
R_TYPE, R_ORDER_ID, R_SIDE, R_PRICE, R_QTY, R_LEAVES = (
    _FIELDS.index(f) for f in ("type", "order_id", "side", "price", "qty", "leaves_qty")
)


def quote_touch_python(
    events: npt.NDArray[np.void], depth: npt.NDArray[np.int64], cfg: BacktestConfig, size: int
) -> dict[str, Any]:
    """The same rules as the C++ run_quote_touch, as a per-wake Python callback."""
    t0 = time.perf_counter()
    bt = Backtester.from_lobster(events, depth, cfg)
    quote_id = [0, 0]
    quote_px = [0, 0]
    rejected_px = [0, 0]
    next_id = 1
    wakes = orders = cancels = last_order = 0
    fills: list[tuple[int, int, int, int]] = []
    filled, cancelled, rejected = (
        int(ExecType.ORDER_FILLED),
        int(ExecType.ORDER_CANCELLED),
        int(ExecType.ORDER_REJECTED),
    )
    sides = (Side.BUY, Side.SELL)
    wake, end = Wake.BOOK | Wake.REPORT, int(Wake.END)
    while True:
        why, now = bt.run_until(wake=wake, depth_levels=1)
        wakes += 1
        reps, extra = bt.take_reports()
        for r, x in zip(reps.tolist(), extra.tolist(), strict=True):
            typ, oid = r[R_TYPE], r[R_ORDER_ID]
            if typ == filled:
                fills.append((x[0], r[R_SIDE], r[R_PRICE], r[R_QTY]))
            gone = (typ == filled and r[R_LEAVES] == 0) or typ in (cancelled, rejected)
            for k in (0, 1):
                if gone and quote_id[k] == oid:
                    if typ == rejected:
                        rejected_px[k] = quote_px[k]
                    quote_id[k] = 0
        if int(why) & end:
            break
        ask_px, ask_q, bid_px, bid_q = bt.touch()
        if ask_q > 0 and bid_q > 0 and bid_px >= ask_px:
            continue
        for k, best, live in ((0, bid_px, bid_q > 0), (1, ask_px, ask_q > 0)):
            if not live or (quote_id[k] and quote_px[k] == best):
                continue
            if not quote_id[k] and rejected_px[k] == best:
                continue
            if quote_id[k]:
                bt.cancel(quote_id[k])
                cancels += 1
            bt.submit(next_id, sides[k], best, size)
            orders += 1
            last_order = now
            quote_id[k], quote_px[k], rejected_px[k] = next_id, best, 0
            next_id += 1
    return {
        "seconds": time.perf_counter() - t0,
        "fills": np.array(fills, dtype=np.int64).reshape(-1, 4),
        "wakes": wakes,
        "orders": orders,
        "cancels": cancels,
        "position": bt.position(),
        "last_order_ns": last_order,
    }


def _compare(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> dict[str, int]:
    ka = {(int(t), int(s), int(p)) for t, s, p, _ in a}
    kb = {(int(t), int(s), int(p)) for t, s, p, _ in b}
    return {
        "minihft": len(a),
        "nautilus": len(b),
        "matched": len(ka & kb),
        "qty_minihft": int(a[:, 3].sum()) if len(a) else 0,
        "qty_nautilus": int(b[:, 3].sum()) if len(b) else 0,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from minihft.benchmarks.peers import lobster_l3, nautilus_peer

    ev, depth = load(args)
    cfg = config(args)
    n_nt = args.nautilus_events or len(ev)
    stream = lobster_l3.convert(ev[:n_nt], depth[0])
    px0 = float(np.median(ev["price"][: min(len(ev), 1000)])) / 10_000.0
    tick = 0.01
    ours: list[float] = []
    ours_strategy: list[float] = []
    theirs: list[float] = []
    so: dict[str, Any] = {}
    mo: dict[str, Any] = {}
    no: dict[str, Any] = {}
    for _ in range(max(1, args.repeats)):
        # Each run starts from a collected heap: otherwise a run pays for full collections
        # over the garbage the previous one (nautilus's event objects especially) left behind.
        gc.collect()
        mo = quote_touch_python(ev, depth, cfg, args.size)
        ours.append(mo["seconds"])
        gc.collect()
        so = quote_touch_strategy.run(ev, depth, cfg, args.size)
        ours_strategy.append(so["seconds"])
        gc.collect()
        no = nautilus_peer.run(
            stream,
            latency_ns=args.latency_ns,
            # per share (1e-4 ticks) -> rate of notional at the opening price
            maker_fee_rate=args.maker_fee_e4 * 1e-4 * tick / px0,
            taker_fee_rate=args.taker_fee_e4 * 1e-4 * tick / px0,
            size=args.size,
        )
        theirs.append(no["seconds"])
    m_eps = len(ev) / statistics.median(ours)
    s_eps = len(ev) / statistics.median(ours_strategy)
    n_eps = n_nt / statistics.median(theirs)
    same = n_nt == len(ev)
    mf = mo["fills"]
    return {
        "bench": "backtest-python",
        "data": args.stem + f"_L{args.levels}",
        "events": len(ev),
        "nautilus_events": n_nt,
        "nautilus_deltas": no["deltas"],
        "minihft_python_events_per_s": round(m_eps),
        "nautilus_events_per_s": round(n_eps),
        "ratio": round(m_eps / n_eps, 2),
        # The same rules as a Strategy subclass (on_book/on_fill, ctx.submit/cancel, pre-trade
        # risk checks) under the backtest's drive loop: what a user's strategy pays.
        "minihft_strategy_interface_events_per_s": round(s_eps),
        "ratio_strategy_interface": round(s_eps / n_eps, 2),
        "strategy_interface_orders": so["orders"],
        "seconds": {"minihft": ours, "minihft_strategy": ours_strategy, "nautilus": theirs},
        "fills": _compare(mf, no["fills"]) if same else {"minihft": len(mf)},
        "orders": {"minihft": mo["orders"], "nautilus": no["orders"]},
        "cancels": {"minihft": mo["cancels"], "nautilus": no["cancels"]},
        "wakes": {"minihft": mo["wakes"], "nautilus": no["wakes"]},
        "last_order_ns": {"minihft": mo["last_order_ns"], "nautilus": no["last_order_ns"]},
        "repeats": len(ours),
    }


def run(args: argparse.Namespace) -> int:
    print(json.dumps(measure(args)))
    return 0
