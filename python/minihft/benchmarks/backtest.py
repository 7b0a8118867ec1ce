"""`minihft bench backtest`: minihft's C++ backtester vs hftbacktest, same data, same strategy.

Scenario (docs/bench-backtest.md): a full LOBSTER day (GOOG, 10 levels), join-the-touch quoting of
100 shares per side, re-peg on a touch change, FIFO queue position from the L3 flow, constant
latency (order entry and report), maker/taker fees per share. minihft runs it entirely in C++
(bench_quote_touch); hftbacktest runs it with its L3FIFOQueueModel and a numba strategy loop on
the same events converted to its L3 format (peers/lobster_l3.py). Both are timed in the same
process, alternating, median of --repeats; conversion and numba compilation are not timed.
The fills of both are compared: venue time, side, price and quantity.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.backtest_core import BacktestConfig, bench_quote_touch
from minihft.marketdata.lobster import read_messages, read_orderbook
from minihft.paths import shared_data_dir
from minihft.records import ExecType

DEFAULT_STEM = "GOOG_2012-06-21_34200000_57600000"
DEFAULT_LEVELS = 10


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backtest", help="minihft C++ backtest vs hftbacktest on a LOBSTER day")
    add_common(p)
    p.add_argument("--repeats", type=int, default=3)
    p.set_defaults(handler=run)


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, help="LOBSTER dir (default: shared data)")
    p.add_argument("--stem", default=DEFAULT_STEM)
    p.add_argument("--levels", type=int, default=DEFAULT_LEVELS)
    p.add_argument("--events", type=int, default=0, help="first N events only (0 = all)")
    p.add_argument("--latency-ns", type=int, default=50_000, help="order entry and report, each")
    p.add_argument("--maker-fee-e4", type=int, default=-2000, help="per share, 1e-4 ticks")
    p.add_argument("--taker-fee-e4", type=int, default=3000)
    p.add_argument("--size", type=int, default=100)


def load(args: argparse.Namespace) -> tuple[npt.NDArray[np.void], npt.NDArray[np.int64]]:
    d = args.data or shared_data_dir() / "lobster"
    msg = d / f"{args.stem}_message_{args.levels}.csv.gz"
    book = d / f"{args.stem}_orderbook_{args.levels}.csv.gz"
    ev = read_messages(msg).events
    depth = read_orderbook(book, levels=args.levels).depth
    if len(ev) != len(depth):
        raise ValueError(f"{msg}: {len(ev)} events but {book}: {len(depth)} rows")
    if args.events > 0:
        ev, depth = ev[: args.events].copy(), depth[: args.events].copy()
    return ev, depth


def config(args: argparse.Namespace) -> BacktestConfig:
    # hftbacktest has one entry latency for new orders and cancels, and no hidden executions
    # in its L3 exchange: minihft is configured the same way.
    return BacktestConfig(
        order_latency_ns=args.latency_ns,
        cancel_latency_ns=args.latency_ns,
        report_latency_ns=args.latency_ns,
        maker_fee_e4=args.maker_fee_e4,
        taker_fee_e4=args.taker_fee_e4,
        hidden_fills=False,
        record_trades=False,
    )


def minihft_fills(out: dict[str, Any]) -> npt.NDArray[np.void]:
    from minihft.benchmarks.peers.hftbacktest_peer import FILL_DTYPE

    r, x = out["reports"], out["extras"]
    sel = r["type"] == int(ExecType.ORDER_FILLED)
    f = np.zeros(int(sel.sum()), dtype=FILL_DTYPE)
    f["exch_ts"], f["local_ts"] = x["ts_venue"][sel], r["ts"][sel]
    f["price"], f["qty"], f["side"] = r["price"][sel], r["qty"][sel], r["side"][sel]
    f["maker"] = r["liquidity"][sel] == 1
    return f


def compare(a: npt.NDArray[np.void], b: npt.NDArray[np.void]) -> dict[str, Any]:
    """Fills matched on (venue ns, side, price); qty compared on the matched ones."""

    def keyed(f: npt.NDArray[np.void]) -> dict[tuple[int, int, int], int]:
        d: dict[tuple[int, int, int], int] = {}
        for t, s, p, q in zip(
            f["exch_ts"].tolist(),
            f["side"].tolist(),
            f["price"].tolist(),
            f["qty"].tolist(),
            strict=True,
        ):
            d[(t, s, p)] = d.get((t, s, p), 0) + q
        return d

    ka, kb = keyed(a), keyed(b)
    both = ka.keys() & kb.keys()
    return {
        "minihft": len(a),
        "hftbacktest": len(b),
        "matched": len(both),
        "matched_same_qty": sum(1 for k in both if ka[k] == kb[k]),
        "qty": {"minihft": int(a["qty"].sum()), "hftbacktest": int(b["qty"].sum())},
        "only_minihft": len(ka.keys() - kb.keys()),
        "only_hftbacktest": len(kb.keys() - ka.keys()),
        "taker": {
            "minihft": int((a["maker"] == 0).sum()),
            "hftbacktest": int((b["maker"] == 0).sum()),
        },
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from minihft.benchmarks.peers import hftbacktest_peer, lobster_l3

    ev, depth = load(args)
    cfg = config(args)
    t = time.perf_counter()
    stream = lobster_l3.convert(ev, depth[0])
    hev = hftbacktest_peer.to_events(stream)
    convert_s = time.perf_counter() - t
    kw: dict[str, Any] = {
        "order_latency_ns": args.latency_ns,
        "report_latency_ns": args.latency_ns,
        "maker_fee_e4": args.maker_fee_e4,
        "taker_fee_e4": args.taker_fee_e4,
        "size": args.size,
    }
    hftbacktest_peer.warm_up(hev, **kw)
    ours: list[float] = []
    theirs: list[float] = []
    mo: dict[str, Any] = {}
    ho: dict[str, Any] = {}
    for _ in range(max(1, args.repeats)):
        mo = bench_quote_touch(ev, cfg, seed_row=depth[0], truth=depth, size=args.size)
        ours.append(float(mo["seconds"]))
        ho = hftbacktest_peer.run(hev, **kw)
        theirs.append(float(ho["seconds"]))
    n = len(ev)
    m_eps = n / statistics.median(ours)
    h_eps = n / statistics.median(theirs)
    mf = minihft_fills(mo)
    hf = ho["fills"]
    ex = stream.rows[stream.rows["op"] == lobster_l3.OP_EXEC]
    exec_keys = set(zip(ex["ts"].tolist(), ex["side"].tolist(), ex["price"].tolist(), strict=True))
    by_exec = sum(
        1
        for k in zip(hf["exch_ts"].tolist(), hf["side"].tolist(), hf["price"].tolist(), strict=True)
        if k in exec_keys
    )
    return {
        "bench": "backtest",
        "data": args.stem + f"_L{args.levels}",
        "events": n,
        "hftbacktest_rows": len(hev),
        "minihft_events_per_s": round(m_eps),
        "hftbacktest_events_per_s": round(h_eps),
        "ratio": round(m_eps / h_eps, 2),
        "seconds": {"minihft": ours, "hftbacktest": theirs, "convert_untimed": round(convert_s, 3)},
        # hftbacktest fills at an execution of a venue order at the same side and price (queue
        # fills); the rest come from its touch-crossing rule (docs/bench-backtest.md).
        "fills": {**compare(mf, hf), "hftbacktest_at_execution": by_exec},
        "orders": {"minihft": int(mo["orders"]), "hftbacktest": ho["orders"]},
        "cancels": {"minihft": int(mo["cancels"]), "hftbacktest": ho["cancels"]},
        "wakes": {"minihft": int(mo["wakes"]), "hftbacktest": ho["wakes"]},
        "position": {"minihft": int(mo["position"]), "hftbacktest": int(ho["position"])},
        "fees_e4": {
            "minihft": int(mo["fees_e4"]),
            # dollars -> 1e-4 ticks (tick = 0.01 dollar)
            "hftbacktest": round(ho["fees_dollars"] / 0.01 * 1e4),
        },
        "converter": {"unknown_qty_dropped": stream.unknown_dropped, **stream.counts},
        "config": {
            "latency_ns": args.latency_ns,
            "maker_fee_e4": args.maker_fee_e4,
            "taker_fee_e4": args.taker_fee_e4,
            "size": args.size,
            "hidden_fills": False,
        },
        "repeats": len(ours),
    }


def run(args: argparse.Namespace) -> int:
    print(json.dumps(measure(args)))
    return 0
