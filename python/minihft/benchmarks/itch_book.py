"""`minihft bench itch-book [FILE ...]`: parse + build every symbol's L3 book, ours vs itch-book.

Ours: the native ITCH decoder and the C++ BookBuilder in one native pass (`_feed.bench_book`,
64 KiB slices): `itch::decode_apply` applies each book event to the BookBuilder as its frame is
decoded, through the same BookBuilder checks and stats but with the event type known at compile
time, so no event is written to and re-read from a vector and none is dispatched on twice
(profiling/reports/2026-11-25 has the measurements).
Theirs: itch-book's own book-building pass, the one behind `itch-book verify` (a `Session` with
no output tables, fed 8 MiB chunks as its reader thread would). Both run on the same bytes already
in memory, alternately, --runs times; figures are medians. Afterwards, untimed, itch-book replays
the file once more with its bbo table and the final top of book of every stock locate is compared
with ours (bid/ask price and size); the JSON carries the mismatch count.

`ours_grouped_*` is a second, replay-throughput figure of ours: each 16 MiB slice's events are
applied grouped by symbol (a counting sort; every symbol keeps its own event order, so every final
book is identical, checked against itch-book too) instead of in arrival order. With thousands of
books the arrival-order pass is bound by cache misses across books; grouping shows how much.
The headline `ratio` is arrival order, as itch-book does it.

Default files: the real LOBSTER flow (GOOG level 10 + AMZN level 5) written as ITCH, and a
SYNTHETIC day (--synthetic-messages, default 20M over --synthetic-symbols 3,000: the issue's
benchmark day; ~30 s to generate once) made under build/bench/ if missing, the same file as
  minihft gen-itch --messages 20000000 --symbols 3000 --seed 1
`--synthetic-messages 2000000 --synthetic-symbols 500`: the small day (tiny, cache-resident books).
Prints one JSON line per file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minihft import _feed
from minihft.benchmarks import itch_parse
from minihft.records import ErrorCode

OUT_DIR = Path("build/bench")
CHUNK = 8 << 20  # itch-book's default reader chunk
SMALLEST_FRAME = 21  # itch-book reserves rows for this many frames per chunk
SLICE = 64 << 10
GROUP_SLICE = 16 << 20


def _load(path: Path) -> NDArray[np.uint8]:
    raw = path.read_bytes()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return np.frombuffer(data, dtype=np.uint8)


def _itch_book_pass(data: NDArray[np.uint8]) -> tuple[float, dict[str, Any]]:
    from itch_book._core import Session

    t0 = time.perf_counter()
    s = Session(tables=[], depth=0, symbols=[])
    s.reserve(CHUNK // SMALLEST_FRAME)
    for i in range(0, len(data), CHUNK):
        s.feed(data[i : i + CHUNK])
    secs = time.perf_counter() - t0
    return secs, dict(s.stats())


def itch_book_top(data: NDArray[np.uint8]) -> dict[int, tuple[int, int, int, int]]:
    """itch-book's final (bid_px, bid_sz, ask_px, ask_sz) per locate, from its bbo table."""
    from itch_book._core import Session

    s = Session(tables=["bbo"], depth=0, symbols=[])
    s.reserve(CHUNK)
    last: dict[int, tuple[int, int, int, int]] = {}
    for i in range(0, len(data), CHUNK):
        s.feed(data[i : i + CHUNK])
        b = s.take_bbo()
        loc = b["locate"]
        if not len(loc):
            continue
        rev = loc[::-1]
        _, first = np.unique(rev, return_index=True)
        idx = len(loc) - 1 - first  # last row of each locate in this batch
        for j in idx:
            last[int(loc[j])] = (
                int(b["bid_px"][j]),
                int(b["bid_sz"][j]),
                int(b["ask_px"][j]),
                int(b["ask_sz"][j]),
            )
    return last


def top_mismatches(ours: NDArray[np.int64], theirs: dict[int, tuple[int, int, int, int]]) -> int:
    n = max(len(ours), max(theirs, default=-1) + 1)
    a = np.zeros((n, 4), dtype=np.int64)
    a[: len(ours)] = ours
    b = np.zeros((n, 4), dtype=np.int64)
    for loc, row in theirs.items():
        b[loc] = row
    return int(np.sum(np.any(a != b, axis=1)))


def run_file(path: Path, runs: int, synthetic: bool, expected_orders: int) -> dict[str, Any]:
    data = _load(path)
    ours_s: list[float] = []
    grouped_s: list[float] = []
    theirs_s: list[float] = []
    res: dict[str, Any] = {}
    grp: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    for _ in range(runs):
        res = _feed.bench_book(data, 1, SLICE, expected_orders)
        ours_s += res["seconds"]
        grp = _feed.bench_book(data, 1, GROUP_SLICE, expected_orders, group=True)
        grouped_s += grp["seconds"]
        secs, stats = _itch_book_pass(data)
        theirs_s.append(secs)
    top = np.frombuffer(res["top"], dtype=np.int64).reshape(-1, 4)
    top_grouped = np.frombuffer(grp["top"], dtype=np.int64).reshape(-1, 4)
    theirs_top = itch_book_top(data)
    mismatches = top_mismatches(top, theirs_top)
    by_status = res["by_status"]
    ours_med, theirs_med = statistics.median(ours_s), statistics.median(theirs_s)
    grouped_rate = int(res["messages"]) / statistics.median(grouped_s)
    msgs = int(res["messages"])
    ours_rate, theirs_rate = msgs / ours_med, int(stats["messages"]) / theirs_med
    return {
        "bench": "itch-book",
        "file": str(path),
        "synthetic": synthetic,
        "messages": msgs,
        "ours_messages_per_s": round(ours_rate),
        "itch_book_messages_per_s": round(theirs_rate),
        "ratio": round(ours_rate / theirs_rate, 3),
        "ours_grouped_messages_per_s": round(grouped_rate),
        "ratio_grouped": round(grouped_rate / theirs_rate, 3),
        "runs": runs,
        "ours_seconds": [round(s, 4) for s in ours_s],
        "ours_grouped_seconds": [round(s, 4) for s in grouped_s],
        "itch_book_seconds": [round(s, 4) for s in theirs_s],
        "ours_unknown_order": int(by_status[int(ErrorCode.UNKNOWN_ORDER)]),
        "ours_errors": int(sum(by_status) - by_status[int(ErrorCode.OK)]),
        "itch_book_missing_ref": int(stats["missing_ref"]),
        "ours_crossed_books": int(res["crossed_books"]),
        "itch_book_crossed_books": int(stats["crossed_books"]),
        "ours_live_orders": int(res["live_orders"]),
        "itch_book_live_orders": int(stats["live_orders"]),
        "top_of_book_symbols": int(np.sum(np.any(top != 0, axis=1))),
        "top_of_book_mismatches": mismatches,
        "top_of_book_mismatches_grouped": top_mismatches(top_grouped, theirs_top),
    }


def default_files(synthetic_messages: int, synthetic_symbols: int, seed: int) -> list[Path]:
    from minihft.marketdata import synthetic

    lobster = itch_parse.synthesize(1, out_dir=OUT_DIR)
    day = synthetic.default_path(synthetic_messages, synthetic_symbols, seed, OUT_DIR)
    if not day.exists() or not synthetic.meta_path(day).exists():
        synthetic.generate(day, synthetic_messages, synthetic_symbols, seed)
    return [lobster, day]


def _is_synthetic(path: Path) -> bool:
    # The LOBSTER-as-ITCH file is real order flow re-encoded; generated days say so in their name.
    return "synthetic" in path.name.lower()


def _main(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files] or default_files(
        args.synthetic_messages, args.synthetic_symbols, args.seed
    )
    for f in files:
        print(json.dumps(run_file(f, args.runs, _is_synthetic(f), args.expected_orders)))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("itch-book", help="ITCH parse + L3 book building, ours vs itch-book")
    p.add_argument("files", nargs="*", help="ITCH 5.0 files (.gz ok); default: LOBSTER + synthetic")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--synthetic-messages", type=int, default=20_000_000)
    p.add_argument("--synthetic-symbols", type=int, default=3_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--expected-orders", type=int, default=256, help="BookBuilder pool per symbol")
    p.set_defaults(handler=_main)
