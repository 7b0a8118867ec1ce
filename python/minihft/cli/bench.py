"""`minihft bench ...`: benchmarks, one JSON line each."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="run a benchmark and print one JSON line")
    p.set_defaults(handler=lambda a: p.print_help() or 2)
