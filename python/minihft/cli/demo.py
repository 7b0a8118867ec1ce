"""`minihft demo`: the main job on the embedded default."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run the demo on the bundled real sample")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("minihft demo: the TWAP/VWAP sweep is coming with the backtester (issue 5).")
    return 0
