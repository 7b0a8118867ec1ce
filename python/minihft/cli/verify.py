"""`minihft verify ...`: ground-truth checks of the book builder against venue files."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify", help="check the book builder against ground truth")
    p.set_defaults(handler=lambda a: p.print_help() or 2)
