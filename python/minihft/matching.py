"""Typed wrapper of the C++ matching engine (semantics: matching_engine.hpp).

Commands go in as one ORDER_COMMAND structured array and reports come back as one EXEC_REPORT
structured array; nothing crosses the boundary per order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from minihft import _lob
from minihft.records import DEPTH_LEVEL, EXEC_REPORT, ORDER_COMMAND, Side

Records = npt.NDArray[np.void]


def _command_bytes(commands: Records, what: str) -> npt.NDArray[np.uint8]:
    if not isinstance(commands, np.ndarray):
        raise TypeError(f"{what}: expected a numpy array of ORDER_COMMAND, got {type(commands)}")
    if commands.dtype != ORDER_COMMAND:
        raise TypeError(f"{what}: expected dtype ORDER_COMMAND, got {commands.dtype}")
    if commands.ndim != 1:
        raise ValueError(f"{what}: expected a 1-d array of commands, got shape {commands.shape}")
    return np.ascontiguousarray(commands).view(np.uint8)


def new_commands(n: int) -> Records:
    """Zeroed command array (type 0 is invalid, so every row must be filled in)."""
    return np.zeros(n, dtype=ORDER_COMMAND)


class MatchingEngine:
    """One order book per symbol id in [0, n_symbols)."""

    def __init__(self, n_symbols: int = 64, expected_orders: int = 1 << 14) -> None:
        self._engine: Any = _lob.MatchingEngine(n_symbols, expected_orders)

    @property
    def n_symbols(self) -> int:
        return int(self._engine.n_symbols)

    def process(self, commands: Records) -> Records:
        """Runs the commands in order and returns every report they caused, in order."""
        raw = self._engine.process(_command_bytes(commands, "MatchingEngine.process"))
        out: Records = np.asarray(raw).view(EXEC_REPORT)
        return out

    def depth(self, symbol_id: int, side: Side | int, n: int = 10) -> Records:
        """Up to n best levels of a side (price, qty, orders), best first."""
        if n < 0:
            raise ValueError(f"depth: n must be >= 0, got {n}")
        out: Records = np.asarray(self._engine.depth(symbol_id, int(side), n)).view(DEPTH_LEVEL)
        return out

    def queue(self, symbol_id: int, side: Side | int) -> npt.NDArray[np.int64]:
        """(order_id, price, qty) rows of one side in trading priority (walks the whole side)."""
        out: npt.NDArray[np.int64] = np.asarray(self._engine.queue(symbol_id, int(side)))
        return out

    def order_qty(self, symbol_id: int, order_id: int) -> int | None:
        """Open quantity of a live order, None when it is not in the book."""
        q = self._engine.order_qty(symbol_id, order_id)
        return None if q is None else int(q)

    def counters(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._engine.counters().items()}


def bench_match(
    commands: Records, n_symbols: int = 64, expected_orders: int = 1 << 14, passes: int = 3
) -> dict[str, Any]:
    """Throughput (median and best of `passes`) and per-command latency of the C++ engine, each
    run on a fresh engine."""
    raw = _command_bytes(commands, "bench_match")
    result: dict[str, Any] = _lob.bench_match(raw, n_symbols, expected_orders, passes)
    return result
