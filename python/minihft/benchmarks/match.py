"""`minihft bench match`: matching engine throughput and per-order latency on a seeded stream.

The stream is generated vectorised with numpy: a bounded, slowly moving mid, 60% limit orders
placed 1-5 ticks from the mid, 10% market or aggressive IOC (5x the passive size), 20% cancels
and 10% replaces aimed at recently submitted ids. With seed 1 and 5M commands that gives ~0.55
trades per command, ~44% of cancels/replaces naming an order already filled (rejected
UnknownOrder, as late cancels are in real flow) and a book of 4-9k live orders over 8 symbols.
The C++ side runs it through fresh engines: three untimed passes for throughput (median, and
best as the figure least disturbed by a shared machine), then one pass timing
every command with the cycle counter for latency percentiles (which include the counter's own
overhead, reported separately).
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.matching import bench_match
from minihft.records import ORDER_COMMAND, CommandType, OrderType, TimeInForce

N_SYMBOLS = 8


def generate(n: int, seed: int) -> npt.NDArray[np.void]:
    rng = np.random.default_rng(seed)
    cmds = np.zeros(n, dtype=ORDER_COMMAND)
    kind = rng.choice(4, size=n, p=[0.6, 0.1, 0.2, 0.1])  # limit, aggressive, cancel, replace
    submit = kind <= 1
    # Submits get ids 1, 2, 3, ... in stream order; n_before[i] = submits before command i.
    n_submit = np.cumsum(submit)
    n_before: npt.NDArray[np.int64] = n_submit - submit.astype(np.int64)
    symbol = rng.integers(0, N_SYMBOLS, size=n).astype(np.uint32)
    side = rng.integers(0, 2, size=n).astype(np.uint8)
    sign = np.where(side == 0, -1, 1)  # buy below the mid, sell above
    # The mid steps within +-2 ticks every ~1000 commands: enough movement to make stale orders
    # marketable now and then, bounded so the book does not become a staircase of stale levels
    # that every new order sweeps.
    mid = 100_000 + np.repeat(rng.integers(-2, 3, size=n // 1000 + 1), 1000)[:n]
    # Ticks away from the mid: mostly at or near the touch; passive orders cross only when the
    # mid has moved since the other side was placed.
    offset = np.minimum(rng.geometric(0.4, size=n), 5)
    qty = rng.integers(1, 10, size=n) * 100

    cmds["ts"] = np.arange(n, dtype=np.int64) * 1_000
    cmds["type"] = np.where(
        submit,
        CommandType.SUBMIT_ORDER,
        np.where(kind == 2, CommandType.CANCEL_ORDER, CommandType.REPLACE_ORDER),
    )
    cmds["order_id"] = np.where(submit, n_submit, 0)
    cmds["price"] = mid + sign * offset
    cmds["qty"] = qty
    cmds["account"] = rng.integers(1, 64, size=n)
    cmds["symbol_id"] = symbol
    cmds["side"] = side

    aggressive = kind == 1
    is_market = aggressive & (rng.random(n) < 0.5)
    cmds["order_type"] = np.where(is_market, OrderType.MARKET, OrderType.LIMIT)
    cmds["tif"] = np.where(aggressive, TimeInForce.IOC, TimeInForce.DAY)
    cmds["price"] = np.where(aggressive, mid - sign * 4, cmds["price"])
    # Takers are ~5x the passive size and every resting price is within their reach, so fills
    # and cancels together remove about as many orders as the 60% of limits add: the book
    # reaches a steady size instead of growing forever.
    cmds["qty"] = np.where(aggressive, qty * 5, cmds["qty"])
    cmds["price"] = np.where(is_market, 0, cmds["price"])

    # Cancels and replaces target a recent submit; its symbol and side come with it.
    amend = ~submit
    back = rng.geometric(1 / 100, size=n)
    target = np.clip(n_before - back + 1, 1, None)  # 1-based id
    ok = amend & (n_before > 0)
    submit_pos = np.flatnonzero(submit)  # id k was submitted at submit_pos[k - 1]
    pos = submit_pos[np.clip(target - 1, 0, max(len(submit_pos) - 1, 0))] if len(submit_pos) else 0
    cmds["order_id"] = np.where(ok, target, cmds["order_id"])
    cmds["symbol_id"] = np.where(ok, cmds["symbol_id"][pos], cmds["symbol_id"])
    cmds["side"] = np.where(ok, cmds["side"][pos], cmds["side"])
    # Only the account that submitted an order may cancel or replace it.
    cmds["account"] = np.where(ok, cmds["account"][pos], cmds["account"])
    # Half of the replaces shrink at the original price (keeps priority), half move the price.
    rep = ok & (kind == 3)
    keep = rep & (rng.random(n) < 0.5)
    tsign = np.where(cmds["side"] == 0, -1, 1)
    orig_price = cmds["price"][pos]
    cmds["price"] = np.where(keep, orig_price, np.where(rep, mid + tsign * offset, cmds["price"]))
    cmds["price"] = np.where(rep & (cmds["price"] <= 0), mid, cmds["price"])
    cmds["qty"] = np.where(keep, np.maximum(cmds["qty"][pos] // 2, 1), cmds["qty"])
    return cmds


def run(args: argparse.Namespace) -> int:
    cmds = generate(args.orders, args.seed)
    runs: list[dict[str, Any]] = [
        bench_match(cmds, N_SYMBOLS, args.expected_orders) for _ in range(args.repeat)
    ]

    def med(get: Any) -> float:
        return float(statistics.median(get(r) for r in runs))

    out = {
        "bench": "match",
        "orders": int(args.orders),
        "orders_per_s": round(med(lambda r: r["orders_per_s"])),
        "orders_per_s_best": round(max(r["orders_per_s_best"] for r in runs)),
        "latency_ns": {
            k: round(med(lambda r, k=k: r["latency_ns"][k]), 1) for k in ("p50", "p99", "p99_9")
        },
        "timer_overhead_ns": round(med(lambda r: r["timer_overhead_ns"]), 1),
        "reports": int(runs[0]["reports"]),
        "runs": len(runs),
        "seed": int(args.seed),
    }
    print(json.dumps(out))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("match", help="matching engine orders/s and per-order latency")
    p.add_argument("--orders", type=int, default=5_000_000, help="commands in the stream")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated stream")
    p.add_argument("--repeat", type=int, default=1, help="runs; figures are their medians")
    p.add_argument(
        "--expected-orders",
        type=int,
        default=1 << 12,
        help="initial pool size per symbol; pools grow on demand, and an oversized id table "
        "spreads lookups over more cache than the live orders need",
    )
    p.set_defaults(handler=run)
