"""Write the raw record files that profile_driver replays under callgrind.

book: real LOBSTER events of every message file in the shared data dir, each preceded by a
Clear of its symbol (as `minihft bench book` builds its stream), cut to --book-events.
match: the seeded command stream of `minihft bench match`, --match-orders long.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from minihft.benchmarks import book
from minihft.benchmarks.match import generate
from minihft.paths import shared_data_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--data", type=Path, default=None, help="LOBSTER dir (default: shared data)")
    p.add_argument("--book-events", type=int, default=300_000)
    p.add_argument("--match-orders", type=int, default=300_000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    data = a.data or shared_data_dir() / "lobster"
    files = sorted(data.glob("*_message_*.csv*"))
    if not files:
        raise SystemExit(f"no LOBSTER message files in {data}")
    a.out.mkdir(parents=True, exist_ok=True)
    stream = book.build_stream(files)[: a.book_events]
    stream.tofile(a.out / "book_events.bin")
    cmds = generate(a.match_orders, a.seed)
    cmds.tofile(a.out / "match_commands.bin")
    meta = {
        "book_events": len(stream),
        "book_files": [f.name for f in files],
        "match_orders": len(cmds),
        "match_seed": a.seed,
    }
    (a.out / "inputs.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
