"""Placeholder until implemented."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("match", help="(not implemented yet)")
    p.set_defaults(handler=lambda a: 2)
