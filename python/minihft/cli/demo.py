"""`minihft demo`: a sweep of the execution algorithms on the bundled real sample, in-process.

GOOG 2012-06-21 09:30-10:00 (LOBSTER level 10, data/sample): 5-minute parent orders every
2.5 minutes from 09:33 (VWAP needs one window of prints before start), both sides, 500 and 2000
shares, every algorithm; markouts up to 60 s need the last window to end by 09:58:30.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minihft.records import Side
from minihft.strategy.algos import ALGOS

SAMPLE = "data/sample/GOOG_2012-06-21_34200000_36000000_message_10.csv.gz"
DEMO_FIRST = "09:33"
DEMO_LAST_END = "09:58:30"
DEMO_WINDOW_MIN = 5.0
DEMO_STEP_MIN = 2.5
DEMO_SIZES = (500, 2000)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="sweep the execution algorithms on the bundled real sample")
    p.add_argument("--data", default=None, help=f"sample message file (default {SAMPLE})")
    p.add_argument("--out", default="var/demo", help="output directory (default var/demo)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--report-parents", type=int, default=4, help="parents plotted in the report")
    p.set_defaults(handler=run)


def find_sample(given: str | None) -> Path:
    if given:
        return Path(given)
    for base in (Path.cwd(), *Path(__file__).resolve().parents):
        p = base / SAMPLE
        if p.is_file():
            return p
    raise FileNotFoundError(f"bundled sample {SAMPLE} not found from {Path.cwd()}")


def demo_spans() -> list[tuple[int, int]]:
    from minihft.backtest import sweep

    ns_min = 60 * 1_000_000_000
    return sweep.windows(
        sweep.parse_clock(DEMO_FIRST),
        sweep.parse_clock(DEMO_LAST_END),
        int(DEMO_WINDOW_MIN * ns_min),
        int(DEMO_STEP_MIN * ns_min),
    )


def run(args: argparse.Namespace) -> int:
    from minihft.cli.backtest import sweep_main

    try:
        sample = find_sample(args.data)
    except FileNotFoundError as e:
        print(f"minihft demo: {e}")
        return 2
    return sweep_main(
        {"GOOG": str(sample)}, demo_spans(), [Side.BUY, Side.SELL], list(DEMO_SIZES),
        list(ALGOS), args.out, workers=args.workers, report_parents=args.report_parents,
    )  # fmt: skip
