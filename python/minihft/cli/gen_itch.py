"""`minihft gen-itch`: write a SYNTHETIC ITCH 5.0 day fitted to the LOBSTER samples.

See minihft.marketdata.synthetic for the model. The output name must contain "synthetic"; a
`FILE.meta.json` sidecar with `"synthetic": true`, the seed and the fitted statistics is written
next to it. Streams to disk: memory does not grow with --messages.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from minihft.marketdata import synthetic


def _main(args: argparse.Namespace) -> int:
    out = (
        Path(args.out)
        if args.out
        else synthetic.default_path(args.messages, args.symbols, args.seed, Path("build/bench"))
    )
    t0 = time.perf_counter()
    try:
        meta = synthetic.generate(out, args.messages, args.symbols, args.seed)
    except ValueError as e:
        print(f"gen-itch: {e}", file=sys.stderr)
        return 2
    secs = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "out": str(out),
                "synthetic": True,
                "messages": meta["messages"],
                "symbols": meta["symbols"],
                "seed": meta["seed"],
                "bytes": meta["bytes"],
                "last_ts_ns": meta["last_ts_ns"],
                "seconds": round(secs, 2),
            }
        )
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gen-itch", help="write a synthetic ITCH 5.0 day fitted to LOBSTER samples")
    p.add_argument("--messages", type=int, default=20_000_000, help="frames in the file")
    p.add_argument("--symbols", type=int, default=3000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, help="output path (name must contain 'synthetic')")
    p.set_defaults(handler=_main)
