"""The `minihft` command line: one entry, a subcommand per job.

Subcommands register themselves from small modules so this file stays a dispatcher.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from minihft.cli import backtest, bench, demo, gen_itch, ingest, replay, run, verify

_REGISTRARS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    verify.register,
    bench.register,
    demo.register,
    backtest.register,
    run.register,
    replay.register,
    gen_itch.register,
    ingest.register,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minihft",
        description="minihft: L3 order books, matching, execution algorithms and backtests.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
