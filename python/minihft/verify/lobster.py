"""`minihft verify lobster`: replay a LOBSTER message file and compare with its orderbook file.

Row i of the orderbook file is the book after message i. The book is seeded from row 1 with
message 1 undone; the whole depth array is compared at once in numpy. See docs/lobster-check.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minihft.book import lobster_replay
from minihft.marketdata.lobster import (
    LobsterFormatError,
    LobsterMessages,
    LobsterOrderbook,
    read_messages,
    read_orderbook,
)
from minihft.records import Side


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lobster", help="replay a LOBSTER message file against its orderbook file")
    p.add_argument("message_csv", type=Path)
    p.add_argument("orderbook_csv", type=Path)
    p.add_argument(
        "--reconcile",
        action="store_true",
        help="write in depth the file reveals from beyond its level window",
    )
    p.add_argument("--min-level1", type=float, default=0.9999)
    p.add_argument("--min-top", type=float, default=0.999, help="levels 1..L-1 all equal")
    p.add_argument("--min-all", type=float, default=0.0)
    p.set_defaults(handler=run)


def compare(
    messages: LobsterMessages, book: LobsterOrderbook, *, reconcile: bool
) -> dict[str, Any]:
    if len(messages.events) != len(book.depth):
        raise ValueError(
            f"{messages.path} has {len(messages.events)} rows but {book.path} has "
            f"{len(book.depth)}: row i of the orderbook must be the book after message i"
        )
    theirs = book.depth_zero_empty()
    _, ours, step_eq, stats = lobster_replay(messages.events, theirs, reconcile)
    out = summarize(messages, ours, theirs, stats, reconcile=reconcile)
    if reconcile:
        # Each row starts from the exact previous book here, so this scores single events.
        step = step_eq.astype(bool)
        levels = step.shape[1]
        out["event_step_match"] = {
            "level1": float(step[:, 0].mean()),
            "top_levels": float(step[:, : max(levels - 1, 1)].all(axis=1).mean()),
            "all_levels": float(step.all(axis=1).mean()),
        }
        out["first_reconciled_row"] = (
            int(messages.rows[stats["first_reconciled_row"]]) if stats["reconciled_rows"] else None
        )
    return out


def summarize(
    messages: LobsterMessages,
    ours: NDArray[np.int64],
    theirs: NDArray[np.int64],
    stats: dict[str, int],
    *,
    reconcile: bool,
) -> dict[str, Any]:
    n, levels = int(theirs.shape[0]), int(theirs.shape[1])
    eq = (ours == theirs).all(axis=2)  # (n, L)
    top = eq[:, : max(levels - 1, 1)].all(axis=1)
    all_eq = eq.all(axis=1)
    out: dict[str, Any] = {
        "rows": n,
        "levels": levels,
        "level1_match_rate": float(eq[:, 0].mean()),
        "top_levels_match_rate": float(top.mean()),
        "all_levels_match_rate": float(all_eq.mean()),
        "per_level_match_rate": [round(float(x), 6) for x in eq.mean(axis=0)],
        "unknown_order_events": stats["unknown_order_events"],
        "unmatched_unknown_events": stats["unmatched_unknown_events"],
    }
    if reconcile:
        out["reconciled_rows"] = stats["reconciled_rows"]
    bad = np.flatnonzero(~all_eq)
    out["mismatched_rows"] = int(bad.size)
    out["first_mismatch"] = None
    if bad.size:
        i = int(bad[0])
        ev = messages.events[i]
        out["first_mismatch"] = {
            "row": int(messages.rows[i]),
            "message": {
                "time_ns": int(ev["ts_event"]),
                "type": int(messages.lobster_type[i]),
                "order_id": int(ev["order_id"]),
                "size": int(ev["qty"]),
                "price": int(ev["price"]),
                "direction": 1 if int(ev["side"]) == Side.BUY else -1,
            },
            "first_level": int(np.flatnonzero(~eq[i])[0]) + 1,
            "ours": ours[i].tolist(),
            "theirs": theirs[i].tolist(),
        }
    return out


def run(args: argparse.Namespace) -> int:
    try:
        msgs = read_messages(args.message_csv)
        book = read_orderbook(args.orderbook_csv)
        result = compare(msgs, book, reconcile=args.reconcile)
    except (LobsterFormatError, ValueError) as e:
        print(json.dumps({"error": str(e)}))
        return 2
    failed = []
    if result["level1_match_rate"] < args.min_level1:
        failed.append("level1")
    if result["top_levels_match_rate"] < args.min_top:
        failed.append("top")
    if result["all_levels_match_rate"] < args.min_all:
        failed.append("all")
    result["failed"] = failed
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 1 if failed else 0
