"""One strategy interface for backtest and live.

Callbacks get whole batches (numpy views), never one Python object per update. Commands are
buffered in the context and leave as one OrderCommandBatch per symbol after each callback. Time
comes only from the injected clock, so the same strategy replays deterministically.
"""

from __future__ import annotations

import heapq
import logging
from abc import ABC
from typing import Any

import numpy as np
import numpy.typing as npt

from minihft.records import (
    ORDER_COMMAND,
    CommandType,
    OrderFlags,
    OrderType,
    Side,
    TimeInForce,
)
from minihft.runtime.clock import Clock

Records = npt.NDArray[Any]


class StrategyContext:
    """What a strategy may do: read the clock, submit, cancel, set timers."""

    def __init__(
        self, clock: Clock, log: logging.Logger, *, account: int, order_id_base: int = 0
    ) -> None:
        self.clock = clock
        self.log = log
        self.account = account
        self._next_id = order_id_base + 1
        self._commands: dict[int, list[tuple[Any, ...]]] = {}
        self._timers: list[tuple[int, int, int]] = []  # (at_ns, seq, token)
        self._timer_seq = 0

    def now_ns(self) -> int:
        return self.clock.now_ns()

    def submit(
        self,
        symbol_id: int,
        side: Side,
        price: int,
        qty: int,
        *,
        order_type: OrderType = OrderType.LIMIT,
        tif: TimeInForce = TimeInForce.DAY,
        post_only: bool = False,
    ) -> int:
        """Queues a new order; returns its order id (unique per runner instance)."""
        if qty <= 0:
            raise ValueError(f"qty must be > 0, got {qty}")
        order_id = self._next_id
        self._next_id += 1
        flags = int(OrderFlags.POST_ONLY) if post_only else 0
        self._add(
            symbol_id, CommandType.SUBMIT_ORDER, order_id, price, qty, side, order_type, tif, flags
        )
        return order_id

    def cancel(self, symbol_id: int, order_id: int) -> None:
        self._add(
            symbol_id, CommandType.CANCEL_ORDER, order_id, 0, 0, Side.BUY, OrderType.LIMIT,
            TimeInForce.DAY, 0,
        )  # fmt: skip

    def replace(self, symbol_id: int, order_id: int, price: int, qty: int, side: Side) -> None:
        self._add(
            symbol_id, CommandType.REPLACE_ORDER, order_id, price, qty, side, OrderType.LIMIT,
            TimeInForce.DAY, 0,
        )  # fmt: skip

    def set_timer(self, at_ns: int, token: int = 0) -> None:
        """on_timer(token) runs once the clock reaches at_ns."""
        self._timer_seq += 1
        heapq.heappush(self._timers, (at_ns, self._timer_seq, token))

    def _add(
        self,
        symbol_id: int,
        ctype: CommandType,
        order_id: int,
        price: int,
        qty: int,
        side: Side,
        order_type: OrderType,
        tif: TimeInForce,
        flags: int,
    ) -> None:
        row = (
            self.clock.now_ns(), order_id, price, qty, self.account, symbol_id, int(ctype),
            int(side), int(order_type), int(tif), flags, 0,
        )  # fmt: skip
        self._commands.setdefault(symbol_id, []).append(row)

    def take_commands(self) -> dict[int, Records]:
        """The commands queued since the last call, one ORDER_COMMAND array per symbol."""
        out = {s: np.array(rows, dtype=ORDER_COMMAND) for s, rows in self._commands.items()}
        self._commands.clear()
        return out

    def due_timers(self) -> list[int]:
        now = self.clock.now_ns()
        tokens = []
        while self._timers and self._timers[0][0] <= now:
            tokens.append(heapq.heappop(self._timers)[2])
        return tokens


class Strategy(ABC):  # noqa: B024 - every callback is optional
    """Override the callbacks you need. Arrays are read-only views valid during the call."""

    name = "strategy"

    def on_start(self, ctx: StrategyContext) -> None:
        return None

    def on_book(self, ctx: StrategyContext, symbol_id: int, updates: Records) -> None:
        """updates: codec.BOOK_UPDATE rows of one symbol, oldest first."""
        return None

    def on_fill(self, ctx: StrategyContext, symbol_id: int, reports: Records) -> None:
        """reports: EXEC_REPORT rows for this runner's account (acks, fills, cancels, rejects)."""
        return None

    def on_timer(self, ctx: StrategyContext, token: int) -> None:
        return None

    def on_stop(self, ctx: StrategyContext) -> None:
        return None
