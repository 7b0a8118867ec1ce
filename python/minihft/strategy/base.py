"""One strategy interface for backtest and live.

Callbacks get whole batches (numpy views), never one Python object per update. Commands are
buffered in the context and leave as one OrderCommandBatch per symbol after each callback. Time
comes only from the injected clock, so the same strategy replays deterministically.
"""

from __future__ import annotations

import heapq
import logging
from abc import ABC
from dataclasses import dataclass
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
from minihft.strategy.risk import RiskChecker, RiskReject

Records = npt.NDArray[Any]
NO_TIMER = 2**63 - 1
# Enum members as ints once: the command rows are plain tuples in ORDER_COMMAND field order.
_SUBMIT, _CANCEL, _REPLACE = (
    int(CommandType.SUBMIT_ORDER),
    int(CommandType.CANCEL_ORDER),
    int(CommandType.REPLACE_ORDER),
)
_BUY, _LIMIT, _DAY = int(Side.BUY), int(OrderType.LIMIT), int(TimeInForce.DAY)
_POST_ONLY = int(OrderFlags.POST_ONLY)


@dataclass(frozen=True)
class Subscription:
    """What a strategy wants about one symbol: on_book only when the top `depth` levels
    (per side) change, on_trade for tape prints when `trades`."""

    depth: int = 1
    trades: bool = False


class StrategyContext:
    """What a strategy may do: read the clock, submit, cancel, set timers.

    With a `risk` checker every submit and replace passes its pre-trade checks first; a rejected
    submit returns 0 instead of an order id (a rejected replace returns False) and the reason
    is in `last_reject` and counted in `risk.rejects`. Nothing rejected is sent.
    """

    def __init__(
        self,
        clock: Clock,
        log: logging.Logger,
        *,
        account: int,
        order_id_base: int = 0,
        risk: RiskChecker | None = None,
    ) -> None:
        self.clock = clock
        self.log = log
        self.account = account
        self.risk = risk
        self.last_reject: RiskReject | None = None
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
        """Queues a new order; returns its order id (unique per runner instance), or 0 when
        the pre-trade risk checks reject it (reason in last_reject)."""
        if qty <= 0:
            raise ValueError(f"qty must be > 0, got {qty}")
        now = self.clock.now_ns()
        risk = self.risk
        if risk is not None:
            why = risk.check(now, symbol_id, side, price, qty, order_type)
            if why is not None:
                self.last_reject = why
                self.log.debug("risk reject", extra={"fields": {"reason": why.value}})
                return 0
        order_id = self._next_id
        self._next_id += 1
        if risk is not None:
            risk.record(order_id, symbol_id, side, qty)
        self._add(symbol_id, (
            now, order_id, price, qty, self.account, symbol_id, _SUBMIT, int(side),
            int(order_type), int(tif), _POST_ONLY if post_only else 0, 0,
        ))  # fmt: skip
        return order_id

    def cancel(self, symbol_id: int, order_id: int) -> None:
        now = self.clock.now_ns()
        if self.risk is not None:
            self.risk.note_cancel(now)
        self._add(
            symbol_id,
            (now, order_id, 0, 0, self.account, symbol_id, _CANCEL, _BUY, _LIMIT, _DAY, 0, 0),
        )

    def replace(self, symbol_id: int, order_id: int, price: int, qty: int, side: Side) -> bool:
        """Queues a replace; False (nothing sent) when the risk checks reject it."""
        now = self.clock.now_ns()
        if self.risk is not None:
            why = self.risk.check(
                now, symbol_id, side, price, qty, OrderType.LIMIT, replaces=order_id
            )
            if why is not None:
                self.last_reject = why
                return False
            self.risk.record(order_id, symbol_id, side, qty)
        self._add(symbol_id, (
            now, order_id, price, qty, self.account, symbol_id, _REPLACE, int(side), _LIMIT,
            _DAY, 0, 0,
        ))  # fmt: skip
        return True

    def set_timer(self, at_ns: int, token: int = 0) -> None:
        """on_timer(token) runs once the clock reaches at_ns."""
        self._timer_seq += 1
        heapq.heappush(self._timers, (at_ns, self._timer_seq, token))

    def _add(self, symbol_id: int, row: tuple[int, ...]) -> None:
        """Queues one command: a tuple in ORDER_COMMAND field order."""
        self._commands.setdefault(symbol_id, []).append(row)

    def take_command_rows(self) -> dict[int, list[tuple[int, ...]]]:
        """take_commands() before the arrays are built: per symbol, tuples in ORDER_COMMAND
        field order (for a venue that takes them as they are)."""
        if not self._commands:
            return {}
        out, self._commands = self._commands, {}
        return out

    def take_commands(self) -> dict[int, Records]:
        """The commands queued since the last call, one ORDER_COMMAND array per symbol."""
        if not self._commands:  # most wake-ups queue nothing
            return {}
        out = {s: np.array(rows, dtype=ORDER_COMMAND) for s, rows in self._commands.items()}
        self._commands.clear()
        return out

    def next_timer_ns(self) -> int:
        """When the earliest pending timer fires (NO_TIMER when none)."""
        return self._timers[0][0] if self._timers else NO_TIMER

    def due_timers(self) -> list[int]:
        now = self.clock.now_ns()
        tokens = []
        while self._timers and self._timers[0][0] <= now:
            tokens.append(heapq.heappop(self._timers)[2])
        return tokens


class Strategy(ABC):  # noqa: B024 - every callback is optional
    """Override the callbacks you need. Arrays are read-only views valid during the call."""

    name = "strategy"
    # symbol_id -> Subscription; the backtester wakes the strategy only for these.
    subscriptions: dict[int, Subscription] = {}  # noqa: RUF012 - replaced per instance

    def on_start(self, ctx: StrategyContext) -> None:
        return None

    def on_book(self, ctx: StrategyContext, symbol_id: int, updates: Records) -> None:
        """updates: codec.BOOK_UPDATE rows of one symbol, oldest first (codec.book_touch reads
        the top of the last one cheaply)."""
        return None

    def on_fill(self, ctx: StrategyContext, symbol_id: int, reports: Records) -> None:
        """reports: EXEC_REPORT rows for this runner's account (acks, fills, cancels, rejects)."""
        return None

    def on_trade(self, ctx: StrategyContext, symbol_id: int, trades: Records) -> None:
        """trades: backtest_core.TRADE_PRINT rows (market prints, oldest first)."""
        return None

    def on_signal(self, ctx: StrategyContext, symbol_id: int, signals: Records) -> None:
        """signals: codec.SIGNAL rows from the ML overlay (ml_scorer)."""
        return None

    def on_timer(self, ctx: StrategyContext, token: int) -> None:
        return None

    def on_stop(self, ctx: StrategyContext) -> None:
        return None
