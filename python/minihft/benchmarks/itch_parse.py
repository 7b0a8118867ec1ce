"""`minihft bench itch-parse [FILE]`: ITCH 5.0 parse-only throughput of the native decoder.

The whole file is loaded into memory (gunzipped if .gz) and decoded in C++ (timed there, in
256 KiB slices whose output is dropped, as a streaming consumer takes batches). Without FILE, the
real LOBSTER order flow of GOOG (level 10) and AMZN (level 5) is written as ITCH into build/bench/,
repeated with distinct stock locates and order references until it holds >= --min-messages.
The repetitions follow each other, so timestamps restart at every repetition; that does not
matter to a parser. Prints one JSON line; figures are the median of --runs runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
from pathlib import Path

import numpy as np

from minihft import _feed
from minihft.marketdata import itch
from minihft.marketdata.itch_records import SYSTEM_EVENT
from minihft.paths import lobster_dir

LOBSTER_DIR = lobster_dir()
SOURCES = (
    ("GOOG", "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"),
    ("AMZN", "AMZN_2012-06-21_34200000_57600000_message_5.csv.gz"),
)
OUT_DIR = Path("build/bench")


def synthesize(min_messages: int, lobster_dir: Path = LOBSTER_DIR, out_dir: Path = OUT_DIR) -> Path:
    """Writes (or reuses) the repeated LOBSTER-as-ITCH file and returns its path."""
    from minihft.marketdata.lobster import read_messages

    flows = [(name, read_messages(lobster_dir / f).events) for name, f in SOURCES]
    per_rep = sum(len(ev) for _, ev in flows)
    reps = -(-min_messages // per_rep)
    path = out_dir / f"lobster_goog_amzn_x{reps}.itch"
    if path.exists():
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    symbols = {
        1 + 2 * r + k: f"{name[:4]}{r:04d}"
        for r in range(reps)
        for k, (name, _) in enumerate(flows)
    }
    sd = itch.stock_directory(symbols)
    start = np.zeros(1, dtype=SYSTEM_EVENT)
    start["event_code"] = b"O"
    match = 0
    with open(tmp, "wb") as f:
        f.write(_feed.encode_reference("system_events", start.view(np.uint8)))
        f.write(_feed.encode_reference("stock_directory", sd.view(np.uint8)))
        for r in range(reps):
            for k, (_, ev) in enumerate(flows):
                e = ev.copy()
                e["symbol_id"] = 1 + 2 * r + k
                live = e["order_id"] != 0
                e["order_id"][live] += np.uint64((2 * r + k) << 32)  # day-unique references
                blob, match = itch.encode_events(e, symbols, match)
                f.write(blob)
    tmp.rename(path)
    return path


def run(file: str | None, runs: int, min_messages: int) -> dict[str, object]:
    path = synthesize(min_messages) if file is None else Path(file)
    # The default file repeats real flow under made-up symbols; generated days say so by name.
    synthetic = file is None or "synthetic" in path.name.lower()
    raw = path.read_bytes()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    res = _feed.bench_parse(np.frombuffer(data, dtype=np.uint8), runs)
    secs = statistics.median(res["seconds"])
    return {
        "bench": "itch-parse",
        "messages": res["messages"],
        "messages_per_s": round(res["messages"] / secs),
        "bytes_per_s": round(res["bytes"] / secs),
        "file": str(path),
        "synthetic": synthetic,
        "runs": runs,
        "seconds": [round(s, 4) for s in res["seconds"]],
    }


def _main(args: argparse.Namespace) -> int:
    print(json.dumps(run(args.file, args.runs, args.min_messages)))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("itch-parse", help="ITCH 5.0 parse-only throughput (native decoder)")
    p.add_argument("file", nargs="?", default=None, help="ITCH 5.0 file (.gz ok); default: synth")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--min-messages", type=int, default=10_000_000)
    p.set_defaults(handler=_main)
