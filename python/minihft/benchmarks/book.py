"""`minihft bench book`: real LOBSTER events through the C++ BookBuilder, per-update latency.

Every message file in the shared LOBSTER directory becomes one symbol; the concatenated stream
(each file preceded by a Clear of its symbol, so every pass rebuilds from empty) is replayed in
C++ until at least --min-events updates. Each apply is timed with the TSC (cycle_clock.hpp); a
second, untimed pass gives throughput without the timer reads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from minihft import _lob
from minihft.marketdata.lobster import read_messages
from minihft.paths import shared_data_dir
from minihft.records import MD_EVENT, MdEventType


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("book", help="BookBuilder latency and throughput on real LOBSTER events")
    p.add_argument("--data", type=Path, default=None, help="LOBSTER dir (default: shared data)")
    p.add_argument("--min-events", type=int, default=10_000_000)
    p.set_defaults(handler=run)


def build_stream(files: list[Path]) -> np.ndarray[Any, np.dtype[np.void]]:
    parts = []
    for sym, f in enumerate(files):
        clear = np.zeros(1, dtype=MD_EVENT)
        clear["type"] = int(MdEventType.CLEAR)
        clear["symbol_id"] = sym
        parts += [clear, read_messages(f, symbol_id=sym).events]
    return np.concatenate(parts)


def measure(stream: np.ndarray[Any, np.dtype[np.void]], repeats: int) -> dict[str, Any]:
    raw = stream.view(np.uint8).reshape(-1)
    ticks, info = _lob.bench_book_apply(raw, repeats, True)
    _, plain = _lob.bench_book_apply(raw, repeats, False)
    tpn = float(info["ticks_per_ns"])
    n = len(stream) * repeats
    lat = np.percentile(ticks, [50, 99, 99.9]) / tpn
    return {
        "bench": "book",
        "events": n,
        "events_per_s": round(n / (plain["elapsed_ticks"] / tpn) * 1e9),
        "events_per_s_timed": round(n / (info["elapsed_ticks"] / tpn) * 1e9),
        "latency_ns": {
            "p50": round(float(lat[0]), 1),
            "p99": round(float(lat[1]), 1),
            "p99_9": round(float(lat[2]), 1),
            "max": round(float(ticks.max()) / tpn, 1),
        },
        "timer_overhead_ns": round(info["overhead_ticks"] / tpn, 1),
        "latency_includes_timer_overhead": True,
    }


def run(args: argparse.Namespace) -> int:
    data = args.data or shared_data_dir() / "lobster"
    files = sorted(data.glob("*_message_*.csv*"))
    if not files:
        print(json.dumps({"bench": "book", "error": f"no LOBSTER message files in {data}"}))
        return 2
    stream = build_stream(files)
    repeats = max(1, -(-args.min_events // len(stream)))
    out = measure(stream, repeats)
    out["files"] = [f.name for f in files]
    out["passes"] = repeats
    print(json.dumps(out))
    return 0
