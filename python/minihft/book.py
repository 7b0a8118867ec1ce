"""Typed wrapper of the C++ BookBuilder: venue L3 events in, statuses and depth out, in batches.

Depth rows are `levels` x [ask_px, ask_qty, bid_px, bid_qty]; an empty level is price 0, qty 0.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from minihft import _lob
from minihft.records import MD_EVENT

DEPTH_COLUMNS = ("ask_px", "ask_qty", "bid_px", "bid_qty")


def _event_bytes(events: NDArray[Any]) -> NDArray[np.uint8]:
    if events.dtype != MD_EVENT:
        raise TypeError(f"events must have dtype MD_EVENT, got {events.dtype}")
    return np.ascontiguousarray(events).view(np.uint8).reshape(-1)


class BookBuilder:
    """Multi-symbol book builder; one OrderBook per symbol id, created on first sight."""

    def __init__(self, expected_orders_per_symbol: int = 1 << 14) -> None:
        self._impl: Any = _lob.BookBuilder(expected_orders_per_symbol)

    def apply(self, events: NDArray[Any]) -> NDArray[np.uint8]:
        """Applies a batch; returns one ErrorCode (uint8) per event."""
        return cast(NDArray[np.uint8], self._impl.apply(_event_bytes(events)))

    def apply_with_depth(
        self, events: NDArray[Any], levels: int
    ) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
        """Statuses and the top-`levels` depth of each event's symbol after each event."""
        status, depth = self._impl.apply_with_depth(_event_bytes(events), levels)
        return cast(NDArray[np.uint8], status), cast(NDArray[np.int64], depth)

    def depth(self, symbol_id: int, levels: int) -> NDArray[np.int64]:
        return cast(NDArray[np.int64], self._impl.depth(symbol_id, levels))

    def order_count(self, symbol_id: int) -> int:
        return int(self._impl.order_count(symbol_id))

    def stats(self) -> dict[str, Any]:
        """{"events": n, "by_status": {name: n}, "by_type": {name: n}} (non-zero entries only)."""
        return cast(dict[str, Any], self._impl.stats())

    def reset_stats(self) -> None:
        self._impl.reset_stats()


def lobster_replay(
    events: NDArray[Any], truth_depth: NDArray[np.int64], reconcile: bool
) -> tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.uint8], dict[str, int]]:
    """Seeded replay of one LOBSTER file against its orderbook depth (empty levels 0, 0).

    Returns statuses, our depth after each event, the (n, L) per-level match right after each
    event before any reconcile, and counters (see lobster_replay.hpp).
    """
    truth = np.ascontiguousarray(truth_depth, dtype=np.int64)
    status, depth, step_eq, stats = _lob.lobster_replay(_event_bytes(events), truth, reconcile)
    return (
        cast(NDArray[np.uint8], status),
        cast(NDArray[np.int64], depth),
        cast(NDArray[np.uint8], step_eq),
        cast(dict[str, int], stats),
    )
