"""`minihft verify SOURCE ...`: ground-truth checks of the book builder against venue files."""

from __future__ import annotations

import argparse

from minihft.verify import lobster


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify", help="check the book builder against ground truth")
    sources = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    lobster.register(sources)
