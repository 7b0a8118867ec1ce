"""`minihft bench NAME`: benchmarks, each printing one JSON line with its figures."""

from __future__ import annotations

import argparse

from minihft.benchmarks import (
    backtest,
    backtest_python,
    book,
    itch_book,
    itch_parse,
    kafka_hop,
    match,
    pipeline,
    tick_to_order,
    udp,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print one JSON line")
    benches = p.add_subparsers(dest="bench", required=True, metavar="NAME")
    for module in (
        book,
        match,
        itch_parse,
        udp,
        itch_book,
        pipeline,
        tick_to_order,
        kafka_hop,
        backtest,
        backtest_python,
    ):
        module.register(benches)
